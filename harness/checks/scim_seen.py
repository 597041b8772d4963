"""What the scim_conformance suite saw at a SCIM server: the exchanges a probe made (request and
answer, as evidence) and what the probe asked for (``want``: the ids a filter must return, the
statuses it expects). The judges of :mod:`harness.checks.scim_judges` read nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_SHOWN = 4_000  # characters of a body kept as evidence


@dataclass(frozen=True)
class Exchange:
    """One request and its answer; ``status`` 0 when no answer came (timeout, reset)."""

    method: str
    url: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # the answer's JSON, or its text when it is not JSON
    sent: Any = None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)

    def resources(self) -> list[dict[str, Any]]:
        found = self.body.get("Resources") if isinstance(self.body, dict) else None
        return [r for r in found if isinstance(r, dict)] if isinstance(found, list) else []

    def ids(self) -> list[str]:
        return [str(r.get("id")) for r in self.resources()]

    def evidence(self) -> dict[str, Any]:
        shown = {"request": f"{self.method} {self.url}", "status": self.status}
        if self.sent is not None:
            shown["sent"] = _short(self.sent)
        if self.body is not None:
            shown["answer"] = _short(self.body)
        return shown


def _short(value: Any) -> Any:
    text = value if isinstance(value, str) else repr(value)
    return value if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "..."


@dataclass(frozen=True)
class ScimSeen:
    calls: tuple[Exchange, ...]
    want: dict[str, Any] = field(default_factory=dict)

    @property
    def last(self) -> Exchange:
        return self.calls[-1]

    def evidence(self) -> dict[str, Any]:
        return {"exchanges": [c.evidence() for c in self.calls]}
