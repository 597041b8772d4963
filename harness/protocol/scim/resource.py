"""Validating a resource body sent to POST (create) or PUT (replace): RFC 7643 §2-§3, §7 and
RFC 7644 §3.3, §3.5.1.

The result is the stored form: canonical attribute names, values coerced to their types, null and
empty values dropped (RFC 7643 §2.5: null is unassigned), readOnly attributes ignored, the
password dropped (this server authenticates no one with it, so it never keeps it).
"""

from __future__ import annotations

from typing import Any

from harness.protocol.scim import errors
from harness.protocol.scim.deviations import Deviation, deviation
from harness.protocol.scim.schema import Attribute, ResourceType, Schema
from harness.protocol.scim.values import coerce

# Attributes that the server derives and never takes from a body.
_DERIVED = {"id", "meta", "groups"}


def validate_resource(
    rt: ResourceType,
    body: Any,
    deviations: list[Deviation],
    existing: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The document to store for ``body``; ``existing`` is the current document on PUT, whose
    immutable attributes may not change (RFC 7644 §3.5.1: 400 mutability)."""
    declared = _declared_schemas(rt, body, deviations)
    doc: dict[str, Any] = {"schemas": [rt.schema.id]}
    for key, value in body.items():
        if key == "schemas":
            continue
        urn, rest = rt.split_urn(key)
        if urn is not None:
            ext = rt.extension(urn) if rest == "" else None
            if ext is None:
                if rt.schema_for(urn) is None and urn in declared:
                    continue  # an extension the client declared but this server lacks
                raise errors.invalid_syntax(f"unknown attribute {key!r} for {rt.name}")
            ext_doc = _validate_extension(ext, value, deviations)
            if ext_doc:
                doc[ext.id] = ext_doc
                doc["schemas"].append(ext.id)
            continue
        _take_attribute(rt, key, value, doc, deviations)
    _require(rt.schema, doc, rt.name)
    for ext, required in rt.extensions:
        if required and ext.id not in doc:
            raise errors.invalid_value(f"the extension {ext.id} is required")
    if existing is not None:
        _check_immutable(rt.schema, existing, doc)
    return doc


def _declared_schemas(rt: ResourceType, body: Any, deviations: list[Deviation]) -> list[str]:
    """The body's ``schemas``, which must name the resource type's core schema."""
    if not isinstance(body, dict):
        raise errors.invalid_syntax("the request body must be a JSON object")
    declared = body.get("schemas")
    if not isinstance(declared, list) or not all(isinstance(s, str) for s in declared):
        raise errors.invalid_syntax("'schemas' must be a list of schema URIs")
    if not any(s.lower() == rt.schema.id.lower() for s in declared):
        raise errors.invalid_syntax(f"'schemas' must contain {rt.schema.id}")
    for urn in declared:
        if rt.schema_for(urn) is None:
            deviations.append(
                deviation("unknown-schema-urn", f"schemas lists {urn}, not used by {rt.name}")
            )
    return declared


def _take_attribute(
    rt: ResourceType, key: str, value: Any, doc: dict[str, Any], deviations: list[Deviation]
) -> None:
    """Store one core attribute of the body in ``doc``, coerced to its type, unless the server
    ignores it (derived, readOnly, never returned)."""
    resolved = rt.resolve(key)
    if resolved is None:
        raise errors.invalid_syntax(f"unknown attribute {key!r} for {rt.name}")
    attribute = resolved.attribute
    if attribute.name in _DERIVED or attribute.mutability == "readOnly":
        return  # RFC 7643 §2.2: readOnly values sent by the client are ignored
    if attribute.returned == "never":
        return  # password: accepted, never kept
    coerced = coerce(attribute, value, attribute.name, deviations)
    if coerced is not None and coerced != [] and coerced != {}:
        doc[attribute.name] = coerced


def _validate_extension(ext: Schema, value: Any, deviations: list[Deviation]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise errors.invalid_syntax(f"{ext.id} must be a JSON object")
    out: dict[str, Any] = {}
    for key, sub_value in value.items():
        attribute = ext.attribute(key)
        if attribute is None:
            raise errors.invalid_syntax(f"unknown attribute {key!r} in {ext.id}")
        if attribute.mutability == "readOnly" and not attribute.is_complex:
            continue
        coerced = coerce(attribute, sub_value, f"{ext.id}:{attribute.name}", deviations)
        if attribute.is_complex and isinstance(coerced, dict):
            coerced = _drop_read_only_subs(attribute, coerced)
        if coerced is not None and coerced != [] and coerced != {}:
            out[attribute.name] = coerced
    _require(ext, out, ext.id)
    return out


def _drop_read_only_subs(attribute: Attribute, value: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, sub_value in value.items():
        sub = attribute.sub(key)
        if sub is not None and sub.mutability != "readOnly":
            out[key] = sub_value
    return out


def _require(schema: Schema, doc: dict[str, Any], owner: str) -> None:
    for attribute in schema.attributes:
        if attribute.required and attribute.name not in doc:
            raise errors.invalid_value(f"{attribute.name} is required for {owner}")


def _check_immutable(schema: Schema, existing: dict[str, Any], doc: dict[str, Any]) -> None:
    for attribute in schema.attributes:
        if attribute.mutability != "immutable":
            continue
        before, after = existing.get(attribute.name), doc.get(attribute.name)
        if before is not None and after != before:
            raise errors.mutability(f"{attribute.name} is immutable and cannot be changed")
