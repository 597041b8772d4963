"""What every Locust process of a load run needs to know, in one JSON value: the master gets it
from ``sso-harness load`` (an environment variable, so no secret shows in ``ps``) and Locust
forwards it to the workers when the run starts."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from harness.targets import Probes

CONFIG_VARIABLE = "SSO_HARNESS_LOAD_CONFIG"
# What a virtual employee does between its first sign-in and the end, by weight: mostly opening
# the account, sometimes activating a device, now and then signing in again (a fresh browser).
EMPLOYEE_TASKS = {"account": 6, "activate": 2, "sign-in": 1}


@dataclass(frozen=True)
class LoadConfig:
    sp_url: str
    idp_url: str
    sp_entity_id: str
    employees: tuple[str, ...]  # provisioned before the run; the virtual employees sign in as them
    password: str
    scim_url: str | None = None
    scim_token: str | None = None
    dialect: str = "rfc"
    probes: dict[str, str] = field(default_factory=dict)  # the target file's [probes]
    activations: bool = True
    idp_initiated: bool = True
    account_page: str | None = "/account"  # the SP's HTML account page, where it has one
    idp_initiated_share: float = 0.25  # of the sign-ins, how many start at the IdP
    think_time: float = 1.0  # seconds a virtual employee waits between tasks (0.5x to 1.5x)
    churn_prefix: str = "churn"  # user names the provisioners hire under (unique per run)
    max_error_rate: float = 0.0  # percent of failed requests above which the run fails
    provisioners: int = 1  # IdP provisioning users, among the run's users
    tasks: dict[str, int] = field(default_factory=lambda: dict(EMPLOYEE_TASKS))  # by weight

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> LoadConfig:
        data: dict[str, Any] = json.loads(text)
        data["employees"] = tuple(data["employees"])
        return cls(**data)

    def probe_settings(self) -> Probes:
        return Probes(**self.probes)  # type: ignore[arg-type]  # the text settings only
