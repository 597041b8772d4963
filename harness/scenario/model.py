"""The scenario language: typed models of what a QA engineer writes in ``scenarios/*/*.yaml``.

A scenario sets up a world (``given``: the organisation and the directory), then runs
``steps``: each step is a one-key mapping naming an action (a directory change, a provisioning
cycle, a sign-in, a device activation) or an ``expect`` of what the SP must now show. Every
model forbids unknown fields, so a typo is an error with the file, line and a hint, never a
silently ignored line.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.checks.scim_conformance import GROUPS as SCIM_GROUPS
from harness.checks.security_catalogue import CASES_BY_ID
from harness.protocol.saml.mutation import MutatorCall

Dialect = Literal["rfc", "entra", "entra-compat", "okta", "ping"]
Preset = Literal["generic", "entra", "okta", "ping"]
NameIdFormat = Literal["emailAddress", "persistent", "transient", "unspecified"]
DIALECTS: tuple[Dialect, ...] = ("rfc", "entra", "entra-compat", "okta", "ping")
# What a scenario may need of the SP beyond SP-initiated sign-in (harness.targets.CAPABILITIES)
Capability = Literal[
    "scim",
    "admin",
    "licenses",
    "activations",
    "idp_initiated",
    "single_logout",
    "second_organisation",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# -- given ---------------------------------------------------------------------------------


class Organisation(_Strict):
    admin_group: str = "Business Account Admins"
    seats: int = Field(default=100, ge=0)
    subscription: Literal["per-user", "per-device"] = "per-user"
    license_group: str | None = None  # seats go to members of this group (else to everyone)
    email_domain: str = "example.com"
    allow_idp_initiated: bool = True


class GivenUser(_Strict):
    ref: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    groups: tuple[str, ...] = ()
    active: bool = True
    assigned: bool = True  # assigned to the SP's app in the IdP (provisioned)
    given_name: str | None = None
    family_name: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)


class Given(_Strict):
    organisation: Organisation = Organisation()
    users: tuple[GivenUser, ...] = ()
    groups: tuple[str, ...] = ()  # groups that exist even when empty

    @model_validator(mode="after")
    def _unique_refs(self) -> Given:
        refs = [u.ref for u in self.users]
        duplicates = {r for r in refs if refs.count(r) > 1}
        if duplicates:
            raise ValueError(f"user refs must be unique: {sorted(duplicates)}")
        return self


# -- steps: directory changes in the mock IdP ----------------------------------------------


class Hire(_Strict):
    ref: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    groups: tuple[str, ...] = ()
    assigned: bool = True


class UserAttributes(_Strict):
    user: str
    set: dict[str, str]


class Membership(_Strict):
    user: str
    group: str


class RenameGroup(_Strict):
    group: str
    to: str


# -- steps: sign-in and devices ------------------------------------------------------------


def _reason_with_refusal(expect: str, reason: str | None) -> None:
    if reason is not None and expect != "refused":
        raise ValueError("'reason' goes with 'expect: refused'")


class SignIn(_Strict):
    user: str
    via: Literal["sp", "idp"] = "sp"  # SP-initiated (AuthnRequest) or IdP-initiated
    # "other": the user is asserted by another organisation's IdP (IdP-initiated), which the
    # SP trusts for that organisation only
    idp: Literal["own", "other"] = "own"
    browser: bool = False  # a real Chromium instead of an HTTP client
    relay_state: str | None = None  # a deep link: where the SP should land the user
    preset: Preset | None = None
    name_id_format: NameIdFormat | None = None
    # The core's mutators applied to the response: a name, or {name: {param: value}}.
    mutators: tuple[str | dict[str, dict[str, Any]], ...] = ()
    session: str | None = None  # name of the browser session (default: the user's ref)
    expect: Literal["signed-in", "refused"] = "signed-in"
    reason: str | None = None  # with expect: refused, the SP's reason code

    @field_validator("mutators")
    @classmethod
    def _one_mutator_each(
        cls, values: tuple[str | dict[str, dict[str, Any]], ...]
    ) -> tuple[str | dict[str, dict[str, Any]], ...]:
        for value in values:
            if isinstance(value, dict) and len(value) != 1:
                raise ValueError("a mutator with parameters is {name: {param: value}}")
        return values

    @property
    def mutator_calls(self) -> tuple[MutatorCall, ...]:
        return tuple(
            MutatorCall(value, {})
            if isinstance(value, str)
            else MutatorCall(*next(iter(value.items())))
            for value in self.mutators
        )

    @property
    def mutator_names(self) -> tuple[str, ...]:
        return tuple(call.name for call in self.mutator_calls)

    @model_validator(mode="after")
    def _reason_only_when_refused(self) -> SignIn:
        _reason_with_refusal(self.expect, self.reason)
        if self.idp == "other" and (self.via != "idp" or self.browser):
            raise ValueError("'idp: other' signs in IdP-initiated, without a browser")
        return self


class ActivateDevice(_Strict):
    user: str
    as_: str = Field(alias="as", pattern=r"^[a-z][a-z0-9_-]*$")  # the device's name
    client_version: str = "19.1"
    product: str = "parallels-desktop"
    expect: Literal["activated", "refused"] = "activated"
    reason: str | None = None


class SecurityCaseStep(_Strict):
    """A case of the SAML security catalogue (harness.checks.security_catalogue), run for
    ``user`` (the subject the IdP signs) with ``attacker`` as the user a forgery would sign in."""

    case: str
    user: str = "victor"
    attacker: str = "mallory"

    @field_validator("case")
    @classmethod
    def _known_case(cls, value: str) -> str:
        if value not in CASES_BY_ID:
            raise ValueError(f"unknown security case {value!r} (known: {', '.join(CASES_BY_ID)})")
        return value


def _scim_group(value: str) -> str:
    if value not in SCIM_GROUPS:
        raise ValueError(f"unknown SCIM group {value!r} (known: {', '.join(SCIM_GROUPS)})")
    return value


class ScimConformanceStep(_Strict):
    """A group of the scim_conformance suite (harness.checks.scim_conformance), run against the
    target's SCIM endpoint."""

    group: Annotated[str, AfterValidator(_scim_group)]


