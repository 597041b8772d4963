"""IdP sessions: who signed in to this browser, when, and which SPs got an assertion (for SLO)."""

from __future__ import annotations

import datetime as dt
import secrets
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


class SessionStore:
    def __init__(self) -> None:
        self._sessions: dict[str, IdPSession] = {}

    def create(
        self, user_name: str, now: dt.datetime, session_index: str, lifetime: dt.timedelta
    ) -> IdPSession:
        # Cookie values are secrets, not part of any XML, so they come from the OS, not the rng.
        session = IdPSession(
            secrets.token_urlsafe(24), user_name, now, session_index, now + lifetime
        )
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None, now: dt.datetime) -> IdPSession | None:
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None or session.expires <= now:
            return None
        return session

    def all(self) -> list[IdPSession]:
        return list(self._sessions.values())

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
