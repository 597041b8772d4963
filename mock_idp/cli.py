"""``sso-harness idp``: serve the mock IdP alone (shared/CONTRACT.md, "Commands")."""

from __future__ import annotations

import argparse
import secrets
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from harness.component_cli import (
    ConfigError,
    add_listen_arguments,
    base_url,
    bound_port,
    read_source,
    run_on_socket,
    serve_app,
)
from harness.home import data_dir
from harness.protocol.keys import KeyLoadError, KeyPair, load_certificate, load_key_pair
from harness.protocol.saml.errors import MetadataError
from harness.protocol.saml.presets import PRESETS

from .flaws import FLAWS_BY_NAME, name_unknown

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from .idp import MockIdP


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_listen_arguments(parser, default_port=8002)
    parser.add_argument(
        "--sp-metadata",
        action="append",
        default=[],
        metavar="URL_OR_FILE",
        help="trust this SP's metadata (repeatable)",
    )
    parser.add_argument(
        "--preset", choices=sorted(PRESETS), default="generic", help="vendor defaults"
    )
    parser.add_argument(
        "--flaw",
        action="append",
        default=[],
        metavar="NAME",
        help="turn on a flaw (repeatable; see `sso-harness list flaws`)",
    )
    parser.add_argument(
        "--seed", type=int, help="seed for IDs and the demo directory (reproducible XML)"
    )
    parser.add_argument(
        "--key", type=Path, help="signing key (PEM); default: generated in the data dir"
    )
    parser.add_argument("--cert", type=Path, help="certificate for --key (PEM)")
    parser.add_argument(
        "--extra-cert",
        type=Path,
        action="append",
        default=[],
        help="another signing certificate to publish in metadata (key rollover; repeatable)",
    )
    parser.add_argument(
        "--key-type",
        choices=["rsa", "ec"],
        default="rsa",
        help="type of a generated key (default rsa)",
    )
    parser.add_argument(
        "--want-signed-requests",
        action="store_true",
        help="refuse unsigned AuthnRequests (WantAuthnRequestsSigned in metadata)",
    )
    parser.add_argument(
        "--api-token",
        metavar="TOKEN",
        help="require `Authorization: Bearer TOKEN` on the control API (/api/); `auto` "
        "generates one and prints it",
    )
    parser.add_argument(
        "--allow-provision-to",
        action="append",
        default=[],
        metavar="HOST",
        help="a host the control API may point SCIM provisioning at, besides loopback (repeatable)",
    )
    parser.add_argument(
        "--allow-passwordless-idp-init",
        action="store_true",
        help="let GET /saml/idp-init?sp=...&user=NAME sign NAME in without a password "
        "(a test shortcut: anyone reaching the IdP can then sign in as anyone)",
    )
    parser.add_argument(
        "--demo-users",
        type=int,
        default=3,
        metavar="N",
        help="seed N demo users (default 3; 0 for none)",
    )


def _signing_key(args: argparse.Namespace) -> KeyPair:
    from .keystore import load_or_create

    if bool(args.key) != bool(args.cert):
        raise ConfigError("--key and --cert go together")
    try:
        if args.key:
            return load_key_pair(args.key.read_bytes(), args.cert.read_bytes())
        name = "signing" if args.key_type == "rsa" else "signing-ec"
        return load_or_create(data_dir() / "mock-idp", name, key_type=args.key_type)
    except (OSError, KeyLoadError) as exc:
        raise ConfigError(f"signing key: {exc}") from exc


def _api_token(value: str | None) -> str | None:
    if value == "auto":
        return secrets.token_urlsafe(24)
    if value is not None and (len(value) < 8 or not value.isprintable() or " " in value):
        raise ConfigError("--api-token needs at least 8 printable characters, no spaces")
    return value


def build(args: argparse.Namespace) -> tuple[MockIdP, Starlette]:
    """The configured MockIdP and its app (separate from serving, for tests)."""
    from .app import create_app
    from .demo import seed_demo_directory
    from .idp import MockIdP

    unknown = [name for name in args.flaw if name not in FLAWS_BY_NAME]
    if unknown:
        raise ConfigError(
            f"unknown flaw(s): {name_unknown(unknown)} (see `sso-harness list flaws`)"
        )
    url = args.base_url or base_url(args.host, args.port)
    try:
        extra = [load_certificate(path.read_bytes()) for path in args.extra_cert]
    except (OSError, KeyLoadError) as exc:
        raise ConfigError(f"--extra-cert: {exc}") from exc
    idp = MockIdP(
        url,
        signing_keys=[_signing_key(args)],
        preset=args.preset,
        flaws=args.flaw,
        seed=args.seed,
        extra_certificates=extra,
        want_authn_requests_signed=args.want_signed_requests,
        allow_passwordless_idp_init=args.allow_passwordless_idp_init,
        api_token=_api_token(args.api_token),
        provision_allowed_hosts=args.allow_provision_to,
    )
    for source in args.sp_metadata:
        try:
            idp.register_sp_metadata(read_source(source, "SP metadata"))
        except MetadataError as exc:
            raise ConfigError(f"SP metadata {source}: {exc.message} [{exc.rule}]") from exc
    if args.demo_users:
        seed_demo_directory(
            idp.directory, args.demo_users, args.seed if args.seed is not None else 0
        )
    return idp, create_app(idp)


def run(args: argparse.Namespace) -> int:
    return run_on_socket("idp", args, lambda sock: _serve(args, sock))


def _serve(args: argparse.Namespace, sock: socket.socket) -> int:
    idp, app = build(argparse.Namespace(**{**vars(args), "port": bound_port(sock)}))
    print(f"mock IdP      {idp.base_url}")
    print(f"entityID      {idp.entity_id}")
    print(f"metadata      {idp.entity_id}")
    print(f"preset        {idp.preset.name}; flaws: {', '.join(sorted(idp.flaws)) or 'none'}")
    for sp in idp.sps.values():
        print(f"trusts SP     {sp.entity_id}")
    if idp.api_token is not None:
        print(f"api token     {idp.api_token}   (Authorization: Bearer on /api/)")
    if idp.allow_passwordless_idp_init:
        print("idp-init      passwordless (?user=NAME signs NAME in without a password)")
    for user in idp.directory.users()[:5]:
        print(f"demo login    {user.user_name} / {user.password}  groups={user.groups}")
    sys.stdout.flush()
    return serve_app(app, sock)
