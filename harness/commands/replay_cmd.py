"""``sso-harness replay CAPTURE``: replay a captured SAMLResponse against an SP and show what
it answered (``harness.replay``); ``--scenario FILE`` writes the reproduction as a scenario
that ``sso-harness run`` runs.

Exit status: 0 the capture signed its user in, 1 the SP refused it (its reason and rule shown),
2 the capture or an option cannot be used (one line on stderr, never a traceback), 3 the
harness itself failed.
"""

from __future__ import annotations

import argparse
import base64
import re
import sys
from pathlib import Path

import yaml

from harness import captures
from harness.commands._message_input import InputError, read_input
from harness.exit_codes import ExitCode
from harness.replay import (
    DEFAULT_IDP_URL,
    PARTS,
    Capture,
    ReplayError,
    ReplayResult,
    decryption_keys,
    read_capture,
    replay,
)
from harness.reporters._evidence import terminal_safe


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "capture",
        metavar="CAPTURE",
        help="the SAMLResponse: XML, base64, a form body or a URL carrying it ('-': stdin)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--to", metavar="ACS_URL", help="the ACS of an SP laid out like `sp`")
    where.add_argument("--target", metavar="FILE.toml", help="the SP of a target file")
    parser.add_argument(
        "--keep",
        metavar="PART",
        action="append",
        default=[],
        choices=PARTS,
        help=f"leave a part as captured, on purpose (repeatable): {', '.join(PARTS)}",
    )
    parser.add_argument("--sp-key", metavar="FILE", help="the original SP's private key (PEM)")
    parser.add_argument(
        "--idp-url",
        default=DEFAULT_IDP_URL,
        help=f"with --to: the `sso-harness idp` the SP trusts (default {DEFAULT_IDP_URL})",
    )
    parser.add_argument(
        "--sp-flaw", metavar="NAME", action="append", default=[], help="a reference SP flaw"
    )
    parser.add_argument("--scenario", metavar="FILE", help="write the reproduction as a scenario")
    parser.add_argument(
        "--expect",
        choices=("signed-in", "refused"),
        default="signed-in",
        help="what the written scenario expects (default: signed-in, a regression test)",
    )
    parser.add_argument("--reason", help="with --expect refused: the SP's reason code expected")
    parser.add_argument("--show", action="store_true", help="print the Response as sent")


def _read(name: str) -> bytes:
    """The capture as ``decode`` reads it (a file or stdin, size-capped): from a HAR file or a
    SAML-tracer export, its first Response; anything else as the message itself."""
    try:
        data = read_input(name)
    except InputError as exc:
        raise ReplayError(str(exc).replace("the input", "the capture")) from None
    try:
        messages = captures.read_capture(data)
    except captures.CaptureError:
        return data  # not a capture decode can read: the replay's own reader says why
    response = next((m for m in messages if m.kind == "Response"), None)
    return response.xml if response is not None else data


def _ref(name_id: str | None) -> tuple[str, str]:
    """A scenario user ref and email domain standing for the capture's subject."""
    local, _, domain = (name_id or "user").partition("@")
    ref = re.sub(r"[^a-z0-9_-]", "-", local.lower()).strip("-") or "user"
    if not ref[0].isalpha():
        ref = "u" + ref
    return ref, (domain.lower() or "example.com")


def scenario_text(capture: Capture, keep: tuple[str, ...], expect: str, reason: str | None) -> str:
    """A scenario replaying ``capture`` as its given user: the capture inline, its assertion
    in clear (the scenario then needs no SP key) and re-encrypted as captured."""
    ref, domain = _ref(capture.shape.name_id)
    step: dict[str, object] = {
        "user": ref,
        "capture": base64.b64encode(capture.plain_xml()).decode("ascii"),
    }
    if keep:
        step["keep"] = list(keep)
    if capture.shape.encryption is not None:
        encryption = capture.shape.encryption
        step["encrypt"] = {"block": encryption.block, "transport": encryption.transport}
    step["expect"] = expect
    if reason and expect == "refused":
        step["reason"] = reason
    shape = capture.shape
    document = {
        "title": f"Replay of a captured response for {shape.name_id or 'its subject'}",
        "description": (
            f"Captured from {shape.issuer} ({shape.protection()}); NameID format "
            f"{shape.name_id_format}. Rewritten for the SP and re-signed by the mock IdP as "
            "captured."
        ),
        "tags": ["reproduction"],
        "given": {"organisation": {"email_domain": domain}, "users": [{"ref": ref}]},
        "steps": [{"provision": "initial"}, {"replay": step}],
    }
    return yaml.safe_dump(document, sort_keys=False, width=100)


def _show(result: ReplayResult, show_sent: bool) -> str:
    shape = result.capture
    lines = [
        f"capture: Response from {shape.issuer} for {shape.name_id} ({shape.name_id_format})",
        f"  audience {', '.join(shape.audiences) or 'none'}; {shape.protection()}",
        f"replayed to {result.acs_url} in response to {result.request_id or 'no request'}",
    ]
    if result.kept:
        lines.append(f"  kept as captured: {', '.join(result.kept)}")
    lines += [f"  note: {note}" for note in result.notes]
    answer = result.describe()
    lines.append(f"SP answer: HTTP {result.status}, {answer}")
    lines.append(f"signed in: {result.identity or 'nobody'}")
    if show_sent:
        lines.append(result.sent.decode("utf-8", "replace"))
    return terminal_safe("\n".join(lines))


def run(args: argparse.Namespace) -> int:
    try:
        key = Path(args.sp_key) if args.sp_key else None
        capture = read_capture(_read(args.capture), decryption_keys(key))
        result = replay(
            capture,
            to=args.to,
            target=args.target,
            keep=args.keep,
            idp_url=args.idp_url,
            sp_flaws=args.sp_flaw,
        )
    except ReplayError as exc:
        return _fail(str(exc))
    except Exception as exc:  # our bug, not the capture's fault: one line that says so
        print(f"sso-harness replay: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return ExitCode.HARNESS_ERROR
    print(_show(result, args.show))
    if args.scenario:
        kept = tuple(p for p in PARTS if p in args.keep)
        text = scenario_text(capture, kept, args.expect, args.reason or result.reason)
        Path(args.scenario).write_text(text)
        print(f"scenario written to {args.scenario} (expects {args.expect})")
    return ExitCode.OK if result.signed_in else ExitCode.CHECK_FAILED


def _fail(reason: str) -> int:
    one_line = " ".join(terminal_safe(reason).split())
    print(f"sso-harness replay: {one_line}", file=sys.stderr)
    return ExitCode.USAGE
