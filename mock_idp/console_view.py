"""What the console shows of a journal entry: the message pretty, the assertion as it was before
encryption, the journal's own verdict in one line, and a line diff against the previous exchange
of the same kind with IDs, instants and signature values normalised."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from lxml import etree

from harness.protocol.refusal import Refusal
from harness.protocol.xml import parse_xml, to_bytes

from .journal import Journal, JournalEntry

MAX_SHOWN_CHARS = 200_000  # a page shows this much of one message; the API has it all
MAX_DIFF_LINES = 2_000

_ID = re.compile(r'\b(ID|InResponseTo|Reference URI)="#?_?[0-9A-Za-z_.-]+"')
_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
_BASE64 = re.compile(
    r"(<(?:\w+:)?(?:SignatureValue|DigestValue|CipherValue|X509Certificate)\b[^>]*>)[^<]+"
)


def pretty_xml(xml: str | None) -> str:
    """``xml`` indented for reading (blank-text nodes dropped); as given if it does not parse."""
    if not xml:
        return ""
    shown = xml[:MAX_SHOWN_CHARS]
    try:
        root = parse_xml(shown.encode("utf-8"))
    except (Refusal, ValueError):
        return shown
    for element in root.iter():
        if len(element) and element.text is not None and not element.text.strip():
            element.text = None
        if element.tail is not None and not element.tail.strip():
            element.tail = None
    etree.indent(root, space="  ")
    return to_bytes(root, pretty=True).decode("utf-8")


def normalised(pretty: str) -> list[str]:
    """The lines of a pretty message with what differs in every exchange replaced by a token."""
    text = _ID.sub(lambda m: f'{m.group(1)}="(id)"', pretty)
    text = _INSTANT.sub("(instant)", text)
    text = _BASE64.sub(lambda m: f"{m.group(1)}(base64)", text)
    return text.splitlines()


def line_diff(before: str, after: str, before_name: str, after_name: str) -> list[str]:
    """A unified diff of two pretty messages after normalisation (empty when they agree)."""
    lines = difflib.unified_diff(
        normalised(before), normalised(after), before_name, after_name, lineterm="", n=2
    )
    return list(lines)[:MAX_DIFF_LINES]


def previous_of(journal: Journal, entry: JournalEntry) -> JournalEntry | None:
    """The latest earlier entry of the same kind and direction that carries a message."""
    earlier = [
        e
        for e in journal.entries(kind=entry.kind, direction=entry.direction)
        if e.seq < entry.seq and e.xml
    ]
    return earlier[-1] if earlier else None


def verdict_line(entry: JournalEntry) -> str:
    """The journal's own verdict in a few words: what the IdP refused or broke."""
    if entry.error:
        return f"refused: {entry.error.get('reason', '')}"
    failed = [v for v in entry.verdicts if v.outcome == "fail"]
    if entry.kind == "Response":
        if entry.mutators:
            return "broken on purpose: " + ", ".join(entry.mutators)
        return "well-formed response" if not failed else f"{len(failed)} rule(s) broken"
    if failed:
        return "refused: " + ", ".join(v.check for v in failed)
    return "accepted" if entry.direction == "in" else "sent"


@dataclass(frozen=True)
class EntryView:
    entry: JournalEntry
    verdict: str
    message: str  # the message, pretty
    clear_assertion: str  # the assertion before encryption, pretty ("" when not encrypted)
    previous: JournalEntry | None
    diff: list[str]


def _shown(entry: JournalEntry) -> tuple[str, str]:
    clear = str(entry.details.get("assertion_before_encryption") or "")
    return pretty_xml(entry.xml), pretty_xml(clear)


def entry_view(journal: Journal, entry: JournalEntry) -> EntryView:
    """The entry as the console shows it, diffed (message and clear assertion together)."""
    message, clear = _shown(entry)
    previous = previous_of(journal, entry)
    diff: list[str] = []
    if previous is not None:
        before = "\n".join(_shown(previous))
        diff = line_diff(before, f"{message}\n{clear}", f"#{previous.seq}", f"#{entry.seq}")
    return EntryView(entry, verdict_line(entry), message, clear, previous, diff)
