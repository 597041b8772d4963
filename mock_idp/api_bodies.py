"""The control API's request bodies: pydantic models that forbid unknown fields, so a typo
in a test script is a 422 naming the field instead of a silently ignored setting."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness.protocol.saml.encryption import BLOCK_ALGORITHMS, KEY_TRANSPORTS
from harness.protocol.saml.signing import SIGNATURE_METHODS

from .api_limits import user_name_problem
from .directory import User
from .refusals import APIError
from .service_providers import SPSettings


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class UserBody(_Strict):
    userName: str = Field(min_length=1)  # noqa: N815 - the JSON field names of the contract
    password: str = "password"  # noqa: S105
    email: str | None = None
    givenName: str | None = None  # noqa: N815
    familyName: str | None = None  # noqa: N815
    displayName: str | None = None  # noqa: N815
    groups: list[str] = []
    active: bool = True
    externalId: str | None = None  # noqa: N815
    attributes: dict[str, list[str]] = {}
    title: str | None = None
    department: str | None = None
    employeeNumber: str | None = None  # noqa: N815
    manager: str | None = None
    assigned: bool = True

    @field_validator("userName")
    @classmethod
    def _sane_user_name(cls, value: str) -> str:
        problem = user_name_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    def to_user(self) -> User:
        return User(
            user_name=self.userName,
            password=self.password,
            email=self.email,
            given_name=self.givenName,
            family_name=self.familyName,
            display_name=self.displayName,
            groups=list(self.groups),
            active=self.active,
            external_id=self.externalId,
            attributes={k: list(v) for k, v in self.attributes.items()},
            title=self.title,
            department=self.department,
            employee_number=self.employeeNumber,
            manager=self.manager,
            assigned=self.assigned,
        )


class UserPatch(_Strict):
    password: str | None = None
    email: str | None = None
    givenName: str | None = None  # noqa: N815
    familyName: str | None = None  # noqa: N815
    displayName: str | None = None  # noqa: N815
    groups: list[str] | None = None
    active: bool | None = None
    externalId: str | None = None  # noqa: N815
    attributes: dict[str, list[str]] | None = None
    title: str | None = None
    department: str | None = None
    employeeNumber: str | None = None  # noqa: N815
    manager: str | None = None
    assigned: bool | None = None

    def to_changes(self) -> dict[str, Any]:
        """The fields given, by their ``User`` attribute names; a 422 for a null where the
        field cannot be empty."""
        changes = self.model_dump(exclude_unset=True)
        for required in ("password", "groups", "active", "attributes", "assigned"):
            if required in changes and changes[required] is None:
                raise APIError("invalid", f"{required} cannot be null")
        return {_USER_FIELDS.get(key, key): value for key, value in changes.items()}


_USER_FIELDS = {
    "givenName": "given_name",
    "familyName": "family_name",
    "displayName": "display_name",
    "externalId": "external_id",
    "employeeNumber": "employee_number",
}


class GroupBody(_Strict):
    displayName: str = Field(min_length=1)  # noqa: N815
    externalId: str | None = None  # noqa: N815
    members: list[str] = []
    assigned: bool = True
    memberGroups: list[str] = []  # noqa: N815 - groups nested in this one


class GroupPatch(_Strict):
    displayName: str | None = Field(default=None, min_length=1)  # noqa: N815
    assigned: bool | None = None
    memberGroups: list[str] | None = None  # noqa: N815 - replaces the nested groups


class MembersBody(_Strict):
    members: list[str]


class SPSettingsBody(_Strict):
    name_id_format: str | None = None
    sign_assertion: bool | None = None
    sign_response: bool | None = None
    signature_algorithm: str | None = None
    encrypt: bool | None = None
    encryption_block: str | None = None
    encryption_transport: str | None = None
    allow_idp_initiated: bool = True
    attributes: dict[str, list[str]] = {}

    def to_settings(self) -> SPSettings:
        if self.signature_algorithm and self.signature_algorithm not in SIGNATURE_METHODS:
            raise APIError(
                "invalid", f"signature_algorithm must be one of {list(SIGNATURE_METHODS)}"
            )
        if self.encryption_block and self.encryption_block not in BLOCK_ALGORITHMS:
            raise APIError("invalid", f"encryption_block must be one of {list(BLOCK_ALGORITHMS)}")
        if self.encryption_transport and self.encryption_transport not in KEY_TRANSPORTS:
            raise APIError("invalid", f"encryption_transport must be one of {list(KEY_TRANSPORTS)}")
        return SPSettings(**self.model_dump())


class SPBody(_Strict):
    metadata: str = Field(min_length=1)
    settings: SPSettingsBody = SPSettingsBody()


class MutatorBody(_Strict):
    name: str
    params: dict[str, Any] = {}


class PlanBody(_Strict):
    mutators: list[MutatorBody | str] = Field(min_length=1)
    sticky: bool = False
    count: int = Field(default=1, ge=1)
    sp: str | None = None


class RuleMatchBody(_Strict):
    sp: str | None = None
    relay_state: str | None = None
    user: str | None = None


class RuleSetBody(_Strict):
    attributes: dict[str, list[str]] = {}
    name_id_format: str | None = None
    name_id: str | None = None
    sign_assertion: bool | None = None
    sign_response: bool | None = None
    signature_algorithm: str | None = None
    encrypt: bool | None = None
    mutators: list[MutatorBody | str] = []


class RuleBody(_Strict):
    match: RuleMatchBody = RuleMatchBody()
    set: RuleSetBody


class ClockBody(_Strict):
    offset_seconds: int | None = None
    frozen: bool | None = None
    frozen_at: dt.datetime | None = None
    reset: bool = False


class FlawsBody(_Strict):
    enabled: list[str]


class KeysBody(_Strict):
    action: str = Field(pattern="^(rollover|activate|retire)$")
    index: int | None = None


class SettingsBody(_Strict):
    preset: str | None = None
    want_authn_requests_signed: bool | None = None
