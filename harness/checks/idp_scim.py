"""Judges of the SCIM requests an IdP under test sent (RFC 7643, RFC 7644), over one entry of
the reference SP's SCIM journal (:class:`ScimRequestSeen`): schemas right for the resource, a
PATCH that is a PatchOp with operations, the media type, the server's answer, and every
deviation the server tolerated, judged against what the declared vendor documents
(:data:`harness.protocol.scim.deviations.DOCUMENTED_DEVIATIONS`).

A documented deviation passes, named in what was observed: the vendor's own documentation
says it sends it, and an SP integrating that vendor must take it; a WARN on every Entra run
would teach readers to skip warnings. The same code from another vendor fails its rule.
"""

from __future__ import annotations

import json
from typing import Any

from harness.checks._idp_read import evidence
from harness.checks.idp_observations import ScimRequestSeen
from harness.checks.model import Check, CheckFailed, CheckSkipped, Observed, cited_all
from harness.protocol.scim.deviations import KNOWN_DEVIATIONS, documented_for
from harness.protocol.scim.schema import GROUP_SCHEMA, PATCH_OP_SCHEMA, USER_SCHEMA

_CORE = {"Users": USER_SCHEMA, "Groups": GROUP_SCHEMA}
_CONTENT_TYPE_CODE = "content-type-not-scim"  # judged by idp.scim.content-type itself
# A refusal of what was malformed (RFC 7644 3.12 scimTypes): the IdP's fault.
_MALFORMED = {
    "invalidFilter",
    "invalidSyntax",
    "invalidPath",
    "noTarget",
    "invalidValue",
    "invalidVers",
    "mutability",
    "tooMany",
}


def _resource(entry: dict[str, Any]) -> tuple[str | None, str | None]:
    """("Users" or "Groups", the id in the path or None) of the request's path."""
    parts = [p for p in str(entry.get("path", "")).split("/") if p]
    for index, part in enumerate(parts):
        if part in _CORE:
            return part, parts[index + 1] if index + 1 < len(parts) else None
    return None, None


def _body(entry: dict[str, Any], field: str = "requestBody") -> Any:
    text = entry.get(field) or ""
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text  # not JSON: the judges that need an object say so


def _writes(seen: ScimRequestSeen) -> tuple[str, Any]:
    method = str(seen.entry.get("method", "")).upper()
    if method not in ("POST", "PUT", "PATCH"):
        raise CheckSkipped(f"a {method}: no body to judge")
    return method, _body(seen.entry)


def _deviation(seen: ScimRequestSeen, code: str, detail: str) -> Observed:
    """A departure from the RFC: the vendor's documented behaviour passes, named; else FAIL."""
    rule, what = KNOWN_DEVIATIONS[code]
    fields = evidence(code=code, rule=rule, detail=detail, vendor=seen.vendor)
    if documented_for(seen.vendor, code):
        return Observed(f"deviation: {code} (documented {seen.vendor} behaviour)", evidence=fields)
    raise CheckFailed(
        f"{what}: {detail}, which {seen.vendor} does not document ({rule})",
        expected=f"RFC behaviour ({rule})",
        observed=code,
        evidence=fields,
    )


def schemas(seen: ScimRequestSeen) -> Observed:
    method, body = _writes(seen)
    resource, _ = _resource(seen.entry)
    if method == "PATCH" or resource is None:
        raise CheckSkipped("not a User or Group written whole")
    found = body.get("schemas") if isinstance(body, dict) else None
    fields = evidence(schemas=found, resource=resource)
    if not isinstance(found, list) or _CORE[resource] not in found:
        raise CheckFailed(
            f"the {resource[:-1]} does not carry its core schema",
            expected=_CORE[resource],
            observed=str(found),
            evidence=fields,
        )
    return Observed(f"schemas {found}", evidence=fields)


