"""``sso-harness sp``: serve the reference SP."""

from __future__ import annotations

import argparse
import sys

from reference_sp.app import DEFAULT_ORGANIZATION, ReferenceSP, Settings
from reference_sp.orgs import new_token


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8001, help="port to listen on (8001)")
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
        "--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"]
    )


def run(args: argparse.Namespace) -> int:
    import uvicorn
    from sqlalchemy.exc import SQLAlchemyError

    try:
        sp = ReferenceSP(Settings(db_url=args.db))
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        print(f"sso-harness sp: cannot open the database {args.db!r}: {exc}", file=sys.stderr)
        return 2
    token = args.scim_token or new_token()
    sp.add_organization(DEFAULT_ORGANIZATION, token)
    base = f"http://{args.host}:{args.port}"
    print(f"reference SP   {base}/")
    print(f"SCIM endpoint  {base}/scim/v2   (Authorization: Bearer {token})", flush=True)
    try:
        uvicorn.run(
            sp.app,
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            access_log=args.log_level in ("info", "debug"),
        )
    except OSError as exc:
        print(f"sso-harness sp: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    return 0
