"""When an IdP retries a request within the cycle, and how long it waits first."""

from __future__ import annotations

from dataclasses import dataclass

from .model import ScimReply


@dataclass(frozen=True)
class RetryPolicy:
    """Retry on ``statuses`` (and on no answer when ``on_transport_error``), at most
    ``max_retries`` times, waiting ``base_delay * 2**attempt`` seconds (exponential backoff)
    or the SP's Retry-After when it asks for longer (``honour_retry_after``), never more than
    ``max_delay``. Whatever is still failing afterwards waits for the next cycle."""

    statuses: frozenset[int] = frozenset()
    max_retries: int = 0
    base_delay: float = 1.0
    max_delay: float = 300.0
    honour_retry_after: bool = True
    on_transport_error: bool = False

    def delay(self, reply: ScimReply, attempt: int) -> float | None:
        """Seconds to wait before retry number ``attempt + 1``, or None to give up."""
        if attempt >= self.max_retries:
            return None
        retryable = reply.status in self.statuses or (reply.status == 0 and self.on_transport_error)
        if not retryable:
            return None
        wait: float = self.base_delay * (2**attempt)
        if self.honour_retry_after and reply.retry_after is not None:
            wait = max(wait, reply.retry_after)
        return min(wait, self.max_delay)


NO_RETRY = RetryPolicy()
