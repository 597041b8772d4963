"""``sso-harness decode [FILE|-]``: a SAML message however it was pasted (raw XML, base64,
DEFLATE+base64, a query string or URL, an HTML form) printed indented, then what the core's
validation says of it.

Exit status: 0 the core accepts it, 1 it breaks a rule (named, with the requirement id), 2 it
could not be read or decoded at all (one line on stderr: hostile or garbled input never gets
a traceback), 3 the harness itself failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from harness.commands._saml_verdict import Context, NeedsKey, Verdict, judge
from harness.exit_codes import ExitCode
from harness.protocol.keys import KeyLoadError, load_certificate, load_private_key
from harness.protocol.refusal import Refusal
from harness.protocol.saml.decode import DecodedMessage, decode_message
from harness.protocol.xml import XMLSecurityError
from harness.reporters._evidence import indent_xml, terminal_safe

# A real message is a few kB; a base64 text of several MB is an attack or the wrong file.
MAX_INPUT_BYTES = 4_000_000


class _InputError(Exception):
    """The input or an option cannot be used; the message is the one line to print."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        nargs="?",
        default="-",
        metavar="FILE",
        help="the message: XML, base64, deflated base64, a query string or URL ('-': stdin)",
    )
    parser.add_argument(
        "--idp-cert",
        metavar="FILE",
        action="append",
        default=[],
        help="the IdP's signing certificate (PEM or DER) to trust; repeatable",
    )
    parser.add_argument(
        "--sp-key", metavar="FILE", help="the SP's private key (PEM), to decrypt an assertion"
    )
    parser.add_argument(
        "--now",
        metavar="INSTANT",
        help="judge times at this ISO 8601 instant, or 'now' (default: the message's IssueInstant)",
    )


def _read(name: str) -> bytes:
    if name == "-":
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
    else:
        try:
            with open(name, "rb") as source:
                data = source.read(MAX_INPUT_BYTES + 1)
        except OSError as exc:
            raise _InputError(f"cannot read {name}: {exc.strerror or exc}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise _InputError(f"the input is larger than {MAX_INPUT_BYTES} bytes")
    if not data.strip():
        raise _InputError("the input is empty")
    return data


def _instant(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    if text == "now":
        return dt.datetime.now(dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _InputError(f"--now {text!r} is not an ISO 8601 instant") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _context(args: argparse.Namespace) -> Context:
    try:
        trusted = [load_certificate(Path(name).read_bytes()) for name in args.idp_cert]
        keys = [load_private_key(Path(args.sp_key).read_bytes())] if args.sp_key else []
    except OSError as exc:
        raise _InputError(f"cannot read {exc.filename}: {exc.strerror}") from None
    except KeyLoadError as exc:
        raise _InputError(str(exc)) from None
    return Context(trusted=trusted, decryption_keys=keys, now=_instant(args.now))


def _show_message(message: DecodedMessage) -> str:
    lines = [f"# SAML {message.kind} ({message.encoding})"]
    if message.relay_state is not None:
        lines.append(f"# RelayState: {message.relay_state}")
    lines.append(indent_xml(message.xml) or message.xml.decode("utf-8", "replace"))
    return terminal_safe("\n".join(lines))


def _show_verdict(verdict: Verdict) -> str:
    lines = []
    if verdict.error is not None:
        error = verdict.error
        lines.append(f"REFUSED {error.reason} [{error.rule}]: {error.message}")
    else:
        lines.append("ACCEPTED by the core's validation")
    lines += [f"  {name}: {value}" for name, value in verdict.facts]
    lines += [f"  note: {caveat}" for caveat in verdict.caveats]
    return terminal_safe("\n".join(lines))


def run(args: argparse.Namespace) -> int:
    try:
        context = _context(args)
        message = decode_message(_read(args.file))
    except _InputError as exc:
        return _fail(str(exc))
    except Refusal as exc:
        return _fail(f"not a SAML message: {getattr(exc, 'message', exc)} [{exc.rule}]")
    try:
        verdict = judge(message, context)
    except NeedsKey as exc:
        print(_show_message(message))
        return _fail(str(exc))
    except XMLSecurityError as exc:
        return _fail(f"not a SAML message: {exc.message} [{exc.rule}]")
    except Exception as exc:  # our bug, not the input's fault: say so in one line
        print(
            f"sso-harness decode: internal error while judging the message: "
            f"{type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return ExitCode.HARNESS_ERROR
    print(_show_message(message))
    print(_show_verdict(verdict))
    return ExitCode.OK if verdict.accepted else ExitCode.CHECK_FAILED


def _fail(reason: str) -> int:
    one_line = " ".join(terminal_safe(reason).split())
    print(f"sso-harness decode: {one_line}", file=sys.stderr)
    return ExitCode.USAGE
