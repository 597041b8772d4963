"""The Locust side of ``sso-harness load`` (docs/load.md): virtual employees and the IdP's
provisioning, as Locust users. The only module that imports Locust.

Run by ``sso-harness load`` (which sets up the SP and the IdP, then starts Locust with the run's
configuration in ``$SSO_HARNESS_LOAD_CONFIG``), or by ``locust -f`` this file on a worker
machine: a worker gets the configuration from its master when the run starts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
from typing import Any

import httpx
from locust import User, events, task
from locust.env import Environment

from harness.load.churn import Provisioner
from harness.load.config import CONFIG_VARIABLE, LoadConfig
from harness.load.employee import Employee

# Locust logs at INFO, where httpx logs every request: its own stats say it better.
logging.getLogger("httpx").setLevel(logging.WARNING)


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument(
        "--sso-config",
        env_var=CONFIG_VARIABLE,
        default="",
        help="the load run's configuration (JSON, set by `sso-harness load`)",
        include_in_web_ui=False,
    )


def _config(environment: Environment) -> LoadConfig:
    text = getattr(environment.parsed_options, "sso_config", "")
    if not text:
        raise RuntimeError(
            f"no load configuration: start with `sso-harness load` ({CONFIG_VARIABLE})"
        )
    return LoadConfig.from_json(text)


class _Reporter:
    """``harness.load.steps.Report`` as Locust request events."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment

    def __call__(
        self, *, method: str, name: str, milliseconds: float, length: int, error: str | None
    ) -> None:
        self.environment.events.request.fire(
            request_type=method,
            name=name,
            response_time=milliseconds,
            response_length=length,
            exception=StepFailed(error) if error else None,
            context={},
        )


class StepFailed(Exception):  # noqa: N818 - the outcome's name, as Locust shows it
    """A step's request failed: the reason is what Locust's error report shows."""


def _peer_failures() -> contextlib.AbstractContextManager[None]:
    """A request that could not be sent, or answered JSON that is not, was reported as its
    step's failure: the user carries on. Anything else is the harness's own error."""
    return contextlib.suppress(httpx.HTTPError, json.JSONDecodeError)


def _think(user: Any) -> float:
    mean: float = user.config.think_time
    return random.uniform(0.5 * mean, 1.5 * mean)


class VirtualEmployee(User):
    """Signs in (a fresh browser), then does the run's tasks by their weights (by default mostly
    opens the account, sometimes activates a device, now and then signs in again)."""

    weight = 1
    wait_time = _think

    def on_start(self) -> None:
        self.config = _config(self.environment)
        self.employee = Employee(self.config, _Reporter(self.environment), random.Random())
        tasks = {
            "account": self.employee.open_account,
            "activate": self.employee.activate_device,
            "sign-in": self.employee.sign_in,
        }
        chosen = [(tasks[name], weight) for name, weight in self.config.tasks.items() if weight]
        self._tasks = [task for task, _ in chosen]
        self._weights = [weight for _, weight in chosen]
        with _peer_failures():
            self.employee.sign_in()

    def on_stop(self) -> None:
        self.employee.close()

    @task
    def next_task(self) -> None:
        with _peer_failures():
            random.choices(self._tasks, self._weights)[0]()


class IdPProvisioning(User):
    """The IdP's provisioning: hires and leavers over SCIM in the run's dialect. As many as the
    run's ``--provisioners`` (a fixed count, taken from ``--users``)."""

    fixed_count = 1
    wait_time = _think

    def on_start(self) -> None:
        self.config = _config(self.environment)
        self.provisioner: Provisioner | None = None
        if self.config.scim_url is not None:
            name = f"{random.getrandbits(40):010x}"
            self.provisioner = Provisioner(
                self.config, _Reporter(self.environment), random.Random(), name
            )

    def on_stop(self) -> None:
        if self.provisioner is not None:
            self.provisioner.close()

    @task
    def churn(self) -> None:
        if self.provisioner is None:
            return
        if self.provisioner.hired % 2 == 0:
            self.provisioner.hire()
        else:
            self.provisioner.leave()


@events.init.add_listener
def _fixed_counts(environment: Environment, **_: Any) -> None:
    """The provisioners' count from the configuration, where this process has it (the master
    or a local run decides how many users of each class run)."""
    text = (
        getattr(environment.parsed_options, "sso_config", "") if environment.parsed_options else ""
    )
    if not text:
        return
    count = LoadConfig.from_json(text).provisioners
    IdPProvisioning.fixed_count = count
    if count == 0:  # a fixed count of 0 would mean "by weight": leave the class out instead
        environment.user_classes = [c for c in environment.user_classes if c is not IdPProvisioning]


@events.quitting.add_listener
def _exit_code(environment: Environment, **_: Any) -> None:
    """Fail the run (1) when more than ``max_error_rate`` percent of the requests failed (0: any
    failure), on the master or a local run, where the totals are; a task that raised is the
    harness's own error (2, which ``sso-harness load`` exits with as 3)."""
    text = (
        getattr(environment.parsed_options, "sso_config", "") if environment.parsed_options else ""
    )
    if not text or environment.runner is None:
        return
    from locust.runners import WorkerRunner

    if isinstance(environment.runner, WorkerRunner):
        return
    limit = LoadConfig.from_json(text).max_error_rate
    total = environment.stats.total
    rate = 100.0 * total.num_failures / total.num_requests if total.num_requests else 0.0
    failed = total.num_failures > 0 and rate > limit
    environment.process_exit_code = 2 if environment.runner.exceptions else int(failed)
