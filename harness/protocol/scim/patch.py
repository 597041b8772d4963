"""PATCH (RFC 7644 §3.5.2) applied to a resource document, sans IO.

``apply_patch`` works on a deep copy and either returns the whole new document or raises the
first operation's ScimError (atomic: the caller keeps the old document). Documents use canonical
attribute names (as stored), extension attributes under their schema URN.

Rules, per operation (A is the attribute a path names, S a sub-attribute, F a value filter):

- ``op`` is matched without regard to case; anything but lower case is the
  ``patch-op-not-lowercase`` deviation. ``path`` and ``value`` keys likewise ignore case.
- No path: add/replace take an object whose keys are attribute names, extension URNs (whose
  value is an object of that extension's attributes) or, as a deviation
  (``pathless-dotted-key``), attribute paths such as "name.givenName" or
  "urn:...:User:employeeNumber"; each key is applied as if it were the path. ``schemas`` keys are
  ignored; readOnly attributes whose value equals the current one are ignored (Okta resends
  ``id``). remove without a path is 400 noTarget (§3.5.2.2).
- add A (multi-valued): appends each value that is not there yet (Group ``members`` compare by
  ``value``, others by whole element), so a repeated add changes nothing. add A (complex):
  merges the given sub-attributes. add A (simple): sets it. replace: the same, except that a
  multi-valued A is replaced as a whole; complex values are merged (§3.5.2.3: sub-attributes not
  given are left unchanged).
- A null value, or ``[]``, unassigns (RFC 7643 §2.5), except that add of null or ``[]`` to a
  multi-valued attribute adds no value and changes nothing (an empty batch of members must not
  empty the group).
- ``a.b`` with ``a`` multi-valued applies to every element (add/replace with no element yet
  creates one element ``{b: value}``).
- ``A[F]``: remove drops the matching elements (none matching: nothing to do); replace replaces
  each matching element (none matching: 400 noTarget, §3.5.2.3); add merges into each matching
  element. ``A[F].S``: add/replace set S on the matching elements, remove unsets it.
- add with a value filter that matches nothing creates the element (Entra sends add
  ``emails[type eq "work"].value`` for a user without a work email and expects
  ``{"type": "work", "value": ...}``): the new element is the filter's ``eq`` comparisons joined by
  ``and`` plus the value. A filter that is not such a conjunction cannot say what to create:
  400 noTarget. A path-less value keyed by such a path (Entra's ``pathless-dotted-key``) creates
  the element the same way, for replace too.
- remove ``members`` with a value array removes just those members (Entra), the
  ``members-remove-with-value`` deviation; it works the same on any multi-valued complex
  attribute, an element going when it matches every sub-attribute given.
- An element set to ``primary: true`` clears ``primary`` on the others; two primaries given at
  once are 400 invalidValue.
- readOnly attributes and sub-attributes (id, meta, groups, manager.displayName): 400 mutability.
  Immutable ones (Group member sub-attributes) may be set only while unassigned: changing or
  removing an assigned value is 400 mutability. Removing or unassigning a required attribute
  (userName, Group displayName) is 400 mutability (§3.5.2.2 says so for required attributes).
  writeOnly/returned-never attributes (password) are accepted and not kept.
- Unknown attributes are 400 invalidPath; values are checked with ``values.coerce`` (400
  invalidValue). Tolerated shapes, each a deviation: a single value for a multi-valued
  attribute (``single-value-for-multi``), a one-element array for a single-valued one
  (``array-for-single-value``), a string for a complex attribute with a ``value``
  sub-attribute (``complex-as-value-string``: Entra's manager).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from harness.protocol.scim.deviations import Deviation, deviation
from harness.protocol.scim.errors import (
    ScimError,
    invalid_path,
    invalid_syntax,
    invalid_value,
    mutability,
    no_target,
)
from harness.protocol.scim.filter import (
    And,
    Compare,
    Filter,
    element_matches,
    get_key,
    is_present,
    printable,
)
from harness.protocol.scim.path import PatchPath, parse_path, resolve_patch_path
from harness.protocol.scim.schema import (
    PATCH_OP_SCHEMA,
    Attribute,
    ResolvedAttribute,
    ResourceType,
    Schema,
)
from harness.protocol.scim.values import check_one_primary, coerce, coerce_single

PATCH_OPS = ("add", "remove", "replace")


@dataclass(frozen=True)
class PatchResult:
    resource: dict[str, Any]  # the new document (a copy; the input is never mutated)
    changed: bool  # False for a no-op PATCH
    deviations: list[Deviation] = field(default_factory=list)


@dataclass(frozen=True)
class Operation:
    index: int
    op: str  # lower case
    path: str | None
    value: Any
    has_value: bool


def apply_patch(resource: dict[str, Any], body: Any, rt: ResourceType) -> PatchResult:
    """Apply a PatchOp request body (parsed JSON) to ``resource``; see the module docstring."""
    deviations: list[Deviation] = []
    operations = parse_operations(body, deviations)
    doc = copy.deepcopy(resource)
    patcher = _Patcher(doc, rt, deviations)
    for operation in operations:
        try:
            patcher.apply(operation)
        except ScimError as error:
            where = f"Operations[{operation.index}] ({operation.op}"
            where += f" {printable(operation.path)})" if operation.path is not None else ")"
            raise ScimError(error.status, f"{where}: {error.detail}", error.scim_type) from None
    patcher.tidy_extensions()
    return PatchResult(doc, doc != resource, deviations)


def parse_operations(body: Any, deviations: list[Deviation]) -> list[Operation]:
    """The operations of a PatchOp body; a body that is not one is 400 invalidSyntax, an empty
    Operations array 400 invalidValue."""
    if not isinstance(body, dict):
        raise invalid_syntax("the PATCH body must be a JSON object")
    schemas = get_key(body, "schemas")
    if not isinstance(schemas, list) or not any(
        isinstance(s, str) and s.lower() == PATCH_OP_SCHEMA.lower() for s in schemas
    ):
        raise invalid_syntax(f"'schemas' must contain {PATCH_OP_SCHEMA}")
    raw_operations = get_key(body, "Operations")
    if not isinstance(raw_operations, list):
        raise invalid_syntax("'Operations' must be an array of PATCH operations")
    if not raw_operations:
        raise invalid_value("'Operations' is empty: a PATCH needs at least one operation")
    operations = []
    for index, raw in enumerate(raw_operations):
        if not isinstance(raw, dict):
            raise invalid_syntax(f"Operations[{index}] must be a JSON object")
        op = get_key(raw, "op")
        if not isinstance(op, str) or op.lower() not in PATCH_OPS:
            raise invalid_syntax(f"Operations[{index}].op must be add, remove or replace")
        if op != op.lower():
            detail = f"Operations[{index}].op is {op!r}"
            deviations.append(deviation("patch-op-not-lowercase", detail))
        path = get_key(raw, "path")
        if path is not None and not isinstance(path, str):
            raise invalid_path(f"Operations[{index}].path must be a string")
        has_value = any(key.lower() == "value" for key in raw)
        if op.lower() != "remove" and not has_value:
            raise invalid_value(f"Operations[{index}] ({op.lower()}) needs a 'value'")
        operations.append(Operation(index, op.lower(), path, get_key(raw, "value"), has_value))
    return operations


def _equalities(f: Filter) -> dict[str, Any] | None:
    """The element a filter of ``eq`` comparisons joined by ``and`` describes, else None."""
    if isinstance(f, Compare) and f.op == "eq" and f.value is not None:
        return {f.path.attr: f.value}
    if isinstance(f, And):
        left, right = _equalities(f.left), _equalities(f.right)
        if left is None or right is None or any(left[k] != right[k] for k in left.keys() & right):
            return None
        return {**left, **right}
    return None


class _Patcher:
    def __init__(self, doc: dict[str, Any], rt: ResourceType, deviations: list[Deviation]):
        self.doc = doc
        self.rt = rt
        self.deviations = deviations
        self.touched_extensions: set[str] = set()

    def note(self, code: str, detail: str) -> None:
        self.deviations.append(deviation(code, detail))

    # -- operations

    def apply(self, operation: Operation) -> None:
        if operation.path is None:
            if operation.op == "remove":
                raise no_target("remove needs a path naming what to remove")
            self._apply_pathless(operation)
            return
        extension = self.rt.extension(operation.path)
        if extension is not None:
            self._apply_extension(operation, extension)
            return
        path, resolved = resolve_patch_path(parse_path(operation.path), self.rt)
        self._apply_path(operation, path, resolved, operation.value, pathless=False)

    def _apply_extension(self, operation: Operation, extension: Schema) -> None:
        """A path that is an extension schema's URN alone names the whole extension object:
        add and replace set the sub-attributes the value holds (the others are kept), remove
        clears every one of them."""
        if operation.op == "remove":
            values: Any = {a.name: None for a in extension.attributes}
        else:
            values = operation.value
            if not isinstance(values, dict):
                raise invalid_value(f"the value of {extension.id} must be a JSON object")
        for name, item in values.items():
            if name.lower() == "schemas":
                continue
            qualified = parse_path(f"{extension.id}:{name}")
            path, resolved = resolve_patch_path(qualified, self.rt)
            self._apply_path(operation, path, resolved, item, pathless=False)

    def _apply_pathless(self, operation: Operation) -> None:
        value = operation.value
        if not isinstance(value, dict):
            raise invalid_value("without a path, the value must be a JSON object of attributes")
        for key, item in value.items():
            if key.lower() == "schemas":
                continue
            extension = self.rt.extension(key)
            if extension is not None:
                attributes = {a.name: None for a in extension.attributes} if item is None else item
                if not isinstance(attributes, dict):
                    raise invalid_value(f"{extension.id} must be a JSON object")
                for name, sub_item in attributes.items():
                    qualified = f"{extension.id}:{name}"
                    self._apply_key(operation, qualified, sub_item, in_extension=True)
                continue
            self._apply_key(operation, key, item)

    def _apply_key(
        self, operation: Operation, key: str, value: Any, *, in_extension: bool = False
    ) -> None:
        parsed = parse_path(key)
        if parsed.target_sub or parsed.value_filter or (parsed.attr.urn and not in_extension):
            self.note("pathless-dotted-key", f"path-less value keyed by {key!r}")
        path, resolved = resolve_patch_path(parsed, self.rt)
        self._apply_path(operation, path, resolved, value, pathless=True)

    def _apply_path(
        self,
        operation: Operation,
        path: PatchPath,
        resolved: ResolvedAttribute,
        value: Any,
        *,
        pathless: bool,
    ) -> None:
        attribute, sub = resolved.attribute, resolved.sub_attribute
        where = str(path)
        if isinstance(value, list) and not value:
            value = None  # RFC 7643 §2.5: [] and null both mean unassigned
        if attribute.returned == "never" or (sub is not None and sub.returned == "never"):
            return  # password: accepted, never kept
        if attribute.mutability == "readOnly" or (sub is not None and sub.mutability == "readOnly"):
            if pathless and path.value_filter is None and self._equals_current(resolved, value):
                return
            raise mutability(f"{where} is readOnly")
        container = self._container(resolved, create=operation.op != "remove")
        if container is None:
            return  # removing from an extension the resource does not have
        op = operation.op
        if path.value_filter is not None:
            # An Entra path-less key with a filter creates its element like add does.
            create = op == "add" or pathless
            self._filtered(op, container, attribute, path.value_filter, sub, value, where, create)
        elif sub is not None:
            if attribute.multi_valued:
                self._every_element(op, container, attribute, sub, value, where)
            else:
                self._complex_sub(op, container, attribute, sub, value, where)
        elif attribute.multi_valued:
            self._multi(operation, container, attribute, value, where)
        elif op == "remove":
            self._unassign(container, attribute, where)
        elif attribute.is_complex:
            self._set(container, attribute, self._merge(attribute, container, value, where), where)
        else:
            value = self._single(attribute, value, where)
            self._set(container, attribute, coerce(attribute, value, where, self.deviations), where)

    def _equals_current(self, resolved: ResolvedAttribute, value: Any) -> bool:
        container = self._container(resolved, create=False) or {}
        current = container.get(resolved.attribute.name)
        if resolved.sub_attribute is not None:
            current = (
                current.get(resolved.sub_attribute.name) if isinstance(current, dict) else None
            )
        try:
            new = coerce(resolved.target, value, resolved.dotted, [])
        except ScimError:
            return False
        return bool(new == current)

    # -- the shapes of a target

    def _multi(
        self,
        operation: Operation,
        container: dict[str, Any],
        attribute: Attribute,
        value: Any,
        where: str,
    ) -> None:
        op = operation.op
        if op == "remove":
            if value is not None and value != [] and attribute.is_complex:
                self._remove_listed(container, attribute, value, where)
            else:
                self._unassign(container, attribute, where)
            return
        items = coerce(attribute, self._as_list(value, where), where, self.deviations)
        if items is None:
            if op == "replace":  # adding no values adds nothing; it must not wipe the list
                self._unassign(container, attribute, where)
            return
        if op == "replace":
            kept: list[Any] = []
            for item in items:
                if not any(self._same(attribute, item, k) for k in kept):
                    kept.append(item)
            container[attribute.name] = kept
            return
        elements = list(container.get(attribute.name) or [])
        added = []
        for item in items:
            if not any(self._same(attribute, item, e) for e in elements):
                elements.append(item)
                added.append(len(elements) - 1)
        self._store_elements(container, attribute, elements, added, where)

    def _remove_listed(
        self, container: dict[str, Any], attribute: Attribute, value: Any, where: str
    ) -> None:
        """Entra: remove path "members" with value [{"value": id}]: just those elements."""
        listed = value if isinstance(value, list) else [value]
        self.note("members-remove-with-value", f"remove of {where} given a value array")
        wanted = []
        for index, item in enumerate(listed):
            shaped = {"value": item} if isinstance(item, str) and attribute.sub("value") else item
            element = coerce_single(attribute, shaped, f"{where}[{index}]", self.deviations)
            if element:
                wanted.append(element)
        elements = [
            e
            for e in container.get(attribute.name) or []
            if not any(
                isinstance(e, dict) and all(e.get(k) == v for k, v in w.items()) for w in wanted
            )
        ]
        self._store_elements(container, attribute, elements, [], where)

    def _complex_sub(
        self,
        op: str,
        container: dict[str, Any],
        attribute: Attribute,
        sub: Attribute,
        value: Any,
        where: str,
    ) -> None:
        current = dict(container.get(attribute.name) or {})
        new = None if op == "remove" else coerce(sub, value, where, self.deviations)
        self._check_immutable(sub, current.get(sub.name), new, where)
        if new is None:
            current.pop(sub.name, None)
        else:
            current[sub.name] = new
        self._set(container, attribute, current or None, f"{attribute.name}")

    def _every_element(
        self,
        op: str,
        container: dict[str, Any],
        attribute: Attribute,
        sub: Attribute,
        value: Any,
        where: str,
    ) -> None:
        new = None if op == "remove" else coerce(sub, value, where, self.deviations)
        elements = [dict(e) for e in container.get(attribute.name) or [] if isinstance(e, dict)]
        if new is not None and not elements:
            elements = [{}]
        for element in elements:
            self._set_sub(element, sub, new, where)
        elements = [e for e in elements if is_present(e)]
        self._store_elements(container, attribute, elements, list(range(len(elements))), where)

    def _filtered(
        self,
        op: str,
        container: dict[str, Any],
        attribute: Attribute,
        value_filter: Filter,
        sub: Attribute | None,
        value: Any,
        where: str,
        create: bool,
    ) -> None:
        elements = [
            dict(e) if isinstance(e, dict) else e for e in container.get(attribute.name) or []
        ]
        matched = [
            i
            for i, e in enumerate(elements)
            if isinstance(e, dict) and element_matches(value_filter, e, attribute)
        ]
        if op == "remove":
            for i in matched:
                if sub is None:
                    elements[i] = None  # the whole element goes
                else:
                    self._set_sub(elements[i], sub, None, where)
            self._store_elements(
                container, attribute, [e for e in elements if is_present(e)], [], where
            )
            return
        if sub is not None:
            new = coerce(sub, value, where, self.deviations)
        else:
            single = self._single(attribute, value, where)
            new = coerce_single(attribute, single, where, self.deviations)
        if not matched:
            if not create:
                raise no_target(f"no value of {attribute.name} matches the filter in {where}")
            if new is None:
                return  # adding nothing where nothing matches
            described = _equalities(value_filter)
            if described is None:
                raise no_target(
                    f"no value of {attribute.name} matches {where}, and the filter is not a "
                    "set of 'eq' comparisons joined by 'and' that could describe a new one"
                )
            element = {sub.name: new} if sub is not None else dict(new)
            created = coerce_single(attribute, {**described, **element}, where, self.deviations)
            elements.append(created)
            self._store_elements(container, attribute, elements, [len(elements) - 1], where)
            return
        touched: set[int] = set()  # ids of the elements this operation wrote
        for i in matched:
            if sub is not None:
                self._set_sub(elements[i], sub, new, where)
            elif new is None:
                elements[i] = None
                continue
            else:
                replacement = dict(new) if op == "replace" else {**elements[i], **new}
                self._check_element_immutable(attribute, elements[i], replacement, where)
                elements[i] = replacement
            touched.add(id(elements[i]))
        kept = [e for e in elements if is_present(e)]
        written = [i for i, e in enumerate(kept) if id(e) in touched]
        self._store_elements(container, attribute, kept, written, where)

    # -- helpers

    def _store_elements(
        self,
        container: dict[str, Any],
        attribute: Attribute,
        elements: list[Any],
        touched: list[int],
        where: str,
    ) -> None:
        """Write a multi-valued attribute back: primary settled, empty means unassigned."""
        if attribute.sub("primary") is not None:
            winners = [
                i
                for i in touched
                if isinstance(elements[i], dict) and elements[i].get("primary") is True
            ]
            if winners:
                for i, element in enumerate(elements):
                    if i not in winners and isinstance(element, dict) and element.get("primary"):
                        elements[i] = {**element, "primary": False}
            check_one_primary(attribute, elements, where)
        if elements:
            container[attribute.name] = elements
        else:
            self._unassign(container, attribute, where)

    def _set_sub(self, element: dict[str, Any], sub: Attribute, new: Any, where: str) -> None:
        self._check_immutable(sub, element.get(sub.name), new, where)
        if new is None:
            element.pop(sub.name, None)
        else:
            element[sub.name] = new

    def _merge(
        self, attribute: Attribute, container: dict[str, Any], value: Any, where: str
    ) -> dict[str, Any] | None:
        """Replace or add on a single complex attribute: the given sub-attributes replace the
        current ones, null ones are unset, the others stay (§3.5.2.1, §3.5.2.3)."""
        if value is None:
            return None
        value = self._single(attribute, value, where)
        given = coerce_single(attribute, value, where, self.deviations) or {}
        current = dict(container.get(attribute.name) or {})
        nulls = [attribute.sub(k) for k, v in value.items() if v is None]
        for sub in [s for s in nulls if s is not None] + [
            s for s in attribute.sub_attributes if s.name in given
        ]:
            new = given.get(sub.name)
            if sub.mutability == "readOnly":
                if new != current.get(sub.name):
                    raise mutability(f"{where}.{sub.name} is readOnly")
                continue
            self._set_sub(current, sub, new, f"{where}.{sub.name}")
        return current or None

    def _single(self, attribute: Attribute, value: Any, where: str) -> Any:
        """A value for one single-valued attribute (or one element), with Entra's shapes."""
        if isinstance(value, list) and len(value) == 1:
            self.note("array-for-single-value", f"{where} given a one-element array")
            value = value[0]
        if attribute.is_complex and isinstance(value, str) and attribute.sub("value"):
            self.note("complex-as-value-string", f"{where} given a string, read as its value")
            value = {"value": value}
        return value

    def _as_list(self, value: Any, where: str) -> Any:
        if value is None or isinstance(value, list):
            return value
        self.note("single-value-for-multi", f"{where} given one value instead of an array")
        return [value]

    def _same(self, attribute: Attribute, a: Any, b: Any) -> bool:
        """Whether adding ``a`` would duplicate ``b``: Group members are one member per value."""
        if attribute.name == "members" and isinstance(a, dict) and isinstance(b, dict):
            return bool(a.get("value") == b.get("value"))
        return bool(a == b)

    def _check_immutable(self, attribute: Attribute, old: Any, new: Any, where: str) -> None:
        if attribute.mutability == "immutable" and is_present(old) and new != old:
            raise mutability(f"{where} is immutable: it can be set once, not changed")

    def _check_element_immutable(
        self, attribute: Attribute, old: dict[str, Any], new: dict[str, Any], where: str
    ) -> None:
        for sub in attribute.sub_attributes:
            self._check_immutable(sub, old.get(sub.name), new.get(sub.name), f"{where}.{sub.name}")

    def _set(self, container: dict[str, Any], attribute: Attribute, new: Any, where: str) -> None:
        if new is None:
            self._unassign(container, attribute, where)
            return
        self._check_immutable(attribute, container.get(attribute.name), new, where)
        container[attribute.name] = new

    def _unassign(self, container: dict[str, Any], attribute: Attribute, where: str) -> None:
        if attribute.required:
            raise mutability(f"{attribute.name} is required and cannot be removed")
        self._check_immutable(attribute, container.get(attribute.name), None, where)
        container.pop(attribute.name, None)

    def _container(self, resolved: ResolvedAttribute, *, create: bool) -> dict[str, Any] | None:
        if resolved.is_core:
            return self.doc
        urn = resolved.schema.id
        self.touched_extensions.add(urn)
        container = self.doc.get(urn)
        if not isinstance(container, dict):
            if not create:
                return None
            container = self.doc[urn] = {}
        return container

    def tidy_extensions(self) -> None:
        """Drop extension objects left empty, and keep ``schemas`` in step with them."""
        schemas = self.doc.get("schemas")
        for urn in self.touched_extensions:
            if not self.doc.get(urn):
                self.doc.pop(urn, None)
            if not isinstance(schemas, list):
                continue
            listed = any(isinstance(s, str) and s.lower() == urn.lower() for s in schemas)
            if urn in self.doc and not listed:
                schemas.append(urn)
            elif urn not in self.doc and listed:
                schemas[:] = [
                    s for s in schemas if not (isinstance(s, str) and s.lower() == urn.lower())
                ]
