"""The journal: every SAML message received and sent, decoded, with the verdicts on it."""

from __future__ import annotations

import datetime as dt
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import takewhile


@dataclass(frozen=True)
class Verdict:
    """One judgement on a message: ``outcome`` is pass, fail or warn; ``rule`` the clause."""

    check: str
    outcome: str
    rule: str
    message: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "check": self.check,
            "outcome": self.outcome,
            "rule": self.rule,
            "message": self.message,
        }


@dataclass(frozen=True)
class JournalEntry:
    seq: int
    time: dt.datetime
    direction: str  # "in" (received) or "out" (sent)
    # AuthnRequest, Response, LogoutRequest, LogoutResponse, Error, or LogoutSkipped (an SP
    # of the session that could not be told of a logout: nothing was sent to it)
    kind: str
    binding: str | None
    sp: str | None
    xml: str | None
    message_id: str | None = None
    in_response_to: str | None = None
    relay_state: str | None = None
    user: str | None = None
    verdicts: tuple[Verdict, ...] = ()
    mutators: tuple[str, ...] = ()
    error: dict[str, str] | None = None
    details: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "direction": self.direction,
            "kind": self.kind,
            "binding": self.binding,
            "sp": self.sp,
            "message_id": self.message_id,
            "in_response_to": self.in_response_to,
            "relay_state": self.relay_state,
            "user": self.user,
            "verdicts": [v.to_json() for v in self.verdicts],
            "mutators": list(self.mutators),
            "error": self.error,
            "details": self.details,
            "xml": self.xml,
        }


MAX_ENTRIES = 10_000
MAX_XML_CHARS = 64_000_000  # the messages kept, in all: a few hundred large ones, or many small


def _size(entry: JournalEntry) -> int:
    clear = entry.details.get("assertion_before_encryption")
    return len(entry.xml or "") + len(entry.relay_state or "") + len(str(clear or ""))


class Journal:
    """The newest entries, bounded both in number and in the size of the messages they hold
    (a client can send large messages; the oldest entries give way)."""

    def __init__(self, limit: int = MAX_ENTRIES, max_chars: int = MAX_XML_CHARS) -> None:
        self._entries: deque[JournalEntry] = deque()
        self._seq = 0
        self._limit = limit
        self._max_chars = max_chars
        self._chars = 0
        # Messages recorded since the start, by direction and kind: the entries give way, these
        # stay (a load run divides the IdP's CPU by the responses it issued).
        self._counts: Counter[tuple[str, str]] = Counter()

    def record(self, **fields: object) -> JournalEntry:
        self._seq += 1
        entry = JournalEntry(seq=self._seq, **fields)  # type: ignore[arg-type]
        self._counts[(entry.direction, entry.kind)] += 1
        self._entries.append(entry)
        self._chars += _size(entry)
        while len(self._entries) > 1 and (
            len(self._entries) > self._limit or self._chars > self._max_chars
        ):
            self._chars -= _size(self._entries.popleft())
        return entry

    def entries(
        self,
        *,
        kind: str | None = None,
        direction: str | None = None,
        sp: str | None = None,
        since: int = 0,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        # Entries are kept in seq order: those after ``since`` are read from the newest back,
        # so a reader that follows the journal pays for what is new, not for all it holds.
        newer: Iterable[JournalEntry] = self._entries
        if since:
            newer = list(takewhile(lambda e: e.seq > since, reversed(self._entries)))[::-1]
        selected: Iterable[JournalEntry] = (
            e
            for e in newer
            if (kind is None or e.kind == kind)
            and (direction is None or e.direction == direction)
            and (sp is None or e.sp == sp)
        )
        result = list(selected)
        return result[-limit:] if limit else result

    def last(self, kind: str | None = None) -> JournalEntry | None:
        return next((e for e in reversed(self._entries) if kind in (None, e.kind)), None)

    def counts(self) -> dict[str, dict[str, int]]:
        """``{"in": {kind: n}, "out": {kind: n}}``: every message recorded since the start,
        whether or not its entry is still kept (``clear`` forgets entries, not counts)."""
        found: dict[str, dict[str, int]] = {"in": {}, "out": {}}
        for (direction, kind), count in sorted(self._counts.items()):
            found.setdefault(direction, {})[kind] = count
        return found

    def clear(self) -> None:
        self._entries.clear()
        self._chars = 0
