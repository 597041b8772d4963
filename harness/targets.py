"""What the harness runs against: the built-in reference SP (in-process, or on loopback when a
browser needs real sockets), or a real SP described by a TOML file.

A target file says where the SP is, how to provision it (SCIM URL and token), where the
harness's mock IdP listens (the SP must trust its metadata), and the probes: how to tell, on
that SP, that a browser is signed in, is an admin, holds a license. The defaults are the
reference SP's own endpoints (shared/CONTRACT), so a file for ``sso-harness sp`` is short.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class TargetError(ValueError):
    """A target file that cannot be used: its path and what is wrong, in one line."""


@dataclass(frozen=True)
class Probes:
    """Paths on the SP (relative to its base URL) and how to read them."""

    login: str = "/saml/login"  # SP-initiated SSO: GET with ?email=...&RelayState=...
    me: str = "/api/me"  # 200 with the signed-in user as JSON; anything else: not signed in
    me_user_field: str = "userName"
    license_field: str = "license.state"  # dotted path in the me JSON: held, waiting or none
    admin: str = "/admin"  # 200 for an administrator, 403 otherwise (asked with Accept: JSON)
    activations: str = "/api/activations"  # POST starts a device activation
    account: str = "/account"  # a page of the signed-in user that has the sign-out form
    logout: str = "/logout"  # the sign-out form's action


@dataclass(frozen=True)
class RemoteTarget:
    name: str
    sp_base: str
    sp_metadata_url: str | None
    sp_metadata_file: str | None
    scim_url: str
    scim_token: str
    email_domain: str
    idp_port: int
    probes: Probes

    def sp_metadata(self) -> bytes:
        if self.sp_metadata_file:
            return Path(self.sp_metadata_file).read_bytes()
        import httpx

        assert self.sp_metadata_url is not None
        return httpx.get(self.sp_metadata_url, timeout=10).raise_for_status().content


def _section(data: dict[str, Any], name: str, path: str) -> dict[str, Any]:
    section = data.get(name, {})
    if not isinstance(section, dict):
        raise TargetError(f"{path}: [{name}] must be a table")
    return section


def _text(section: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = section.get(key, default)
    if not isinstance(value, str) or not value:
        raise TargetError(f"{where}.{key} is required (a string)")
    return value


def load_target(path: str | Path) -> RemoteTarget:
    shown = str(path)
    try:
        data = tomllib.loads(Path(path).read_text())
    except OSError as exc:
        raise TargetError(f"{shown}: cannot read it ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TargetError(f"{shown}: not valid TOML ({exc})") from None
    sp = _section(data, "sp", shown)
    scim = _section(data, "scim", shown)
    idp = _section(data, "idp", shown)
    probes = _section(data, "probes", shown)
    known = {f for f in Probes.__dataclass_fields__}
    unknown = set(probes) - known
    if unknown:
        raise TargetError(f"{shown}: unknown probe(s) {sorted(unknown)}; known: {sorted(known)}")
    token = scim.get("token")
    if token is None and "token_env" in scim:
        token = os.environ.get(str(scim["token_env"]))
        if not token:
            raise TargetError(f"{shown}: the environment variable {scim['token_env']} is empty")
    if not isinstance(token, str) or not token:
        raise TargetError(f"{shown}: scim.token (or scim.token_env) is required")
    base = _text(sp, "base_url", "sp").rstrip("/")
    metadata_file = sp.get("metadata_file")
    if metadata_file is not None:
        metadata_file = str((Path(path).parent / str(metadata_file)).resolve())
    port = idp.get("port", 8002)
    if not isinstance(port, int) or not 0 < port < 65536:
        raise TargetError(f"{shown}: idp.port must be a port number")
    return RemoteTarget(
        name=str(data.get("name", Path(path).stem)),
        sp_base=base,
        sp_metadata_url=None if metadata_file else sp.get("metadata_url", f"{base}/saml/metadata"),
        sp_metadata_file=metadata_file,
        scim_url=_text(scim, "url", "scim").rstrip("/"),
        scim_token=token,
        email_domain=str(sp.get("email_domain", "example.com")),
        idp_port=port,
        probes=Probes(**{k: str(v) for k, v in probes.items()}),
    )
