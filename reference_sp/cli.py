"""``sso-harness sp``: serve the reference SP (SAML sign-in, SCIM 2.0, business-account rules).

Organisations: each ``--idp-metadata URL_OR_FILE`` adds one (the first is ``default`` and uses
``--scim-token``; the others get generated tokens), or ``--org FILE.toml`` describes them in
full (email domains, admin group, license group, subscription, seats): see
docs/reference-sp.md. Configuration errors exit with status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tomllib
from dataclasses import dataclass, field
from typing import Any

from harness.component_cli import (
    ConfigError,
    add_listen_arguments,
    base_url,
    bound_port,
    read_source,
    refuse,
    run_on_socket,
    serve_app,
)
from reference_sp.app import DEFAULT_ORGANISATION, ReferenceSP, Settings
from reference_sp.flaws import FLAWS
from reference_sp.organisation_store import new_token

_ORG_KEYS: dict[str, type] = {
    "name": str,
    "idp_metadata": str,
    "scim_token": str,
    "email_domains": list,
    "admin_group": str,
    "license_group": str,
    "access_group": str,
    "subscription": str,
    "seats": int,
    "allow_idp_initiated": bool,
    "product": str,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_listen_arguments(parser, default_port=8001)
    parser.add_argument(
        "--db",
        default=None,
        help="database URL: an SQLite file under the data dir by default, 'sqlite://' for "
        "memory, 'postgresql://user:pass@host/db' for PostgreSQL",
    )
    parser.add_argument(
        "--scim-token",
        default=None,
        help="bearer token of the default organisation's SCIM endpoint (generated if omitted)",
    )
    parser.add_argument(
        "--idp-metadata",
        action="append",
        default=[],
        metavar="URL_OR_FILE",
        help="trust this IdP: one organisation per use (repeatable)",
    )
    parser.add_argument(
        "--org",
        action="append",
        default=[],
        metavar="FILE.toml",
        help="organisations in full ([[organization]] tables; see docs/reference-sp.md)",
    )
    parser.add_argument(
        "--profile",
        choices=["generic", "parallels"],
        default="generic",
        help="'parallels': admin group 'Parallels Business Account Admins', product "
        "'Parallels Desktop' (default generic: 'Business Account Admins')",
    )
    parser.add_argument(
        "--seats", type=int, default=100, help="license seats of organisations from --idp-metadata"
    )
    parser.add_argument(
        "--flaw",
        action="append",
        default=[],
        choices=sorted(FLAWS),
        metavar="NAME",
        help="weaken one rule on purpose (repeatable; see 'sso-harness list flaws')",
    )
    parser.add_argument(
        "--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"]
    )


@dataclass
class OrgConfig:
    name: str
    scim_token: str
    idp_metadata: bytes | None = None
    options: dict[str, Any] = field(default_factory=dict)


def organisations(args: argparse.Namespace) -> list[OrgConfig]:
    found: list[OrgConfig] = []
    for position, source in enumerate(args.idp_metadata):
        name = DEFAULT_ORGANISATION if position == 0 else f"org-{position + 1}"
        token = (args.scim_token if position == 0 else None) or new_token()
        metadata = read_source(source, "IdP metadata")
        found.append(OrgConfig(name, token, metadata, {"seats": args.seats}))
    for path in args.org:
        try:
            data = tomllib.loads(read_source(path, "organisation file").decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        tables = data.get("organization")
        if not isinstance(tables, list) or not tables:
            raise ConfigError(f"{path}: no [[organization]] table")
        for table in tables:
            unknown = sorted(set(table) - set(_ORG_KEYS))
            if unknown:
                raise ConfigError(f"{path}: unknown organisation key {unknown[0]!r}")
            if not isinstance(table.get("name"), str) or not table["name"]:
                raise ConfigError(f"{path}: every organisation needs a name")
            for key, value in table.items():
                kind = _ORG_KEYS[key]
                if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                    article = "an" if kind is int else "a"
                    raise ConfigError(
                        f"{path}: {key} of {table['name']!r} must be {article} {kind.__name__}"
                    )
            if not all(isinstance(d, str) for d in table.get("email_domains", [])):
                raise ConfigError(f"{path}: email_domains must be strings")
            metadata = table.get("idp_metadata")
            options = {
                k: v for k, v in table.items() if k not in ("name", "scim_token", "idp_metadata")
            }
            found.append(
                OrgConfig(
                    table["name"],
                    str(table.get("scim_token") or new_token()),
                    read_source(str(metadata), "IdP metadata") if metadata else None,
                    options,
                )
            )
    if not any(o.name == DEFAULT_ORGANISATION for o in found) and not args.org:
        found.insert(0, OrgConfig(DEFAULT_ORGANISATION, args.scim_token or new_token()))
    names = [o.name for o in found]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise ConfigError(f"organisation {duplicate!r} is configured twice")
    return found


def run(args: argparse.Namespace) -> int:
    try:
        orgs = organisations(args)
    except ConfigError as exc:
        return refuse("sp", exc)
    return run_on_socket("sp", args, lambda sock: _serve(args, orgs, sock))


def _serve(args: argparse.Namespace, orgs: list[OrgConfig], sock: socket.socket) -> int:
    from reference_sp.db import describe, is_start_failure, mask_url

    base = (args.base_url or base_url(args.host, bound_port(sock))).rstrip("/")
    settings = Settings(db_url=args.db, base_url=base, profile=args.profile, flaws=tuple(args.flaw))
    where = mask_url(args.db) if args.db else "(the default SQLite file)"
    try:
        sp = ReferenceSP(settings)
    except Exception as exc:
        if not is_start_failure(exc):
            raise
        # One line, never the password: the URL is masked, the driver's message cut to its
        # first line (no SQL, no parameters).
        return refuse("sp", f"cannot open the database {where}: {describe(exc, args.db)}")
    try:
        for org in orgs:
            sp.add_organisation(
                org.name, org.scim_token, idp_metadata=org.idp_metadata, **org.options
            )
    except (ConfigError, TypeError) as exc:
        sp.close()
        return refuse("sp", exc)
    except Exception as exc:
        if not is_start_failure(exc):
            raise
        sp.close()
        return refuse("sp", f"cannot write to the database {where}: {describe(exc, args.db)}")
    print(f"reference SP   {base}/")
    print(f"SP metadata    {sp.entity_id}   (ACS {sp.acs_url})")
    for org in orgs:
        tenant = sp.organisations.get(sp.orgs_by_name(org.name))
        idp = tenant.idp.entity_id if tenant and tenant.idp else "no IdP: SCIM only"
        print(f"organisation   {org.name}: IdP {idp}")
        print(f"  SCIM         {base}/scim/v2   (Authorization: Bearer {org.scim_token})")
    if args.flaw:
        print(f"WARNING: flaws on: {', '.join(sorted(args.flaw))}")
    sys.stdout.flush()
    try:
        return serve_app(sp.app, sock, args.log_level)
    finally:
        sp.close()
