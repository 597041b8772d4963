"""SCIM errors (RFC 7644 §3.12): an HTTP status, an optional scimType and a detail."""

from __future__ import annotations

from typing import Any

from ..refusal import Refusal

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Refusal):
    """A protocol error the peer caused; rendered as a SCIM error body, never a 500.

    A refusal like any other (``reason`` is the scimType, or ``scim-error`` where RFC 7644 names
    none); its JSON is the RFC's error schema, the one shape a SCIM client reads.
    """

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(scim_type or "scim-error", detail, "RFC7644-3.12", status=status)
        self.detail = detail
        self.scim_type = scim_type

    def __str__(self) -> str:
        return self.detail

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "schemas": [ERROR_SCHEMA],
            "status": str(self.status),  # RFC 7644 §3.12: status is a string
            "detail": self.detail,
        }
        if self.scim_type:
            body["scimType"] = self.scim_type
        return body

    def __repr__(self) -> str:
        return f"ScimError({self.status}, {self.detail!r}, scim_type={self.scim_type!r})"


def invalid_filter(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidFilter")


def invalid_path(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidPath")


def no_target(detail: str) -> ScimError:
    return ScimError(400, detail, "noTarget")


def invalid_value(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidValue")


def invalid_syntax(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidSyntax")


def mutability(detail: str) -> ScimError:
    return ScimError(400, detail, "mutability")


def uniqueness(detail: str) -> ScimError:
    return ScimError(409, detail, "uniqueness")


def not_found(detail: str) -> ScimError:
    return ScimError(404, detail)
