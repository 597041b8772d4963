"""What the harness runs against: the built-in reference SP (in-process, or on loopback when a
browser needs real sockets), or a real SP described by a TOML target file (shared/CONTRACT).

A target file says where the SP is, what it has (``[features]``), how to provision it (SCIM, when
it has it), where the harness's mock IdP listens (the SP must trust its metadata), and the
probes: how to start a sign-in on that SP and how to tell that a browser is signed in, is an
admin, holds a license. The probe defaults are the reference SP's own endpoints, so a file for
``sso-harness sp`` is short; an SP with only a protected page and its login and logout handlers
(Shibboleth, mod_auth_mellon, a pysaml2 app) is described by templates and a text pattern.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit


class TargetError(ValueError):
    """A target file that cannot be used: its path and what is wrong, in one line."""


# What a scenario may need from an SP, and what a target declares it has (CONTRACT
# "[features]"). ``reference_sp`` is the in-process reference SP itself (a second organisation
# added on the fly, its flaws); a file target never has it.
CAPABILITIES: dict[str, str] = {
    "scim": "SCIM provisioning",
    "admin": "admin role granted through an IdP group",
    "licenses": "per-user licenses",
    "activations": "device activations through SSO",
    "idp_initiated": "IdP-initiated sign-in",
    "single_logout": "single logout",
    "second_organisation": "second organisation trusting another IdP",
}


@dataclass(frozen=True)
class Features:
    """What the SP has beyond SP-initiated sign-in. The reference SP has everything."""

    scim: bool = True
    admin: bool = True
    licenses: bool = True
    activations: bool = True
    idp_initiated: bool = True
    single_logout: bool = True
    second_organisation: bool = True

    def has(self, capability: str) -> bool:
        return bool(getattr(self, capability, False))


@dataclass(frozen=True)
class Probes:
    """Paths on the SP (relative to its base URL) and how to read what they answer."""

    # SP-initiated start. With ``{email}`` / ``{relay_state}`` placeholders they are filled in
    # URL-encoded and the rest of the path (its own query) is kept; without placeholders the
    # reference SP's convention applies: ``?email=...&RelayState=...`` is appended.
    login: str = "/saml/login"
    me: str = "/api/me"  # the signed-in user's page: 200 when signed in
    me_user_field: str = "userName"  # a JSON answer: the dotted path of the user's name
    me_pattern: str | None = None  # a text answer: a regex whose first group is the name
    license_field: str = "license.state"  # dotted path in the me JSON: held, waiting or none
    admin: str = "/admin"  # 200 for an administrator, 403 otherwise (only the status is read)
    activations: str = "/api/activations"  # POST starts a device activation
    activation_url_field: str = "activationUrl"
    check_in_url_field: str = "checkInUrl"
    check_in_field: str = "status"
    # Sign-out: GET this URL; when the page answered holds a sign-out form (the reference SP's
    # /account), the form is submitted, as a browser user would.
    logout: str = "/account"
    # A Python file whose probe functions (PROBE_FUNCTIONS) replace the built-in ones, for an
    # SP whose business API differs; loaded when the target file is read.
    module: str | None = None
    custom: Mapping[str, Callable[..., Any]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def login_url(self, base: str, email: str, relay_state: str | None) -> str:
        """The SP-initiated start for ``email``; ``relay_state`` defaults to the me page (where
        an SP that needs a target, like Shibboleth's ``target=``, should land)."""
        if "{" not in self.login:
            query = {"email": email, **({"RelayState": relay_state} if relay_state else {})}
            joiner = "&" if "?" in self.login else "?"
            return f"{base}{self.login}{joiner}{urlencode(query)}"
        filled = self.login.replace("{email}", quote(email, safe="")).replace(
            "{relay_state}", quote(relay_state or self.me, safe="")
        )
        return f"{base}{filled}"

    def identity(self, status: int, content_type: str, text: str) -> str | None:
        """Who the me page says is signed in: the name, or None when nobody is."""
        if status != 200:
            return None
        if self.me_pattern is not None:
            found = re.search(self.me_pattern, text)
            return found.group(1) if found and found.groups() else None
        try:
            body = json.loads(text)
        except ValueError:
            return None
        name = dotted(body, self.me_user_field)
        return str(name) if name not in (None, "") else None


def dotted(document: Any, path: str) -> Any:
    """``document["a"]["b"]`` for ``path`` "a.b"; None where a step is missing."""
    for part in path.split("."):
        if not isinstance(document, dict):
            return None
        document = document.get(part)
    return document


@dataclass(frozen=True)
class OrganisationSettings:
    """The SP's own settings, as the target states them (CONTRACT ``[organisation]``); a
    scenario whose ``given.organisation`` asks for other values is skipped."""

    seats: int | None = None
    license_group: str | None = None
    subscription: str | None = None
    admin_group: str | None = None


@dataclass(frozen=True)
class RemoteTarget:
    name: str
    path: str  # the target file, for messages
    sp_base: str
    sp_metadata_url: str | None
    sp_metadata_file: str | None
    scim_url: str | None
    scim_token: str | None
    email_domain: str
    idp_port: int
    probes: Probes
    features: Features
    organisation: OrganisationSettings = field(default_factory=OrganisationSettings)

    def sp_metadata(self) -> bytes:
        if self.sp_metadata_file:
            return Path(self.sp_metadata_file).read_bytes()
        import httpx

        from harness.tls import default_ssl_context

        url = self.sp_metadata_url or f"{self.sp_base}/saml/metadata"
        return httpx.get(url, timeout=10, verify=default_ssl_context()).raise_for_status().content


# The functions a probe module may define, and what they are given and answer (the README):
#   who_am_i(browser, base_url) -> str | None          the signed-in user's name, or None
#   is_admin(browser, base_url) -> bool                 the signed-in user administers
#   license_state(browser, base_url) -> str             held, waiting or none
#   activate_device(browser, base_url, *, product, client_version, device_id)
#       -> tuple[str | None, str | None]                (a check-in handle, why refused)
#   check_in(http, base_url, handle) -> str             active or revoked
# ``browser`` is an httpx.Client holding the user's session cookies; ``http`` has none.
PROBE_FUNCTIONS = ("who_am_i", "is_admin", "license_state", "activate_device", "check_in")


def user_functions(
    path: Path, shown: str, key: str, names: tuple[str, ...]
) -> dict[str, Callable[..., Any]]:
    """The functions among ``names`` that the user's Python file ``path`` (the file's ``key``)
    defines, by name; a file that cannot be imported or defines none of them is a TargetError."""
    if not path.is_file():
        raise TargetError(f"{shown}: {key} {path} is not a file")
    spec = importlib.util.spec_from_file_location(f"sso_harness_user_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise TargetError(f"{shown}: {key} {path} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's file: any failure is their configuration's
        raise TargetError(f"{shown}: {key} {path} failed to load ({exc})") from None
    found = {n: getattr(module, n) for n in names if callable(getattr(module, n, None))}
    if not found:
        raise TargetError(f"{shown}: {key} {path} defines none of {', '.join(names)}")
    return found


def _probe_module(path: Path, shown: str) -> dict[str, Callable[..., Any]]:
    return user_functions(path, shown, "probes.module", PROBE_FUNCTIONS)


# -- reading a target file ---------------------------------------------------------------------

_SECTIONS: dict[str, tuple[str, ...]] = {
    "sp": ("base_url", "metadata_url", "metadata_file", "email_domain"),
    "idp": ("port",),
    "probes": (*(f.name for f in fields(Probes) if f.name != "custom"), "account"),
    "features": tuple(CAPABILITIES),
    "scim": ("url", "token", "token_env"),
    "organisation": tuple(f.name for f in fields(OrganisationSettings)),
}
_TOP_LEVEL = ("name", *_SECTIONS)


def _unknown(shown: str, where: str, key: str, known: tuple[str, ...]) -> TargetError:
    near = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f" (did you mean '{near[0]}'?)" if near else f"; known: {', '.join(known)}"
    return TargetError(f"{shown}: unknown key '{where}{key}'{hint}")


def _section(
    data: dict[str, Any], name: str, shown: str, known: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """The table ``[name]`` (empty when absent), every key in it known (``known``, else the SP
    target file's keys of that table)."""
    section = data.get(name, {})
    if not isinstance(section, dict):
        raise TargetError(f"{shown}: [{name}] must be a table")
    known = _SECTIONS[name] if known is None else known
    for key in section:
        if key not in known:
            raise _unknown(shown, f"{name}.", key, known)
    return section


def _text(section: dict[str, Any], key: str, where: str, shown: str) -> str | None:
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise TargetError(f"{shown}: {where}.{key} must be a non-empty string")
    return value


def _url(value: str, where: str, shown: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise TargetError(f"{shown}: {where} must be an http(s) URL, not {value!r}")
    return value.rstrip("/")


def _probes(section: dict[str, Any], shown: str, folder: Path) -> Probes:
    values: dict[str, Any] = {}
    for key, value in section.items():
        if not isinstance(value, str) or not value:
            raise TargetError(f"{shown}: probes.{key} must be a non-empty string")
        values[key] = value
    account = values.pop("account", None)
    if account is not None and "logout" not in values:
        values["logout"] = account  # the older name of the page holding the sign-out form
    pattern = values.get("me_pattern")
    if pattern is not None:
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise TargetError(f"{shown}: probes.me_pattern is not a regex ({exc})") from None
        if compiled.groups < 1:
            raise TargetError(f"{shown}: probes.me_pattern needs a group: the user's name")
    for key in ("login", "me", "admin", "activations", "logout"):
        if key in values and not values[key].startswith("/"):
            raise TargetError(f"{shown}: probes.{key} must be a path on the SP (start with /)")
    if "module" in values:
        module = (folder / values["module"]).resolve()
        values["module"] = str(module)
        values["custom"] = _probe_module(module, shown)
    return Probes(**values)


def _scim(data: dict[str, Any], shown: str) -> tuple[str | None, str | None]:
    if "scim" not in data:
        return None, None
    scim = _section(data, "scim", shown)
    url = _text(scim, "url", "scim", shown)
    if url is None:
        raise TargetError(f"{shown}: scim.url is required in [scim]")
    token = _text(scim, "token", "scim", shown)
    variable = _text(scim, "token_env", "scim", shown)
    if token is None and variable is not None:
        token = os.environ.get(variable)
        if not token:
            raise TargetError(f"{shown}: the environment variable {variable} is empty")
    if token is None:
        raise TargetError(f"{shown}: [scim] needs token or token_env")
    return _url(url, "scim.url", shown), token


def _features(data: dict[str, Any], has_scim: bool, shown: str) -> Features:
    section = _section(data, "features", shown)
    for key, value in section.items():
        if not isinstance(value, bool):
            raise TargetError(f"{shown}: features.{key} must be true or false")
    # A file target has what it declares: SCIM where [scim] is given, the rest only when said.
    declared = {name: False for name in CAPABILITIES} | {"scim": has_scim} | section
    if declared["scim"] and not has_scim:
        raise TargetError(f"{shown}: features.scim = true needs a [scim] section (url, token)")
    return Features(**declared)


def _organisation(data: dict[str, Any], shown: str) -> OrganisationSettings:
    section = _section(data, "organisation", shown)
    seats = section.get("seats")
    if seats is not None and (not isinstance(seats, int) or isinstance(seats, bool) or seats < 0):
        raise TargetError(f"{shown}: organisation.seats must be a number of seats")
    texts = {k: _text(section, k, "organisation", shown) for k in section if k != "seats"}
    return OrganisationSettings(seats=seats, **texts)


def read_target_file(path: str | Path, top_level: tuple[str, ...]) -> dict[str, Any]:
    """A target file's TOML, every top-level key known (``top_level``)."""
    shown = str(path)
    try:
        data = tomllib.loads(Path(path).read_text())
    except OSError as exc:
        raise TargetError(f"{shown}: cannot read it ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TargetError(f"{shown}: not valid TOML ({exc})") from None
    for key in data:
        if key not in top_level:
            raise _unknown(shown, "", key, top_level)
    return data


def load_target(path: str | Path) -> RemoteTarget:
    shown = str(path)
    data = read_target_file(path, _TOP_LEVEL)
    sp = _section(data, "sp", shown)
    idp = _section(data, "idp", shown)
    base = _text(sp, "base_url", "sp", shown)
    if base is None:
        raise TargetError(f"{shown}: sp.base_url is required (the SP's address)")
    base = _url(base, "sp.base_url", shown)
    metadata_file = _text(sp, "metadata_file", "sp", shown)
    metadata_url = _text(sp, "metadata_url", "sp", shown)
    if metadata_file is not None and metadata_url is not None:
        raise TargetError(f"{shown}: give sp.metadata_url or sp.metadata_file, not both")
    if metadata_file is not None:
        metadata_file = str((Path(path).parent / metadata_file).resolve())
    port = idp.get("port", 8002)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise TargetError(f"{shown}: idp.port must be a port number")
    scim_url, token = _scim(data, shown)
    name = data.get("name", Path(path).stem)
    if not isinstance(name, str):
        raise TargetError(f"{shown}: name must be a string")
    return RemoteTarget(
        name=name,
        path=shown,
        sp_base=base,
        sp_metadata_url=None
        if metadata_file
        else _url(metadata_url or f"{base}/saml/metadata", "sp.metadata_url", shown),
        sp_metadata_file=metadata_file,
        scim_url=scim_url,
        scim_token=token,
        email_domain=_text(sp, "email_domain", "sp", shown) or "example.com",
        idp_port=port,
        probes=_probes(_section(data, "probes", shown), shown, Path(path).parent),
        features=_features(data, scim_url is not None, shown),
        organisation=_organisation(data, shown),
    )


def with_features(target: RemoteTarget, **changes: bool) -> RemoteTarget:
    return replace(target, features=replace(target.features, **changes))