class Provision(_Strict):
    cycle: Literal["initial", "incremental"]
    dialect: Dialect | None = None  # default: the scenario's dialect


# What a replay may keep as captured (harness.replay.PARTS).
ReplayPart = Literal[
    "destination", "recipient", "audience", "in-response-to", "times", "issuer", "ids"
]


class ReplayEncryption(_Strict):
    """How a replay encrypts the assertion of a capture stored with its assertion in clear."""

    block: Literal["aes128-gcm", "aes256-gcm", "aes128-cbc", "aes256-cbc"] = "aes256-gcm"
    transport: Literal["rsa-oaep", "rsa-1_5"] = "rsa-oaep"


class Replay(_Strict):
    """Replay a captured SAMLResponse to the SP (harness.replay): rewritten for this SP and a
    fresh SP-initiated request, re-signed by the mock IdP as captured. ``user`` is the given
    user the capture's subject stands for; ``capture`` is the Response inline (base64 or XML)
    or a file beside the scenario."""

    user: str
    capture: str = Field(min_length=1)
    keep: tuple[ReplayPart, ...] = ()
    encrypt: ReplayEncryption | None = None
    expect: Literal["signed-in", "refused"] = "signed-in"
    reason: str | None = None  # with expect: refused, the SP's reason code

    @model_validator(mode="after")
    def _reason_only_when_refused(self) -> Replay:
        _reason_with_refusal(self.expect, self.reason)
        return self


# -- steps: an IdP under test -------------------------------------------------------------


class IdpSignIn(_Strict):
    """Make the IdP under test sign ``user`` in to the reference SP, and judge every rule of
    the Response it sends (harness.checks.idp_saml)."""

    user: str
    via: Literal["sp", "idp"] = "sp"  # SP-initiated (the SP's AuthnRequest) or IdP-initiated
    relay_state: str | None = "/account"  # what the SP sends as RelayState, or asks the IdP to
    # "sp": the SP's own request; "unsigned" / "force-authn" / "other-acs": an AuthnRequest the
    # harness sends in the SP's name (with its key), unsigned, with ForceAuthn, or naming the
    # SP's second ACS (harness.idp_crafted).
    request: Literal["sp", "unsigned", "force-authn", "other-acs"] = "sp"


class IdpJudgeOnly(_Strict):
    """A step with nothing to set: it judges what the IdP published or sent so far."""


IDP_STEPS = ("idp_metadata", "idp_sign_in", "idp_sign_out", "idp_scim_requests")
# What an IdP-under-test scenario may do: the IdP's own steps and its directory changes.
IDP_SCENARIO_STEPS = (
    *IDP_STEPS,
    "hire",
    "add_to_group",
    "remove_from_group",
    "block",
    "reactivate",
    "unassign",
    "delete",
    "provision",
)


# -- steps: expectations -------------------------------------------------------------------


class ScimState(_Strict):
    exists: bool | None = None
    active: bool | None = None
    groups: tuple[str, ...] | None = None


class Expectation(_Strict):
    """One observation the SP must show; only the fields given are checked."""

    user: str | None = None
    device: str | None = None
    sign_in: Literal["signed-in", "refused"] | None = None
    reason: str | None = None
    open_session: Literal["active", "ended"] | None = None
    admin: bool | None = None
    license: Literal["held", "waiting", "none"] | None = None
    check_in: Literal["active", "revoked"] | None = None
    scim: ScimState | None = None

    @model_validator(mode="after")
    def _subject(self) -> Expectation:
        user_checks = (self.sign_in, self.open_session, self.admin, self.license, self.scim)
        if any(v is not None for v in user_checks) and self.user is None:
            raise ValueError("this expectation needs 'user'")
        if self.check_in is not None and self.device is None:
            raise ValueError("'check_in' needs 'device'")
        if self.reason is not None and self.sign_in != "refused" and self.check_in is None:
            raise ValueError("'reason' goes with 'sign_in: refused' or 'check_in'")
        if all(v is None for v in (*user_checks, self.check_in)):
            raise ValueError("an expectation checks at least one thing")
        return self


