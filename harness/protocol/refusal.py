"""The one root of every refusal: a peer's input broke a rule.

A refusal carries the same four things wherever it is raised (the SAML core, the XML parser,
the SCIM server, the mock IdP, the reference SP): ``reason``, a stable machine code
(``bad-signature``, ``unknown-acs``...); ``message``, one sentence for a person; ``rule``, the
id of the requirement broken (see :mod:`harness.protocol.requirements`); and ``status``, the
HTTP status a server answers it with (a hint each class sets once, a call site may sharpen).
Servers render every refusal through :meth:`Refusal.to_json`, so readers look at one key,
``reason``.
"""

from __future__ import annotations

from typing import Any


class Refusal(Exception):  # noqa: N818 - the outcome's name, the root of *Error classes
    """A peer's input was refused; the common root of every refusal in the project."""

    status: int = 400

    def __init__(self, reason: str, message: str, rule: str, *, status: int | None = None) -> None:
        super().__init__(f"{reason}: {message} [{rule}]")
        self.reason = reason
        self.message = message
        self.rule = rule
        if status is not None:
            self.status = status

    def with_status(self, status: int) -> Refusal:
        """The same refusal, answered with another HTTP status (the server's choice)."""
        # Not copy.copy: an exception copies through __reduce__, which calls __init__ with
        # ``self.args`` (the one formatted sentence), not with the refusal's own arguments.
        other = type(self).__new__(type(self), *self.args)
        other.__dict__.update(self.__dict__)
        other.status = status
        return other

    def to_json(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "rule": self.rule,
            "message": self.message,
            "status": self.status,
        }
