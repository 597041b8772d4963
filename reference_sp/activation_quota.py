"""How many pending device activations each client may hold at once.

``POST /api/activations`` is unauthenticated by design (a desktop client has no session yet), so
a pending activation belongs to no organisation until a user confirms it through SSO: the
client's address is the only owner it has. Each client's pending activations are remembered
here, in memory, and recounted against the database only when the client reaches its quota
(activations confirmed meanwhile stop counting). The number of clients remembered is bounded
too: the least recently seen is forgotten first, and the global cap on pending rows (in the
route) still holds whatever is forgotten here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable


class PendingQuota:
    def __init__(self, per_client: int, max_clients: int = 10_000) -> None:
        self.per_client = per_client
        self.max_clients = max_clients
        # client -> {activation id: expiry (ISO 8601, so strings compare as times)}
        self._clients: OrderedDict[str, dict[str, str]] = OrderedDict()

    def admits(
        self, client: str, now: str, still_pending: Callable[[list[str]], Iterable[str]]
    ) -> bool:
        """Whether ``client`` may start one more; ``still_pending`` is asked (the database)
        which of the client's unexpired activations are still pending, only at the quota."""
        held = self._clients.get(client)
        if held is None:
            return True
        self._clients.move_to_end(client)
        for activation_id in [a for a, expires in held.items() if expires < now]:
            del held[activation_id]
        if len(held) >= self.per_client:
            pending = set(still_pending(list(held)))
            for activation_id in [a for a in held if a not in pending]:
                del held[activation_id]
        return len(held) < self.per_client

    def earliest_expiry(self, client: str) -> str | None:
        held = self._clients.get(client)
        return min(held.values()) if held else None

    def add(self, client: str, activation_id: str, expires: str) -> None:
        held = self._clients.setdefault(client, {})
        self._clients.move_to_end(client)
        held[activation_id] = expires
        while len(self._clients) > self.max_clients:
            self._clients.popitem(last=False)

    def __len__(self) -> int:
        return len(self._clients)