# -- the step union ------------------------------------------------------------------------

# step keyword -> the model of its value; a bare string is shorthand for the field named here
STEP_SHORTHAND: dict[str, str] = {
    "hire": "ref",
    "sign_in": "user",
    "sign_out": "user",
    "block": "user",
    "reactivate": "user",
    "unassign": "user",
    "delete": "user",
    "delete_group": "group",
    "provision": "cycle",
    "case": "case",
    "idp_sign_in": "user",
    "idp_sign_out": "user",
    "scim_conformance": "group",
}


class UserRef(_Strict):
    user: str


class GroupRef(_Strict):
    group: str


STEP_MODELS: dict[str, type[BaseModel]] = {
    "hire": Hire,
    "update": UserAttributes,
    "add_to_group": Membership,
    "remove_from_group": Membership,
    "rename_group": RenameGroup,
    "delete_group": GroupRef,
    "block": UserRef,
    "reactivate": UserRef,
    "unassign": UserRef,
    "delete": UserRef,
    "provision": Provision,
    "sign_in": SignIn,
    "sign_out": UserRef,
    "activate_device": ActivateDevice,
    "case": SecurityCaseStep,
    "scim_conformance": ScimConformanceStep,
    "expect": Expectation,  # a list of expectations is several expect steps
    "replay": Replay,
    "idp_metadata": IdpJudgeOnly,
    "idp_sign_in": IdpSignIn,
    "idp_sign_out": UserRef,
    "idp_scim_requests": IdpJudgeOnly,
}


def mapping_keys(model: type[BaseModel]) -> str:
    """The keys a step's mapping takes, required ones first: ``{user, group}``."""
    fields = model.model_fields.items()
    required = [info.alias or name for name, info in fields if info.is_required()]
    optional = [info.alias or name for name, info in fields if not info.is_required()]
    return "{" + ", ".join(required + optional) + "}"


class Step(_Strict):
    kind: str
    value: Annotated[Any, Field(description="the model of STEP_MODELS[kind]")]
    line: int = 0  # where it stands in the file, for messages


# -- the scenario --------------------------------------------------------------------------


class Scenario(_Strict):
    title: str = Field(min_length=3)
    description: str = ""
    tags: tuple[str, ...] = ()
    # Parameters: the scenario runs once per combination of the lists given.
    dialects: tuple[Dialect, ...] = ()
    presets: tuple[Preset, ...] = ()
    name_id_formats: tuple[NameIdFormat, ...] = ()
    browser: bool = False  # every sign-in in a real browser
    # What the scenario needs of the SP, beyond what its steps show (harness.scenario.needs);
    # a target that lacks any of it skips the scenario before it starts.
    needs: tuple[Capability, ...] = ()
    given: Given = Given()
    steps: tuple[Step, ...] = ()
    # A property suite instead of steps: "lifecycle" runs the hypothesis state machine of
    # harness.lifecycle for ``examples`` random sequences of up to ``max_steps`` changes.
    property: Literal["lifecycle"] | None = None
    examples: int = Field(default=10, ge=1, le=1000)
    max_steps: int = Field(default=8, ge=1, le=100)
    # Which side is under test: the SP (the mock IdP sends, the SP is judged) or the IdP (the
    # reference SP receives, every message the IdP sends is judged).
    under_test: Literal["sp", "idp"] = "sp"
    # An IdP under test: whether the reference SP's metadata must ask for encrypted assertions
    # (None: either; the mock IdP's world asks).
    sp_wants_encryption: bool | None = None

    @model_validator(mode="after")
    def _steps_or_property(self) -> Scenario:
        if not self.steps and self.property is None:
            raise ValueError("a scenario needs steps (or a property)")
        if self.steps and self.property is not None:
            raise ValueError("a property suite has no steps of its own")
        allowed = IDP_SCENARIO_STEPS if self.under_test == "idp" else None
        for step in self.steps:
            if allowed is not None and step.kind not in allowed:
                raise ValueError(f"'{step.kind}' is a step of an SP under test (under_test: sp)")
            if allowed is None and step.kind in IDP_STEPS:
                raise ValueError(f"'{step.kind}' is a step of an IdP under test (under_test: idp)")
        return self

    @field_validator("dialects", "presets", "name_id_formats")
    @classmethod
    def _no_repeats(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(values)) != len(values):
            raise ValueError("a parameter value is listed twice")
        return values


class ScenarioRun(_Strict):
    """One scenario with one value of each parameter: what the runner executes."""

    suite: str
    path: str
    scenario: Scenario
    dialect: Dialect = "rfc"
    preset: Preset = "generic"
    name_id_format: NameIdFormat = "emailAddress"

    @property
    def name(self) -> str:
        parameters = []
        if self.scenario.dialects:
            parameters.append(f"dialect={self.dialect}")
        if self.scenario.presets:
            parameters.append(f"preset={self.preset}")
        if self.scenario.name_id_formats:
            parameters.append(f"nameid={self.name_id_format}")
        stem = self.path.rsplit("/", 1)[-1].removesuffix(".yaml")
        return f"{stem}[{','.join(parameters)}]" if parameters else stem
