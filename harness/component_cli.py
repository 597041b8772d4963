"""What the command lines of the two components share (``sso-harness sp``, ``sso-harness idp``):
the listen options, a peer's metadata read from a URL or a file, the socket bound before
anything is printed, a configuration error as one line on stderr and exit status 2, and serving
the app with uvicorn on that socket.

The mock IdP and the reference SP may import this module (import-linter): it pulls in nothing
of the engine.
"""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.exit_codes import ExitCode
from harness.sockets import ListenError, listening_socket


class ConfigError(ValueError):
    """A configuration that cannot work: the command prints this one line and exits 2."""


def add_listen_arguments(parser: argparse.ArgumentParser, *, default_port: int) -> None:
    """``--host``, ``--port`` and ``--base-url`` (CONTRACT, "Commands")."""
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=default_port,
        help=f"port to listen on (default {default_port}; 0 for any free one)",
    )
    parser.add_argument(
        "--base-url",
        default=None,
        help="public base URL when behind a proxy (default http://HOST:PORT); the entityID is "
        "BASE/saml/metadata",
    )


def base_url(host: str, port: int) -> str:
    """``http://HOST:PORT``, an IPv6 address in brackets."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def read_source(source: str, what: str) -> bytes:
    """The bytes of a URL (``http://``, ``https://``) or a file, e.g. a peer's metadata."""
    if source.startswith(("http://", "https://")):
        import httpx

        try:
            response = httpx.get(source, timeout=10.0, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise ConfigError(f"cannot fetch {what} {source}: {exc}") from exc
        return response.content
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {source}: {exc.strerror}") from exc


def refuse(command: str, reason: object) -> ExitCode:
    """Print why ``sso-harness COMMAND`` cannot start, in one line; the exit status to return."""
    print(f"sso-harness {command}: {reason}", file=sys.stderr)
    return ExitCode.USAGE


def run_on_socket(
    command: str, args: argparse.Namespace, serve: Callable[[socket.socket], int]
) -> int:
    """Bind ``--host``/``--port`` (a busy port is one line and exit 2, before any banner), then
    ``serve`` on that socket; a ConfigError it raises is one line and exit 2 as well."""
    try:
        sock = listening_socket(args.host, args.port)
    except ListenError as exc:
        return refuse(command, exc)
    try:
        return serve(sock)
    except ConfigError as exc:
        return refuse(command, exc)
    finally:
        sock.close()


def bound_port(sock: socket.socket) -> int:
    """The port actually bound: ``--port 0`` asks for any free one, and URLs must name it."""
    port: int = sock.getsockname()[1]
    return port


def serve_app(app: Any, sock: socket.socket, log_level: str = "warning") -> ExitCode:
    """Serve ``app`` on ``sock`` until interrupted; access lines only at info and debug."""
    import uvicorn

    config = uvicorn.Config(app, log_level=log_level, access_log=log_level in ("info", "debug"))
    uvicorn.Server(config).run(sockets=[sock])
    return ExitCode.OK
