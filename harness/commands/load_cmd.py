"""``sso-harness load``: load on Locust against the reference SP (started here, the SP and the
mock IdP each in a process of its own), a running ``sso-harness serve`` (``--sp``/``--idp``) or
a target file's SP (docs/load.md). Locust runs in a process of its own: it monkey-patches the
standard library with gevent, which the servers started here must never see.

Exit status: 0 when the failed requests stayed within ``--max-error-rate`` (default 0: none), 1
when they did not, 2 for a configuration that cannot work, 3 when Locust itself failed.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys

from harness.component_cli import ConfigError, refuse
from harness.exit_codes import ExitCode
from harness.load import LOCUSTFILE
from harness.load import environment as env
from harness.load.config import CONFIG_VARIABLE, EMPLOYEE_TASKS, LoadConfig
from harness.protocol.scim.dialects import DIALECTS
from harness.targets import TargetError, load_target


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_argument_group("what to load (default: the reference SP, started here)")
    where.add_argument("--target", metavar="FILE", help="a target file's SP (TOML)")
    where.add_argument("--sp", metavar="URL", help="a running reference SP (sso-harness serve)")
    where.add_argument("--idp", metavar="URL", help="the running mock IdP that the SP trusts")
    where.add_argument("--scim-token", metavar="TOKEN", help="the running SP's SCIM token")
    where.add_argument("--idp-api-token", metavar="TOKEN", help="the running IdP's API token")
    where.add_argument("--listen", default="127.0.0.1", help="address the started servers use")
    where.add_argument(
        "--public-host", help="the name workers on other machines reach them by (default --listen)"
    )
    where.add_argument("--sp-port", type=int, default=0, help="the started SP's port (any)")
    where.add_argument("--idp-port", type=int, default=0, help="the started IdP's port (any)")
    where.add_argument("--sp-flaw", action="append", default=[], metavar="NAME")
    where.add_argument("--idp-flaw", action="append", default=[], metavar="NAME")
    load = parser.add_argument_group("the load (Locust's options keep Locust's names)")
    load.add_argument("-u", "--users", type=int, default=10, help="virtual users (10)")
    load.add_argument("-r", "--spawn-rate", type=float, default=5, help="users started per s")
    load.add_argument("-t", "--run-time", default="20s", help="how long (20s, 5m, 1h30m)")
    load.add_argument("--headless", action="store_true", default=True, help="(the default)")
    load.add_argument("--web-ui", action="store_true", help="Locust's web UI instead (port 8089)")
    load.add_argument("--csv", metavar="PREFIX", help="Locust's CSV files of the stats")
    load.add_argument("--html", metavar="FILE", help="Locust's HTML report")
    load.add_argument("--employees", type=int, default=20, help="employees to sign in as (20)")
    load.add_argument("--provisioners", type=int, default=1, help="IdP provisioning users (1)")
    load.add_argument("--dialect", choices=list(DIALECTS), default="rfc", help="SCIM dialect")
    load.add_argument("--think-time", type=float, default=1.0, help="seconds between tasks (1)")
    load.add_argument(
        "--idp-initiated-share", type=float, default=0.25, help="share of IdP-initiated sign-ins"
    )
    load.add_argument(
        "--tasks",
        type=employee_tasks,
        default=dict(EMPLOYEE_TASKS),
        metavar="TASK=WEIGHT,...",
        help="what virtual employees do after signing in, by weight "
        f"({','.join(f'{k}={v}' for k, v in EMPLOYEE_TASKS.items())}); 0 leaves a task out, "
        "and sign-in=1 alone loads sign-ins only",
    )
    load.add_argument(
        "--max-error-rate",
        type=float,
        default=0.0,
        metavar="PERCENT",
        help="exit 1 when more than this percent of requests failed (default 0: any failure)",
    )
    spread = parser.add_argument_group("on several machines (Locust's distributed mode)")
    spread.add_argument("--master", action="store_true", help="set up the run, lead the workers")
    spread.add_argument("--expect-workers", type=int, help="start once this many workers joined")
    spread.add_argument("--worker", action="store_true", help="a worker: load as the master says")
    spread.add_argument("--master-host", default="127.0.0.1", help="the master's address")
    spread.add_argument("--master-port", type=int, help="the master's port (5557)")
    parser.add_argument(
        "locust_args", nargs=argparse.REMAINDER, help="after --: more options for Locust"
    )


def employee_tasks(text: str) -> dict[str, int]:
    """``account=6,activate=2,sign-in=1``: each task named at most once, weights from 0; a task
    not named is left out."""
    tasks: dict[str, int] = {}
    for item in text.split(","):
        name, _, weight = item.strip().partition("=")
        if name in tasks:
            raise argparse.ArgumentTypeError(f"the task {name!r} is named twice")
        if name not in EMPLOYEE_TASKS:
            known = ", ".join(EMPLOYEE_TASKS)
            raise argparse.ArgumentTypeError(f"no task {name!r} (the tasks: {known})")
        if not weight.strip().isdigit():
            raise argparse.ArgumentTypeError(f"{name}'s weight must be a whole number from 0")
        tasks[name] = int(weight)
    if not any(tasks.values()):
        raise argparse.ArgumentTypeError("at least one task needs a weight above 0")
    return dict.fromkeys(EMPLOYEE_TASKS, 0) | tasks


def locust_command(args: argparse.Namespace) -> list[str]:
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE)]
    if args.worker:
        command += ["--worker", "--master-host", args.master_host]
    else:
        command += ["-u", str(args.users), "-r", str(args.spawn_rate), "-t", args.run_time]
        command += [] if args.web_ui else ["--headless"]
        command += ["--csv", args.csv] if args.csv else []
        command += ["--html", args.html] if args.html else []
        if args.master:
            command += ["--master"]
            if args.expect_workers:
                command += ["--expect-workers", str(args.expect_workers)]
    if args.master_port:
        command += ["--master-port" if args.worker else "--master-bind-port", str(args.master_port)]
    extra = list(args.locust_args)
    return command + (extra[1:] if extra[:1] == ["--"] else extra)


def _environment(args: argparse.Namespace) -> tuple[env.Environment, dict[str, object]]:
    """The run's SP and IdP, and what the configuration says of the SP's features."""
    listen = env.Listen(args.listen, args.public_host, args.sp_port, args.idp_port)
    if args.target:
        target = load_target(args.target)
        if target.probes.custom:
            raise ConfigError("a probe module ([probes] module) is not used under load")
        probes = {k: v for k, v in vars(target.probes).items() if isinstance(v, str)}
        probes = {k: v for k, v in probes.items() if k != "module"}
        features = {
            "probes": probes,
            "activations": target.features.activations,
            "idp_initiated": target.features.idp_initiated,
            "account_page": None,
        }
        return env.for_target(target, listen, args.idp_flaw), features
    if args.sp or args.idp:
        if not (args.sp and args.idp and args.scim_token):
            raise ConfigError("--sp, --idp and --scim-token go together")
        sp, idp = args.sp.rstrip("/"), args.idp.rstrip("/")
        attached = env.Environment(sp, idp, f"{sp}/scim/v2", args.scim_token, args.idp_api_token)
        return attached, {}
    return env.start_reference(listen, args.dialect, args.sp_flaw, args.idp_flaw), {}


def _check(args: argparse.Namespace) -> None:
    if args.master and args.worker:
        raise ConfigError("--master or --worker, not both")
    if args.users < 1 or args.employees < 1 or args.provisioners < 0:
        raise ConfigError("--users and --employees are at least 1, --provisioners at least 0")
    if args.provisioners >= args.users:
        raise ConfigError("--users counts the provisioners too: give more users than that")


def run(args: argparse.Namespace) -> int:
    try:
        _check(args)
    except ConfigError as exc:
        return refuse("load", exc)
    if args.worker:  # the master sets the run up and sends the configuration at the start
        return _locust(args, {})
    try:
        environment, features = _environment(args)
    except (ConfigError, TargetError) as exc:
        return refuse("load", exc)
    try:
        tag = secrets.token_hex(4)
        password = secrets.token_urlsafe(12)
        domain = "example.com"
        employees = [f"load-{tag}-{n:05d}@{domain}" for n in range(args.employees)]
        env.provision_employees(environment, employees, password, args.dialect)
        config = LoadConfig(
            sp_url=environment.sp_url,
            idp_url=environment.idp_url,
            sp_entity_id=environment.sp_entity_id,
            employees=tuple(employees),
            password=password,
            scim_url=environment.scim_url,
            scim_token=environment.scim_token,
            dialect=args.dialect,
            idp_initiated_share=args.idp_initiated_share,
            think_time=args.think_time,
            churn_prefix=f"churn-{tag}",
            max_error_rate=args.max_error_rate,
            provisioners=args.provisioners if environment.scim_url else 0,
            tasks=args.tasks,
            **features,  # type: ignore[arg-type]
        )
        before = env.usage(environment)
        status = _locust(args, {CONFIG_VARIABLE: config.to_json()})
        after = env.usage(environment)
        print(usage_report(before, after), flush=True)
        return status
    except ConfigError as exc:
        return refuse("load", exc)
    finally:
        environment.close()


def _locust(args: argparse.Namespace, variables: dict[str, str]) -> int:
    try:
        # Our own interpreter and Locust's module, with the arguments parsed above.
        done = subprocess.run(  # noqa: S603
            locust_command(args), env={**os.environ, **variables}, check=False
        )
    except KeyboardInterrupt:
        return ExitCode.OK
    if done.returncode in (0, 1):
        return done.returncode
    print(f"sso-harness load: Locust exited with status {done.returncode}", file=sys.stderr)
    return ExitCode.HARNESS_ERROR


def usage_report(before: env.Usage, after: env.Usage) -> str:
    """The IdP's CPU per issued response (and the SP's CPU) over the run."""
    seconds = max(after.at - before.at, 1e-9)
    responses = after.idp_responses - before.idp_responses
    cpu = after.idp_cpu - before.idp_cpu
    per = f"{1000 * cpu / responses:.2f} ms of CPU per response" if responses else "no response"
    lines = [
        f"mock IdP: {responses} responses issued in {seconds:.1f} s ({responses / seconds:.1f}/s),"
        f" {cpu:.2f} s of CPU: {per}, {100 * cpu / seconds:.0f}% of one core"
    ]
    if before.sp_cpu is not None and after.sp_cpu is not None:
        sp_cpu = after.sp_cpu - before.sp_cpu
        lines.append(
            f"reference SP: {sp_cpu:.2f} s of CPU, {100 * sp_cpu / seconds:.0f}% of one core"
            + (f", {1000 * sp_cpu / responses:.2f} ms per IdP response" if responses else "")
        )
    return "\n".join(lines)
