"""The reference SP's SCIM error flaws (``reference_sp.flaws``): how a flawed server renders a
SCIM error. Each drops or bends one thing RFC 7644 §3.12 asks of the error body, and nothing
else: the status stays, the detail stays."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.protocol.scim import errors
from reference_sp.scim.discovery import MAX_PAYLOAD_BYTES

# Flaw -> the scimType it leaves out of the error body.
UNTYPED: dict[str, str] = {
    "scim-syntax-error-untyped": "invalidSyntax",
    "scim-value-error-untyped": "invalidValue",
    "scim-uniqueness-error-untyped": "uniqueness",
    "scim-mutability-error-untyped": "mutability",
}


def error_body(flaws: Iterable[str], exc: errors.ScimError) -> dict[str, Any]:
    """The SCIM error body of ``exc`` as a server with these flaws answers it."""
    body = exc.to_json()
    chosen = frozenset(flaws)
    if any(UNTYPED[f] == body.get("scimType") for f in chosen & UNTYPED.keys()):
        del body["scimType"]
    if "scim-error-status-as-number" in chosen:
        body["status"] = exc.status
    return body


def replace_as_add(body: Any) -> Any:
    """The scim-replace-unmatched-filter-adds flaw: a PATCH whose replace operations with a
    value filter are taken as adds (creating the element no filter matched), as servers
    lenient with Entra ID's replace of ``emails[type eq "work"].value`` do."""
    operations = body.get("Operations") if isinstance(body, dict) else None
    if not isinstance(operations, list):
        return body
    bent = [
        {**o, "op": "add"}
        if isinstance(o, dict)
        and str(o.get("op", "")).lower() == "replace"
        and "[" in str(o.get("path", ""))
        else o
        for o in operations
    ]
    return {**body, "Operations": bent}


def refused_media(flaws: Iterable[str], content_type: str) -> errors.ScimError | None:
    """The scim-refuses-application-json flaw: a body sent as application/json is 415."""
    media = content_type.partition(";")[0].strip().lower()
    if "scim-refuses-application-json" in flaws and media == "application/json":
        return errors.ScimError(415, "the body must be application/scim+json")
    return None


def refuses_foreign_id(flaws: Iterable[str], body: Any, resource_id: str) -> None:
    """The scim-put-refuses-foreign-id flaw: a PUT whose body names another id is refused."""
    sent = body.get("id") if isinstance(body, dict) else None
    if "scim-put-refuses-foreign-id" in flaws and sent not in (None, resource_id):
        raise errors.mutability(f"id is readOnly: {sent!r} is not {resource_id!r}")


def payload_limit(flaws: Iterable[str], path: str) -> int:
    """The most a SCIM request's body may hold: the announced bulk.maxPayloadSize, or four
    times it for /Bulk under the scim-bulk-over-max-payload flaw."""
    if path.endswith("/Bulk") and "scim-bulk-over-max-payload" in flaws:
        return 4 * MAX_PAYLOAD_BYTES
    return MAX_PAYLOAD_BYTES


def refuses_duplicate_add(flaws: Iterable[str], doc: dict[str, Any], body: Any) -> None:
    """The scim-duplicate-add-refused flaw: adding a member already there is a 409."""
    if "scim-duplicate-add-refused" not in flaws or not isinstance(body, dict):
        return
    present = {str(m.get("value")) for m in doc.get("members") or [] if isinstance(m, dict)}
    for operation in body.get("Operations") or []:
        if not isinstance(operation, dict) or str(operation.get("op", "")).lower() != "add":
            continue
        values = operation.get("value") if operation.get("path") == "members" else None
        for value in values if isinstance(values, list) else []:
            if isinstance(value, dict) and str(value.get("value")) in present:
                raise errors.uniqueness(f"{value.get('value')} is already a member")


def keep_primaries(flaws: Iterable[str], before: dict[str, Any], after: dict[str, Any]) -> None:
    """The scim-keeps-two-primaries flaw: an element primary before the PATCH stays so."""
    if "scim-keeps-two-primaries" not in flaws:
        return
    for name, elements in after.items():
        was = before.get(name)
        if not isinstance(elements, list) or not isinstance(was, list):
            continue
        primary = [e for e in was if isinstance(e, dict) and e.get("primary") is True]
        for element in elements:
            if isinstance(element, dict) and any(
                element.get("value") == p.get("value") for p in primary
            ):
                element["primary"] = True
