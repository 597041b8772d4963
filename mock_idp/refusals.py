"""Every refusal the mock IdP answers with, on the project's one root (:class:`Refusal`).

A refusal names its reason code, a sentence, the rule and (as a class-level hint a call site
may sharpen with ``status=``) the HTTP status. Pages and the control API render all of them
through :meth:`Refusal.to_json`, so a reader looks at one key, ``reason``.
"""

from __future__ import annotations

from typing import Any

from harness.protocol.refusal import Refusal

LOGIN_RULE = "IDP-LOGIN"  # a browser step of the IdP's own login, not a SAML rule
API_RULE = "IDP-API"  # a control-API call the IdP cannot carry out as asked
HTTP_RULE = "RFC9110"  # a request for no resource, or with a method it does not allow
BODY_RULE = "HTTP-BODY"


class IdPError(Refusal):
    """The IdP refuses a SAML request or a browser step (an error page, never an ACS post)."""


class LoginError(Refusal):
    """A sign-in was refused: an unknown user, a wrong password, a disabled account."""

    status = 401

    def __init__(self, reason: str, message: str, *, status: int | None = None) -> None:
        super().__init__(reason, message, LOGIN_RULE, status=status)


class APIError(Refusal):
    """The control API refuses a call; ``details`` lists the fields at fault, when known."""

    status = 422

    def __init__(
        self,
        reason: str,
        message: str,
        rule: str = API_RULE,
        *,
        status: int | None = None,
        details: object = None,
    ) -> None:
        super().__init__(reason, message, rule, status=status)
        self.details = details

    def to_json(self) -> dict[str, Any]:
        body = super().to_json()
        if self.details is not None:
            body["details"] = self.details
        return body


class AccessError(APIError):
    """A control-API call from a caller who may not make it (no token, another web site)."""

    status = 403


class BodyError(Refusal):
    """A body refused before or while it was read (too large, not JSON, too deep...)."""

    def __init__(
        self, reason: str, message: str, rule: str = BODY_RULE, *, status: int | None = None
    ) -> None:
        super().__init__(reason, message, rule, status=status)


class DirectoryError(APIError):
    """A directory change that cannot be made (no such user, a name already taken...)."""

    status = 400


class ProvisioningError(APIError):
    """Provisioning cannot run: no target, or a bad setting (a one-line reason)."""

    status = 409

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__("provisioning", message, status=status)


class PlanFullError(APIError):
    """The plan or the rule list is at its cap."""

    status = 409

    def __init__(self, message: str) -> None:
        super().__init__("full", message)


class UnsafePatternError(APIError):
    """A ``re:`` rule pattern refused because matching it could take super-linear time."""

    status = 422

    def __init__(self, message: str) -> None:
        super().__init__("unsafe-pattern", message)
