"""``sso-harness decode [FILE|-]``: every SAML message in what was captured (raw XML, base64,
DEFLATE+base64, a URL or query string, a form body, an HTML form, a browser's HAR file, a
SAML-tracer export), each printed indented, its assertion decrypted when ``--sp-key`` is given,
with a summary of what it says and the reference SP's verdict on it.

The verdict is judged against what is given of the SP (``--sp-metadata``, or ``--audience`` and
``--acs``) and of the IdP (``--idp-metadata`` or ``--idp-cert``), at ``--at TIME`` or now:

- ``ACCEPTED``: the reference SP's rules accept it, every expectation given;
- ``REFUSED reason [rule]``: the reference SP refuses it, with its reason code and rule;
- ``NOT JUDGED against an SP``: no rule judged was broken, but what was not given was taken from
  the message itself, and the lines ``...: not judged (give ...)`` name it;
- ``VALID``: a request or logout message the core reads, its signatures verified.

Exit status: 0 accepted, valid or not judged (no rule broken); 1 refused; 2 the input or an
option cannot be used, or the message needs what was not given to be judged at all (the key of
an encrypted assertion, a certificate for a signature): one line on stderr, never a traceback;
3 the harness itself failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from typing import TypeVar

from cryptography import x509

from harness.captures import CapturedMessage
from harness.commands._message_input import (
    InputError,
    fail,
    load_keys,
    read_document,
    read_input,
    read_messages,
    unusable,
)
from harness.commands._saml_verdict import CannotJudge, Expectations, Verdict, judge
from harness.commands._summary_view import summary_lines
from harness.exit_codes import ExitCode
from harness.protocol.keys import KeyLoadError, PrivateKey, load_certificate
from harness.protocol.refusal import Refusal
from harness.protocol.saml.metadata import (
    IdPMetadata,
    SPMetadata,
    parse_idp_metadata_all,
    parse_sp_metadata_all,
)
from harness.protocol.saml.summary import MessageSummary, summarize
from harness.reporters._evidence import indent_xml, terminal_safe

M = TypeVar("M")
_HEADLINES = {
    "accepted": "ACCEPTED by the reference SP's rules",
    "not-judged": "NOT JUDGED against an SP: no rule judged was broken, but",
    "valid": "VALID",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        nargs="?",
        default="-",
        metavar="FILE",
        help="the message or capture: XML, base64, a URL, a form body, a HAR file or a "
        "SAML-tracer export ('-': stdin)",
    )
    parser.add_argument(
        "--sp-key",
        metavar="FILE",
        action="append",
        default=[],
        help="the SP's private key (PEM), to decrypt assertions; repeatable",
    )
    parser.add_argument(
        "--idp-metadata",
        metavar="FILE_OR_URL",
        help="the IdP's metadata: its entity ID and signing certificates",
    )
    parser.add_argument(
        "--idp-cert",
        metavar="FILE",
        action="append",
        default=[],
        help="an IdP signing certificate (PEM or DER) to trust; repeatable",
    )
    parser.add_argument(
        "--sp-metadata",
        metavar="FILE_OR_URL",
        help="the SP's metadata: its entity ID (the audience), ACS URLs and "
        "the certificate of the requests it signs",
    )
    parser.add_argument("--audience", metavar="ENTITY_ID", help="the SP's entity ID")
    parser.add_argument(
        "--acs",
        metavar="URL",
        action="append",
        default=[],
        help="the SP's Assertion Consumer Service URL; repeatable",
    )
    parser.add_argument(
        "--request-id",
        metavar="ID",
        help="the ID of the AuthnRequest the SP sent (judges InResponseTo)",
    )
    parser.add_argument(
        "--at",
        "--now",
        dest="at",
        metavar="TIME",
        help="judge validity windows at this ISO 8601 instant (default: now)",
    )


def _instant(text: str | None) -> dt.datetime | None:
    if text is None or text == "now":
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--at {text!r} is not an ISO 8601 instant") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _parsed(location: str, parse: Callable[[bytes], list[M]], what: str) -> list[M]:
    try:
        return parse(read_document(location, what))
    except Refusal as exc:
        raise InputError(f"{location} is not {what}: {exc.message} [{exc.rule}]") from None


def _idp_metadata(location: str | None, issuer: str | None) -> IdPMetadata | None:
    if location is None:
        return None
    found = _parsed(location, parse_idp_metadata_all, "IdP metadata")
    return next((m for m in found if m.entity_id == issuer), found[0] if found else None)


def _sp_metadata(location: str | None, names: tuple[str | None, ...]) -> SPMetadata | None:
    if location is None:
        return None
    found = _parsed(location, parse_sp_metadata_all, "SP metadata")
    return next((m for m in found if m.entity_id in names), found[0] if found else None)


def _certificates(names: list[str]) -> list[x509.Certificate]:
    try:
        return [load_certificate(read_input(name)) for name in names]
    except KeyLoadError as exc:
        raise InputError(str(exc)) from None


def _expectations(
    args: argparse.Namespace, first: MessageSummary, keys: list[PrivateKey]
) -> Expectations:
    """What the options say of the SP and the IdP (the options themselves already checked)."""
    idp = _idp_metadata(args.idp_metadata, first.issuer)
    sp = _sp_metadata(args.sp_metadata, (*first.audiences, first.issuer))
    trusted = _certificates(args.idp_cert)
    acs_urls = tuple(args.acs)
    if not acs_urls and sp is not None:
        acs_urls = tuple(endpoint.location for endpoint in sp.acs_endpoints)
    return Expectations(
        sp_entity_id=args.audience or (sp.entity_id if sp else None),
        acs_urls=acs_urls,
        idp_entity_id=idp.entity_id if idp else None,
        idp_certificates=[*trusted, *(idp.signing_certificates if idp else ())],
        sp_certificates=sp.signing_certificates if sp else (),
        request_id=args.request_id,
        decryption_keys=keys,
        at=_instant(args.at),
    )


def _header(number: int, total: int, message: CapturedMessage) -> list[str]:
    how = f", {message.binding}" if message.binding else ""
    where = f" to {message.url}" if message.url else ""
    lines = [f"# {number}/{total} SAML {message.kind}{how}{where} ({message.source})"]
    if message.relay_state is not None:
        lines.append(f"# RelayState: {message.relay_state}")
    return lines


def _verdict_lines(verdict: Verdict) -> list[str]:
    if verdict.error is not None:
        error = verdict.error
        lines = [f"REFUSED {error.reason} [{error.rule}]: {error.message}"]
    else:
        lines = [_HEADLINES[verdict.outcome]]
    lines += [f"  signature: {line}" for line in verdict.signatures]
    lines += [f"  {line}" for line in verdict.not_judged]
    lines += [f"  note: {line}" for line in verdict.notes]
    return lines


def _show(
    number: int, total: int, message: CapturedMessage, summary: MessageSummary, expect: Expectations
) -> int:
    lines = _header(number, total, message)
    lines.append(indent_xml(message.xml) or message.xml.decode("utf-8", "replace"))
    if summary.assertion_xml is not None:
        lines += ["# the decrypted assertion", indent_xml(summary.assertion_xml) or ""]
    lines += summary_lines(summary, message, expect.at or dt.datetime.now(dt.UTC))
    try:
        verdict = judge(message, summary, expect)
    except CannotJudge as exc:
        print(terminal_safe("\n".join(lines)))
        fail("decode", f"message {number} ({message.source}): {exc}")
        return ExitCode.USAGE
    print(terminal_safe("\n".join([*lines, *_verdict_lines(verdict)])))
    return ExitCode.CHECK_FAILED if verdict.outcome == "refused" else ExitCode.OK


def run(args: argparse.Namespace) -> int:
    try:
        keys = load_keys(args.sp_key)
        _certificates(args.idp_cert), _instant(args.at)  # bad options first, then the input
        messages = read_messages(args.file)
        summaries = [summarize(m.xml, keys) for m in messages]
        expect = _expectations(args, summaries[0], keys)
    except (InputError, Refusal) as exc:
        return unusable("decode", exc)
    statuses = []
    for number, (message, summary) in enumerate(zip(messages, summaries, strict=True), 1):
        try:
            statuses.append(_show(number, len(messages), message, summary, expect))
        except Exception as exc:  # our bug, not the input's fault: say so in one line
            print(
                f"sso-harness decode: internal error while judging message {number}: "
                f"{type(exc).__name__}: {exc}",
                file=sys.stderr,
            )
            return ExitCode.HARNESS_ERROR
    if ExitCode.USAGE in statuses:
        return ExitCode.USAGE
    return max(statuses)
