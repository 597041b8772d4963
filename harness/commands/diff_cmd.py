"""``sso-harness diff A B``: two SAML messages compared by what they mean, not by their bytes.

Each side is anything ``decode`` reads (XML, base64, a URL, a form body, a HAR file, a
SAML-tracer export); ``FILE#N`` picks the N-th message of a capture (default: its first
Response, else its first message). Both are read after canonicalisation: namespace prefixes,
attribute order, whitespace and IDs do not count; times count as durations from each message's
IssueInstant (a lifetime of +5m, not a clock); encrypted assertions are compared decrypted
(``--sp-key``). Compared: issuer, subject (value and format), status, destination, recipient,
InResponseTo (present or not), audiences, every validity window, session index, authentication
context, attributes (name, name format, values), signature placement and algorithms, encryption.

Exit status: 0 the two are equivalent; 1 they differ (the table says where); 2 an input cannot
be used (one line on stderr: what was found and what is missing); 3 the harness itself failed.
"""

from __future__ import annotations

import argparse
import os
import sys

from harness.captures import CapturedMessage
from harness.commands._message_input import (
    InputError,
    load_keys,
    read_messages,
    unusable,
)
from harness.commands._summary_view import encryption_text, short
from harness.exit_codes import ExitCode
from harness.protocol.keys import PrivateKey
from harness.protocol.refusal import Refusal
from harness.protocol.saml.summary import MessageSummary, relative, summarize
from harness.reporters._evidence import terminal_safe

Row = tuple[str, str, str]  # field, A's value, B's value
_WIDTH = 44


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for side in ("a", "b"):
        parser.add_argument(
            side,
            metavar=side.upper(),
            help="a message or capture ('-': stdin); FILE#N picks its N-th message",
        )
    parser.add_argument(
        "--sp-key",
        metavar="FILE",
        action="append",
        default=[],
        help="the SP's private key (PEM) to decrypt assertions; repeatable (one per SP)",
    )


def _split(name: str) -> tuple[str, int | None]:
    """``okta.har#2`` -> (``okta.har``, 2); a path that exists as given is never split."""
    path, hash_, number = name.rpartition("#")
    if not hash_ or os.path.exists(name) or not number.isdigit():
        return name, None
    return path, int(number)


def _pick(name: str) -> tuple[CapturedMessage, str]:
    path, number = _split(name)
    messages = read_messages(path)
    if number is not None:
        if not 1 <= number <= len(messages):
            raise InputError(f"{path} holds {len(messages)} SAML messages: #{number} is not one")
        return messages[number - 1], f"{path} #{number} of {len(messages)}"
    index = next((i for i, m in enumerate(messages) if m.kind == "Response"), 0)
    return messages[index], f"{path} #{index + 1} of {len(messages)}"


def _summary(message: CapturedMessage, keys: list[PrivateKey], label: str) -> MessageSummary:
    summary = summarize(message.xml, keys)
    if summary.encryption is not None and not summary.encryption.decrypted:
        given = "the key given does not decrypt it" if keys else "give --sp-key FILE"
        raise InputError(f"{label}: the assertion is encrypted: {given}")
    return summary


def _present(value: str | None) -> str:
    return "present" if value else "absent"


def _rows(summary: MessageSummary) -> dict[str, str]:
    """Each compared field as canonical text; absent fields are left out."""
    origin = summary.issue_instant
    rows: dict[str, str | None] = {
        "kind": summary.kind,
        "issuer": summary.issuer,
        "status": summary.status and " / ".join(map(short, summary.status.split(" / "))),
        "destination": summary.destination,
        "InResponseTo": _present(summary.in_response_to),
        "subject NameID": summary.name_id,
        "subject NameID format": summary.name_id_format and short(summary.name_id_format),
        "audiences": ", ".join(sorted(summary.audiences)),
        "recipient": ", ".join(sorted(summary.recipients)),
        "session index": _present(summary.session_index),
        "authn context": summary.authn_context_class and short(summary.authn_context_class),
        "signed": ", ".join(s.placement for s in summary.signatures) or "not signed",
        "encryption": encryption_text(summary) if summary.encryption else "none",
    }
    for signature in summary.signatures:
        rows[f"signature {signature.placement}"] = (
            f"{short(signature.algorithm)}, digest {short(signature.digest)}"
        )
    for window in summary.windows:
        rows[f"{window.where} NotBefore"] = relative(window.not_before, origin)
        rows[f"{window.where} NotOnOrAfter"] = relative(window.not_on_or_after, origin)
    for attribute in summary.attributes:
        name_format = short(attribute.name_format) if attribute.name_format else "no NameFormat"
        rows[f"attribute {attribute.name}"] = f"[{name_format}] {', '.join(attribute.values)}"
    return {name: value for name, value in rows.items() if value}


def compare(a: MessageSummary, b: MessageSummary) -> list[Row]:
    """Every field of either message, with both values ("(absent)" where one lacks it)."""
    rows_a, rows_b = _rows(a), _rows(b)
    names = list(rows_a) + [name for name in rows_b if name not in rows_a]
    return [(name, rows_a.get(name, "(absent)"), rows_b.get(name, "(absent)")) for name in names]


def _cell(text: str) -> str:
    return text if len(text) <= _WIDTH else text[: _WIDTH - 1] + "…"


def render(rows: list[Row], label_a: str, label_b: str) -> str:
    width = max(len(name) for name, _, _ in rows)
    lines = [f"A: {label_a}", f"B: {label_b}", ""]
    lines.append(f"{'':9} {'field':<{width}}  {'A':<{_WIDTH}}  B")
    for name, value_a, value_b in rows:
        if value_a == value_b:
            lines.append(f"{'same':9} {name:<{width}}  {_cell(value_a)}")
        else:
            lines.append(
                f"{'DIFFERENT':9} {name:<{width}}  {_cell(value_a):<{_WIDTH}}  {_cell(value_b)}"
            )
    differences = sum(1 for _, value_a, value_b in rows if value_a != value_b)
    lines += ["", f"{differences} difference(s)" if differences else "equivalent"]
    return terminal_safe("\n".join(lines))


def run(args: argparse.Namespace) -> int:
    try:
        keys = load_keys(args.sp_key)
        (message_a, label_a), (message_b, label_b) = _pick(args.a), _pick(args.b)
        summary_a = _summary(message_a, keys, "A")
        summary_b = _summary(message_b, keys, "B")
    except (InputError, Refusal) as exc:
        return unusable("diff", exc)
    rows = compare(summary_a, summary_b)
    print(render(rows, f"{label_a} ({message_a.kind})", f"{label_b} ({message_b.kind})"))
    sys.stdout.flush()
    return ExitCode.OK if all(a == b for _, a, b in rows) else ExitCode.CHECK_FAILED
