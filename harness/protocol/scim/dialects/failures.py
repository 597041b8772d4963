"""Why a provisioning step failed, with whose fault it is."""

from __future__ import annotations

from typing import Any

from .model import ScimReply, ScimRequest


class ScimCallError(Exception):
    """The SP answered a request with something the dialect cannot go on from: a SCIM error
    (``status``, ``scim_type``, ``detail`` from the SP's error body), a body that is not JSON,
    or no answer (status 0)."""

    def __init__(
        self,
        request: ScimRequest,
        reply: ScimReply,
        message: str,
        *,
        scim_type: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.request = request
        self.reply = reply
        self.message = message
        self.scim_type = scim_type
        self.detail = detail

    @property
    def status(self) -> int:
        return self.reply.status

    @classmethod
    def from_reply(cls, request: ScimRequest, reply: ScimReply, wanted: str) -> ScimCallError:
        where = f"{request.method} {request.path}"
        if reply.status == 0:
            return cls(request, reply, f"{where}: no answer ({reply.transport_error})")
        if reply.garbage:
            return cls(request, reply, f"{where}: {reply.status} with a body that is not JSON")
        scim_type, detail = _scim_error(reply.body)
        text = f"{where}: the SP answered {reply.status}, expected {wanted}"
        if scim_type or detail:
            text += f" ({scim_type or 'no scimType'}: {detail or 'no detail'})"
        return cls(request, reply, text, scim_type=scim_type, detail=detail)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "scimType": self.scim_type,
            "detail": self.detail,
            "message": self.message,
            "transport_error": self.reply.transport_error,
        }


def _scim_error(body: Any) -> tuple[str | None, str | None]:
    if not isinstance(body, dict):
        return None, None
    scim_type = body.get("scimType")
    detail = body.get("detail")
    return (
        scim_type if isinstance(scim_type, str) else None,
        detail if isinstance(detail, str) else None,
    )


def is_auth_failure(reply: ScimReply) -> bool:
    return reply.status in (401, 403)
