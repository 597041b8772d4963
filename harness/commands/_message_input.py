"""Reading what ``decode`` and ``diff`` are given: a file or stdin (bounded), keys, metadata from
a file or a URL, and the one-line refusal every bad input gets instead of a traceback."""

from __future__ import annotations

import sys

import httpx

from harness.captures import CapturedMessage, CaptureError, read_capture
from harness.exit_codes import ExitCode
from harness.protocol.keys import KeyLoadError, PrivateKey, load_private_key
from harness.protocol.refusal import Refusal
from harness.reporters._evidence import terminal_safe

# A real message is a few kB and a HAR file a few MB; more is an attack or the wrong file.
MAX_INPUT_BYTES = 20_000_000
MAX_METADATA_BYTES = 5_000_000


class InputError(Exception):
    """The input or an option cannot be used; the text is the one line to print."""


def read_input(name: str) -> bytes:
    if name == "-":
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
    else:
        try:
            with open(name, "rb") as source:
                data = source.read(MAX_INPUT_BYTES + 1)
        except OSError as exc:
            raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(f"the input is larger than {MAX_INPUT_BYTES} bytes")
    if not data.strip():
        raise InputError("the input is empty")
    return data


def read_messages(name: str) -> list[CapturedMessage]:
    try:
        return read_capture(read_input(name))
    except CaptureError as exc:
        where = "" if name == "-" else f"{name}: "
        raise InputError(f"{where}{exc}") from None


def read_document(location: str, what: str) -> bytes:
    """A metadata document from a file or an http(s) URL."""
    if not location.startswith(("http://", "https://")):
        return read_input(location)
    try:
        with httpx.stream("GET", location, timeout=10, follow_redirects=True) as response:
            if response.status_code != 200:
                raise InputError(f"{what} {location} answered HTTP {response.status_code}")
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_METADATA_BYTES:
                    raise InputError(f"{what} {location} is larger than {MAX_METADATA_BYTES} bytes")
            return body
    except httpx.HTTPError as exc:
        raise InputError(f"cannot fetch {what} {location}: {exc}") from None


def load_keys(names: list[str]) -> list[PrivateKey]:
    keys = []
    for name in names:
        try:
            keys.append(load_private_key(read_input(name)))
        except KeyLoadError as exc:
            raise InputError(f"{name}: {exc}") from None
    return keys


def fail(command: str, reason: str) -> None:
    one_line = " ".join(terminal_safe(reason).split())
    print(f"sso-harness {command}: {one_line}", file=sys.stderr)


def unusable(command: str, exc: InputError | Refusal) -> int:
    """Say in one line why the input cannot be used; the exit status for it."""
    if isinstance(exc, Refusal):
        fail(command, f"not a SAML message: {exc.message} [{exc.rule}]")
    else:
        fail(command, str(exc))
    return ExitCode.USAGE