def patch_op(seen: ScimRequestSeen) -> Observed:
    method, body = _writes(seen)
    if method != "PATCH":
        raise CheckSkipped(f"a {method}, not a PATCH")
    found = body.get("schemas") if isinstance(body, dict) else None
    operations = body.get("Operations") if isinstance(body, dict) else None
    count = len(operations) if isinstance(operations, list) else None
    fields = evidence(schemas=found, operations=count)
    if not isinstance(found, list) or PATCH_OP_SCHEMA not in found or not count:
        raise CheckFailed(
            "a PATCH must be a PatchOp message with at least one operation",
            expected=f"schemas [{PATCH_OP_SCHEMA}] and a non-empty Operations",
            observed=f"schemas {found}, {count} operations",
            evidence=fields,
        )
    return Observed(f"PatchOp with {count} operation(s)", evidence=fields)


def content_type(seen: ScimRequestSeen) -> Observed:
    method, _ = _writes(seen)
    headers = {str(k).lower(): str(v) for k, v in (seen.entry.get("requestHeaders") or {}).items()}
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/scim+json":
        return Observed("application/scim+json", evidence=evidence(content_type=media))
    return _deviation(seen, _CONTENT_TYPE_CODE, f"a {method} sent as {media or '(none)'}")


def _normal_refusal(method: str, has_id: bool, status: int) -> bool:
    """Protocol, not error: a lookup by id of what is gone, a create of what exists."""
    return (status == 404 and method == "GET" and has_id) or (status == 409 and method == "POST")


def accepted(seen: ScimRequestSeen) -> Observed:
    entry = seen.entry
    method, status = str(entry.get("method", "")).upper(), int(entry.get("status", 0))
    _, resource_id = _resource(entry)
    answer = _body(entry, "responseBody")
    scim_type = answer.get("scimType") if isinstance(answer, dict) else None
    detail = answer.get("detail") if isinstance(answer, dict) else None
    fields = evidence(status=status, scimType=scim_type, detail=detail)
    if status >= 500:
        raise CheckSkipped(f"the SP failed ({status}): not the IdP's doing")
    if status in (401, 403):
        raise CheckSkipped(f"the SP refused the credentials ({status}): a set-up matter")
    if status < 400 or _normal_refusal(method, resource_id is not None, status):
        return Observed(f"{method} answered {status}", evidence=fields)
    malformed = f" ({scim_type})" if scim_type in _MALFORMED else ""
    raise CheckFailed(
        f"the SP refused the {method} as malformed{malformed}: {detail}",
        expected="a request the server accepts",
        observed=f"{status} {scim_type or ''}".strip(),
        evidence=fields,
    )


def deviations(seen: ScimRequestSeen) -> Observed:
    found = [d for d in seen.entry.get("deviations") or [] if d.get("code") != _CONTENT_TYPE_CODE]
    if not found:
        return Observed("no deviation from the RFC")
    verdicts: list[str] = []
    failures: list[CheckFailed] = []
    for item in found:
        code = str(item.get("code", ""))
        if code not in KNOWN_DEVIATIONS:
            raise CheckSkipped(f"deviation {code!r} is unknown to this harness")
        try:
            verdicts.append(_deviation(seen, code, str(item.get("detail", ""))).observed)
        except CheckFailed as failed:
            failures.append(failed)
    if failures:
        raise CheckFailed(
            "; ".join(f.message for f in failures),
            expected="RFC behaviour, or a deviation the vendor documents",
            observed=", ".join(f.observed or "" for f in failures),
            evidence=evidence(vendor=seen.vendor, deviations=found),
        )
    return Observed("; ".join(verdicts), evidence=evidence(vendor=seen.vendor, deviations=found))


IDP_SCIM_CHECKS: tuple[Check, ...] = cited_all(
    "idp.scim.",
    (
        ("schemas", "RFC7643-3", "a User or Group carries its core schema", schemas),
        ("patch-op", "RFC7644-3.5.2", "a PATCH is a PatchOp with operations", patch_op),
        ("content-type", "RFC7644-3.1", "a body is sent as application/scim+json", content_type),
        ("accepted", "RFC7644-3.12", "the SP did not refuse the request as malformed", accepted),
        ("deviations", "RFC7644-3.5.2", "every tolerated deviation is the vendor's", deviations),
    ),
)
