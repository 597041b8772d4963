"""IdP sessions: who signed in to this browser, when, and which SPs got an assertion (for SLO)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field


@dataclass
class Participant:
    """An SP that received an assertion in this session, with what SLO must name."""

    sp_entity_id: str
    name_id: str
    name_id_format: str


@dataclass
class IdPSession:
    id: str
    user_name: str
    authn_instant: dt.datetime
    session_index: str
    expires: dt.datetime
    participants: dict[str, Participant] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "userName": self.user_name,
            "authn_instant": self.authn_instant.isoformat().replace("+00:00", "Z"),
            "session_index": self.session_index,
            "expires": self.expires.isoformat().replace("+00:00", "Z"),
            "sps": sorted(self.participants),
        }


MAX_SESSIONS = 10_000


class SessionStore:
    """Sessions in creation order, pruned as they expire and capped at ``limit``: any client
    can open sessions, so the oldest give way rather than the IdP's memory."""

    def __init__(self, limit: int = MAX_SESSIONS) -> None:
        self._sessions: OrderedDict[str, IdPSession] = OrderedDict()
        self._limit = limit

    def create(
        self, user_name: str, now: dt.datetime, session_index: str, lifetime: dt.timedelta
    ) -> IdPSession:
        self.prune(now)
        # Cookie values are secrets, not part of any XML, so they come from the OS, not the rng.
        session = IdPSession(
            secrets.token_urlsafe(24), user_name, now, session_index, now + lifetime
        )
        self._sessions[session.id] = session
        while len(self._sessions) > self._limit:
            self._sessions.popitem(last=False)
        return session

    def prune(self, now: dt.datetime) -> int:
        """Drop expired sessions from the old end; returns how many went. Creation order is
        expiry order while the lifetime and clock stay put, so this is amortised O(1); a
        session left behind by a clock change goes when its turn at the old end comes."""
        dropped = 0
        while self._sessions:
            oldest = next(iter(self._sessions.values()))
            if oldest.expires > now:
                break
            self._sessions.popitem(last=False)
            dropped += 1
        return dropped

    def get(self, session_id: str | None, now: dt.datetime) -> IdPSession | None:
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None or session.expires <= now:
            return None
        return session

    def all(self) -> list[IdPSession]:
        return list(self._sessions.values())

    def __len__(self) -> int:
        return len(self._sessions)

    def find(
        self, sp_entity_id: str, name_id: str, session_indexes: tuple[str, ...]
    ) -> list[IdPSession]:
        found = []
        for session in self._sessions.values():
            participant = session.participants.get(sp_entity_id)
            if participant is None or participant.name_id != name_id:
                continue
            if session_indexes and session.session_index not in session_indexes:
                continue
            found.append(session)
        return found

    def end(self, session_id: str) -> IdPSession | None:
        return self._sessions.pop(session_id, None)

    def end_user(self, user_name: str) -> int:
        ended = [s for s in self._sessions.values() if s.user_name.lower() == user_name.lower()]
        for session in ended:
            del self._sessions[session.id]
        return len(ended)

    def clear(self) -> None:
        self._sessions.clear()
