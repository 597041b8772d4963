"""Listening sockets for the servers (``sso-harness sp``, ``idp``, ``serve``), bound before
anything is printed, so a busy port is one line and exit 2, not a ready banner and a traceback.

Created with ``IPPROTO_TCP`` named: asyncio sets TCP_NODELAY only on sockets whose protocol it
recognises, and without it every small response would wait for a delayed ACK.
"""

from __future__ import annotations

import socket


class ListenError(OSError):
    """The port cannot be listened on; the message is one line for the user."""


def listening_socket(host: str, port: int, what: str = "") -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        whose = f" for the {what}" if what else ""
        raise ListenError(f"cannot listen on {host}:{port}{whose}: {exc.strerror}") from None
    sock.listen(128)
    return sock
