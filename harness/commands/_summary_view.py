"""A message summary as lines for the terminal: what ``decode`` prints under each message."""

from __future__ import annotations

import datetime as dt

from harness.captures import CapturedMessage
from harness.protocol.saml.summary import MessageSummary, Window, relative


def short(uri: str | None) -> str:
    """An algorithm or format URI by its last part (``...#rsa-sha256`` -> ``rsa-sha256``)."""
    if not uri:
        return "-"
    return uri.rsplit("#", 1)[-1].rsplit(":", 1)[-1]


def _window(window: Window, now: dt.datetime) -> str:
    start = window.not_before.isoformat() if window.not_before else "(no start)"
    end = window.not_on_or_after.isoformat() if window.not_on_or_after else "(no end)"
    if window.not_before is not None and now < window.not_before:
        wait = (relative(window.not_before, now) or "").lstrip("+")
        state = f"NOT YET VALID at {now.isoformat()}: starts in {wait}"
    elif window.not_on_or_after is not None and now >= window.not_on_or_after:
        ago = (relative(window.not_on_or_after, now) or "").lstrip("-")
        state = f"EXPIRED at {now.isoformat()}: ended {ago} ago"
    else:
        state = f"valid at {now.isoformat()}"
    return f"{start} .. {end} ({state})"


def signature_text(summary: MessageSummary) -> str:
    if not summary.signatures:
        return "none"
    return "; ".join(
        f"{s.placement} ({short(s.algorithm)}, digest {short(s.digest)})"
        for s in summary.signatures
    )


def encryption_text(summary: MessageSummary) -> str:
    if summary.encryption is None:
        return "none"
    encryption = summary.encryption
    state = "decrypted" if encryption.decrypted else "NOT decrypted: give --sp-key"
    return (
        f"EncryptedAssertion ({short(encryption.block_algorithm)}, key transport "
        f"{short(encryption.key_transport)}; {state})"
    )


def subject_text(summary: MessageSummary) -> str | None:
    if summary.name_id is None:
        return None
    return f"{summary.name_id} (Format {summary.name_id_format or 'none'})"


def summary_lines(summary: MessageSummary, message: CapturedMessage, now: dt.datetime) -> list[str]:
    rows: list[tuple[str, str | None]] = [
        ("kind", summary.kind),
        ("ID", summary.id),
        ("IssueInstant", summary.issue_instant.isoformat() if summary.issue_instant else None),
        ("issuer", summary.issuer),
        ("destination", summary.destination),
        ("InResponseTo", summary.in_response_to),
        ("status", summary.status),
        ("ACS URL", summary.acs_url),
        ("NameIDPolicy", summary.name_id_policy),
        ("subject", subject_text(summary)),
        ("audience", ", ".join(summary.audiences) or None),
        ("recipient", ", ".join(summary.recipients) or None),
        *((f"valid ({w.where})", _window(w, now)) for w in summary.windows),
        ("session index", summary.session_index),
        ("authn context", summary.authn_context_class),
        ("signature", signature_text(summary)),
    ]
    if message.raw_query is not None and "Signature=" in message.raw_query:
        rows.append(("query signature", "SigAlg and Signature in the URL (HTTP-Redirect)"))
    rows.append(("encryption", encryption_text(summary)))
    lines = ["summary:"]
    lines += [f"  {name + ':':<16} {value}" for name, value in rows if value is not None]
    if summary.attributes:
        lines.append(f"  attributes ({len(summary.attributes)}):")
    for attribute in summary.attributes:
        name_format = f" [{short(attribute.name_format)}]" if attribute.name_format else ""
        lines.append(
            f"    {attribute.name}{name_format} = {', '.join(attribute.values) or '(empty)'}"
        )
    return lines
