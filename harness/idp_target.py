"""An IdP under test, from its target file (``sso-harness run --idp-target FILE.toml``).

The harness serves the reference SP where the file says (the IdP was configured with its
metadata, ACS and SCIM URLs), trusts the IdP's metadata, and signs the file's test accounts in
the way the file says: by filling the IdP's login form, by a Python script for IdPs with an API,
or by asking an operator (interactive). Unknown keys are errors naming the nearest known key, as
in the SP target file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from harness.targets import (
    TargetError,
    _section,
    _text,
    _url,
    read_target_file,
    user_functions,
)

SignInMode = Literal["form", "script", "interactive"]
VENDORS = ("generic", "entra", "entra-compat", "okta", "ping")
# What a script may define: ``sign_in(client, login_url, user_name, password)`` returning the
# page that holds the IdP's form posting SAMLResponse to the SP; and, for IdPs whose directory
# has an API, the directory changes a scenario asks for (each taking the user's name, and the
# group's for memberships). What it does not define, an operator is asked to do.
SCRIPT_FUNCTIONS = (
    "sign_in",
    "hire",
    "block",
    "reactivate",
    "unassign",
    "delete",
    "add_to_group",
    "remove_from_group",
    "provision",
)
_SECTIONS: dict[str, tuple[str, ...]] = {
    "idp": ("metadata_url", "metadata_file", "vendor"),
    "sp": ("host", "port", "public_url", "want_encryption"),
    "sign_in": ("mode", "username_field", "password_field", "script", "timeout"),
    "scim": ("provisions", "token", "token_env"),
    "features": ("idp_initiated", "single_logout"),
}
_TOP_LEVEL = ("name", "users", *_SECTIONS)


@dataclass(frozen=True)
class TestAccount:
    """A user that exists in the IdP under test, known to scenarios by its ref."""

    user_name: str
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class IdpTarget:
    name: str
    path: str
    metadata_url: str | None
    metadata_file: str | None
    vendor: str = "generic"
    sp_host: str = "127.0.0.1"
    sp_port: int = 8001
    sp_public_url: str | None = None  # the SP's base URL as the IdP knows it
    want_encryption: bool = True
    mode: SignInMode = "form"
    username_field: str = "username"
    password_field: str = "password"  # noqa: S105 - the form field's name
    script: dict[str, Callable[..., Any]] = field(default_factory=dict, compare=False)
    timeout_s: float = 300.0  # how long an operator has for each step
    accounts: dict[str, TestAccount] = field(default_factory=dict)
    provisions: bool = False  # the IdP provisions the SP over SCIM
    scim_token: str | None = field(default=None, repr=False)
    idp_initiated: bool = False
    single_logout: bool = False

    def metadata(self) -> bytes:
        if self.metadata_file is not None:
            return Path(self.metadata_file).read_bytes()
        assert self.metadata_url is not None  # load_idp_target requires one of the two
        return httpx.get(self.metadata_url, timeout=15).raise_for_status().content


def _script(path: Path, shown: str) -> dict[str, Callable[..., Any]]:
    return user_functions(path, shown, "sign_in.script", SCRIPT_FUNCTIONS)


def _secret(table: dict[str, Any], where: str, shown: str) -> str | None:
    """``key`` given in the file, or ``key_env`` naming the environment variable holding it."""
    value = _text(table, "token" if "token" in table else "password", where, shown)
    variable = _text(table, "token_env" if "token_env" in table else "password_env", where, shown)
    if value is None and variable is not None:
        value = os.environ.get(variable)
        if not value:
            raise TargetError(f"{shown}: the environment variable {variable} is empty")
    return value


def _accounts(data: dict[str, Any], shown: str) -> dict[str, TestAccount]:
    users = data.get("users", {})
    if not isinstance(users, dict):
        raise TargetError(f"{shown}: [users] must be a table of [users.REF] tables")
    accounts = {}
    for ref, table in users.items():
        where = f"users.{ref}"
        account = _section({where: table}, where, shown, ("user_name", "password", "password_env"))
        user_name = _text(account, "user_name", where, shown)
        if user_name is None:
            raise TargetError(f"{shown}: {where}.user_name is required")
        accounts[ref] = TestAccount(user_name, _secret(account, where, shown))
    return accounts


def _flag(table: dict[str, Any], key: str, where: str, shown: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise TargetError(f"{shown}: {where}.{key} must be true or false")
    return value


def _number(table: dict[str, Any], key: str, where: str, shown: str, default: int) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise TargetError(f"{shown}: {where}.{key} must be a positive number")
    return value


def _sign_in(table: dict[str, Any], shown: str, folder: Path) -> dict[str, Any]:
    mode = table.get("mode", "form")
    if mode not in ("form", "script", "interactive"):
        raise TargetError(f"{shown}: sign_in.mode must be form, script or interactive")
    script_file = _text(table, "script", "sign_in", shown)
    script = _script((folder / script_file).resolve(), shown) if script_file else {}
    if mode == "script" and "sign_in" not in script:
        raise TargetError(f"{shown}: mode = 'script' needs a sign_in.script defining sign_in()")
    return {
        "mode": mode,
        "username_field": _text(table, "username_field", "sign_in", shown) or "username",
        "password_field": _text(table, "password_field", "sign_in", shown) or "password",
        "script": script,
        "timeout_s": float(_number(table, "timeout", "sign_in", shown, 300)),
    }


def load_idp_target(path: str | Path) -> IdpTarget:
    shown = str(path)
    data = read_target_file(path, _TOP_LEVEL)
    tables = {name: _section(data, name, shown, known) for name, known in _SECTIONS.items()}
    idp, sp, scim, features = tables["idp"], tables["sp"], tables["scim"], tables["features"]
    metadata_file = _text(idp, "metadata_file", "idp", shown)
    metadata_url = _text(idp, "metadata_url", "idp", shown)
    if (metadata_file is None) == (metadata_url is None):
        raise TargetError(f"{shown}: give idp.metadata_url or idp.metadata_file (one of them)")
    vendor = _text(idp, "vendor", "idp", shown) or "generic"
    if vendor not in VENDORS:
        raise TargetError(f"{shown}: idp.vendor must be one of {', '.join(VENDORS)}")
    public_url = _text(sp, "public_url", "sp", shown)
    port = _number(sp, "port", "sp", shown, 8001)
    if port >= 65536:
        raise TargetError(f"{shown}: sp.port must be a port number")
    name = data.get("name", Path(path).stem)
    if not isinstance(name, str):
        raise TargetError(f"{shown}: name must be a string")
    provisions = _flag(scim, "provisions", "scim", shown, bool(scim))
    token = _secret(scim, "scim", shown) if scim else None
    if provisions and token is None:
        raise TargetError(
            f"{shown}: [scim] needs token or token_env: the token the IdP was configured with"
        )
    return IdpTarget(
        name=name,
        path=shown,
        metadata_url=_url(metadata_url, "idp.metadata_url", shown) if metadata_url else None,
        metadata_file=str((Path(path).parent / metadata_file).resolve()) if metadata_file else None,
        vendor=vendor,
        sp_host=_text(sp, "host", "sp", shown) or "127.0.0.1",
        sp_port=port,
        sp_public_url=_url(public_url, "sp.public_url", shown) if public_url else None,
        want_encryption=_flag(sp, "want_encryption", "sp", shown, True),
        accounts=_accounts(data, shown),
        provisions=provisions,
        scim_token=token,
        idp_initiated=_flag(features, "idp_initiated", "features", shown, False),
        single_logout=_flag(features, "single_logout", "features", shown, False),
        **_sign_in(tables["sign_in"], shown, Path(path).parent),
    )
