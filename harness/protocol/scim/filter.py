"""SCIM filters (RFC 7644 §3.4.2.2): parse, print, resolve against a schema, evaluate.

The grammar is RFC 7644 figure 1 with errata 4690/7322 (a value filter holds sub-attribute
expressions, and/or/not and parentheses, but no nested value filter) and 7319 ("not" may be
followed by a space). Attribute names, operators and and/or/not/pr are matched without regard to
case. One tolerated extension: ``emails[type eq "work"].value eq "x"`` (Entra sends it for
lookups) parses as ``emails[type eq "work" and value eq "x"]``, which means the same thing.

Evaluation rules. ``evaluate`` implements exactly these, and the reference SP's SQL compiler
follows them; keep the two in step.

1. Empty is absent. A value that is missing, null, ``""``, ``[]`` or ``{}`` (or a complex value
   whose sub-attributes are all empty) is absent (RFC 7643 §2.5: unassigned, null and [] are one
   state; RFC 7644 ``pr``: "has a non-empty value").
2. The values of a path: a single-valued attribute has its value; a multi-valued attribute has
   each element; ``a.b`` with ``a`` complex multi-valued has the ``b`` of each element. Absent
   values are dropped; a path with no values left has the single value null.
3. A comparison matches when ANY value matches (RFC 7644: "only one has to match").
4. Null: ``null eq null`` is true; ``null ne x`` is true for any non-null x; ``v eq null`` is
   false and ``v ne null`` true for a present v; every other operator with null on either side
   is false. So ``x eq null`` == ``not (x pr)``, ``x ne null`` == ``x pr``, and an absent
   attribute is "not equal" to every non-null literal: ``title ne "a"`` matches users without a
   title. With rule 3, ``emails.value ne "a"`` matches emails [a, b] (b ne a) and no emails.
   ``resolve_filter`` refuses null with any operator other than eq/ne.
5. ``ne`` is the negation of ``eq`` per value; ``not`` is the plain complement (two-valued
   logic: there is no "unknown", so SQL must not let NULL leak through NOT).
6. Strings (and references, binary) compare after ``str.lower()`` on both sides unless the
   attribute is caseExact (``lower``, not ``casefold``, to stay close to SQL ``lower()``);
   gt/ge/lt/le compare the (folded) strings by code point; co/sw/ew are substring/prefix/suffix
   tests. The literal ``""`` is an ordinary string: ``x eq ""`` matches nothing (an empty value
   is absent, rule 1), ``x ne ""`` everything, ``x co ""`` every present string.
7. dateTime values compare as instants (``_datetimes.parse_datetime``: zone-less means UTC);
   ``resolve_filter`` rewrites dateTime literals to the canonical UTC spelling.
8. Booleans: eq/ne only. Integers/decimals: numerically, no co/sw/ew. Binary: eq/ne only.
9. ``a[f]`` matches when one element of ``a`` satisfies all of ``f`` (the same element).
10. A comparison on a complex multi-valued attribute without a sub-attribute compares its
   ``value`` sub-attribute (RFC 7644's own example ``emails co "example.com"``); otherwise a
   complex attribute only supports ``pr``.
11. ``schemas`` is filterable as a multi-valued, case-insensitive string (RFC 7644 example
   ``schemas eq "urn:...:enterprise:2.0:User"``). Attributes returned "never" (password) are
   refused: filtering on them would leak them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.protocol.scim._datetimes import format_datetime, parse_datetime
from harness.protocol.scim.errors import ScimError, invalid_filter, invalid_value
from harness.protocol.scim.schema import Attribute, ResourceType

MAX_FILTER_LENGTH = 4096
# Nesting of parentheses, not(...) and [...]. Real filters nest two or three levels. The SQL a
# filter compiles to nests deeper than the filter (NOT, EXISTS, subqueries), and SQLite's
# parser has a fixed stack: alternating and/or at 32 levels, or not(...) at 33 inside a value
# filter, overflowed it. 10 stays far below that whatever the shape.
MAX_FILTER_DEPTH = 10
MAX_FILTER_TERMS = 100  # comparisons in one filter; bounds the and/or chains (and AST depth)

COMPARE_OPS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")
ORDER_OPS = ("gt", "ge", "lt", "le")
SUBSTRING_OPS = ("co", "sw", "ew")

CompValue = str | int | float | bool | None


@dataclass(frozen=True)
class AttrPath:
    urn: str | None
    attr: str
    sub: str | None = None

    def __str__(self) -> str:
        text = f"{self.urn}:{self.attr}" if self.urn else self.attr
        return f"{text}.{self.sub}" if self.sub else text


@dataclass(frozen=True)
class Compare:
    path: AttrPath
    op: str  # lower case, one of COMPARE_OPS
    value: CompValue


@dataclass(frozen=True)
class Present:
    path: AttrPath


@dataclass(frozen=True)
class And:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Or:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Not:
    inner: Filter


@dataclass(frozen=True)
class ValuePath:
    """``path[filter]``; the inner filter's paths are sub-attribute names of ``path``."""

    path: AttrPath
    filter: Filter


Filter = Compare | Present | And | Or | Not | ValuePath


# ---------------------------------------------------------------------------------------------
# Tokenizer and parser (shared with path.py through ``Parser``)

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*|\$ref", re.IGNORECASE | re.ASCII)
# RFC 8141 URN characters (parentheses excepted: they delimit filter tokens).
_URN = re.compile(
    r"urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:[A-Za-z0-9+,\-.:=@;$_!*'%/?#~&]+", re.IGNORECASE | re.ASCII
)
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_DELIMITERS = '()[]"'
_SPACE = " \t\r\n"


@dataclass(frozen=True)
class Token:
    kind: str  # "(" ")" "[" "]" "string" "word"
    text: str  # the source text; for strings the decoded value
    start: int  # 0-based offset in the source
    end: int


class Parser:
    """Recursive descent over the tokens of one filter or PATCH path.

    ``error`` builds the ScimError to raise (invalidFilter for filters, invalidPath for paths);
    ``what`` names the input in messages."""

    def __init__(
        self, text: str, error: Callable[[str], ScimError] = invalid_filter, what: str = "filter"
    ) -> None:
        self.text = text
        self.error = error
        self.what = what
        if len(text) > MAX_FILTER_LENGTH:
            raise self.fail(f"longer than {MAX_FILTER_LENGTH} characters", 0)
        self.tokens = self._tokenize()
        self.pos = 0
        self.depth = 0
        self.terms = 0

    # -- errors and token access

    def fail(self, message: str, offset: int) -> ScimError:
        return self.error(f"invalid {self.what} at column {offset + 1}: {message}")

    def peek(self, ahead: int = 0) -> Token | None:
        index = self.pos + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def next(self, expected: str) -> Token:
        token = self.peek()
        if token is None:
            raise self.fail(f"expected {expected}, found the end", len(self.text))
        self.pos += 1
        return token

    def expect(self, kind: str, expected: str) -> Token:
        token = self.next(expected)
        if token.kind != kind:
            raise self.fail(f"expected {expected}, found {_show(token)}", token.start)
        return token

    def at_end(self) -> bool:
        return self.pos >= len(self.tokens)

    def finish(self) -> None:
        token = self.peek()
        if token is not None:
            raise self.fail(f"unexpected {_show(token)}", token.start)

    def _keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.lower() == word:
            self.pos += 1
            return True
        return False

    def _enter(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_FILTER_DEPTH:
            raise self.fail(f"nested deeper than {MAX_FILTER_DEPTH} levels", token.start)

    def _tokenize(self) -> list[Token]:
        text, tokens, i = self.text, [], 0
        while i < len(text):
            char = text[i]
            if char in _SPACE:
                i += 1
            elif char in "()[]":
                tokens.append(Token(char, char, i, i + 1))
                i += 1
            elif char == '"':
                end = i + 1
                while end < len(text) and text[end] != '"':
                    end += 2 if text[end] == "\\" else 1
                if end >= len(text):
                    raise self.fail("unterminated string", i)
                try:
                    value = json.loads(text[i : end + 1])
                except ValueError as exc:
                    raise self.fail(f"invalid string literal ({exc.args[0]})", i) from None
                if not _encodable(value):
                    raise self.fail("the string holds a lone surrogate, not Unicode text", i)
                if "\x00" in value:
                    # No attribute holds NUL (PostgreSQL's text cannot): a value error, as in
                    # a request body, found before any query runs.
                    raise invalid_value(
                        f"invalid {self.what} at column {i + 1}: the string holds a NUL (U+0000)"
                    )
                tokens.append(Token("string", value, i, end + 1))
                i = end + 1
            else:
                end = i
                while end < len(text) and text[end] not in _SPACE and text[end] not in _DELIMITERS:
                    end += 1
                tokens.append(Token("word", text[i:end], i, end))
                i = end
        return tokens

    # -- grammar

    def filter(self, *, inside: AttrPath | None = None) -> Filter:
        """FILTER (or, when ``inside`` names the parent attribute, valFilter)."""
        left = self._conjunction(inside)
        while self._keyword("or"):
            left = Or(left, self._conjunction(inside))
        return left

    def _conjunction(self, inside: AttrPath | None) -> Filter:
        left = self._unary(inside)
        while self._keyword("and"):
            left = And(left, self._unary(inside))
        return left

    def _unary(self, inside: AttrPath | None) -> Filter:
        token = self.next("an attribute path, 'not' or '('")
        following = self.peek()
        if token.kind == "word" and token.text.lower() == "not":
            if following is not None and following.kind == "(":
                return Not(self._group(inside))
            if (
                following is not None
                and following.kind == "word"
                and (following.text.lower() not in (*COMPARE_OPS, "pr"))
            ):
                raise self.fail("'not' must be followed by a filter in parentheses", token.start)
        if token.kind == "(":
            self.pos -= 1
            return self._group(inside)
        if token.kind != "word":
            raise self.fail(f"expected an attribute path, found {_show(token)}", token.start)
        path = self.attr_path(token, inside)
        bracket = self.peek()
        if bracket is not None and bracket.kind == "[":
            if inside is not None:
                raise self.fail("value filters cannot be nested", bracket.start)
            value_path, sub = self.value_path(path)
            if sub is None:
                return value_path
            # Entra's emails[type eq "work"].value eq "x": the same element must match both.
            condition = self.condition(AttrPath(None, sub))
            return ValuePath(path, And(value_path.filter, condition))
        return self.condition(path)

    def _group(self, inside: AttrPath | None) -> Filter:
        opening = self.expect("(", "'('")
        self._enter(opening)
        inner = self.filter(inside=inside)
        self.expect(")", "')'")
        self.depth -= 1
        return inner

    def value_path(self, path: AttrPath) -> tuple[ValuePath, str | None]:
        """``path[valFilter]`` and the sub-attribute name after ``].`` if there is one."""
        if path.sub is not None:
            raise self.fail(
                f"a value filter applies to an attribute, not to the sub-attribute '{path}'",
                self.tokens[self.pos].start,
            )
        opening = self.expect("[", "'['")
        self._enter(opening)
        inner = self.filter(inside=path)
        closing = self.expect("]", "']'")
        self.depth -= 1
        after = self.peek()
        if after is None or after.kind != "word" or after.start != closing.end:
            return ValuePath(path, inner), None
        if not after.text.startswith(".") or not _NAME.fullmatch(after.text[1:]):
            found = _show(after)
            raise self.fail(f"expected '.subAttribute' after ']', found {found}", after.start)
        self.pos += 1
        return ValuePath(path, inner), after.text[1:]

    def attr_path(self, token: Token, inside: AttrPath | None = None) -> AttrPath:
        """attrPath = [URI ":"] ATTRNAME *1subAttr; inside a value filter only ATTRNAME."""
        word, urn = token.text, None
        if word.lower().startswith("urn:"):
            urn, _, word = word.rpartition(":")
            if not _URN.fullmatch(urn):
                raise self.fail(f"invalid schema URN in {_show(token)}", token.start)
        parts = word.split(".")
        if len(parts) > 2 or not all(_NAME.fullmatch(part) for part in parts):
            raise self.fail(f"invalid attribute path {_show(token)}", token.start)
        path = AttrPath(urn, parts[0], parts[1] if len(parts) == 2 else None)
        if inside is not None and (path.urn is not None or path.sub is not None):
            raise self.fail(
                f"inside '{inside}[...]' name a sub-attribute of '{inside}', found {_show(token)}",
                token.start,
            )
        return path

    def condition(self, path: AttrPath) -> Compare | Present:
        """The operator and value after an attribute path."""
        token = self.next(f"an operator after '{path}'")
        op = token.text.lower() if token.kind == "word" else ""
        if op not in (*COMPARE_OPS, "pr"):
            found = _show(token)
            raise self.fail(f"expected an operator after '{path}', found {found}", token.start)
        self.terms += 1
        if self.terms > MAX_FILTER_TERMS:
            raise self.fail(f"more than {MAX_FILTER_TERMS} comparisons", token.start)
        if op == "pr":
            return Present(path)
        return Compare(path, op, self._value(op))

    def _value(self, op: str) -> CompValue:
        token = self.next(f"a value after '{op}'")
        if token.kind == "string":
            return token.text
        word = token.text.lower() if token.kind == "word" else ""
        if word in ("true", "false"):
            return word == "true"
        if word == "null":
            return None
        match = _NUMBER.fullmatch(word)
        if match is None:
            raise self.fail(
                f"expected a value (a string in double quotes, a number, true, false or null) "
                f"after '{op}', found {_show(token)}",
                token.start,
            )
        if match.group(1) is None and match.group(2) is None:
            return int(word)
        number = float(word)
        if not math.isfinite(number):
            raise self.fail(f"number out of range {_show(token)}", token.start)
        return number


def _show(token: Token) -> str:
    if token.kind == "string":
        return "a string"
    text = token.text if len(token.text) <= 40 else token.text[:40] + "..."
    return f"'{printable(text)}'"


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str) -> str:
    """``text`` safe to put in an error detail: lone surrogates (which JSON escapes can carry
    but UTF-8 cannot encode) become backslash escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def parse_filter(text: str) -> Filter:
    """Parse a filter; any error is a 400 invalidFilter saying where and what."""
    parser = Parser(text)
    if parser.at_end():
        raise parser.fail("the filter is empty", 0)
    result = parser.filter()
    parser.finish()
    return result


# ---------------------------------------------------------------------------------------------
# Printing


def format_value(value: CompValue) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def format_filter(f: Filter) -> str:
    """The canonical text of a filter: single spaces, lower-case operators, parentheses only
    where precedence needs them (and binds tighter than or; both associate to the left)."""
    if isinstance(f, Compare):
        return f"{f.path} {f.op} {format_value(f.value)}"
    if isinstance(f, Present):
        return f"{f.path} pr"
    if isinstance(f, Not):
        return f"not ({format_filter(f.inner)})"
    if isinstance(f, ValuePath):
        return f"{f.path}[{format_filter(f.filter)}]"
    if isinstance(f, And):
        left = _wrapped(f.left, isinstance(f.left, Or))
        return f"{left} and {_wrapped(f.right, isinstance(f.right, And | Or))}"
    return f"{format_filter(f.left)} or {_wrapped(f.right, isinstance(f.right, Or))}"


def _wrapped(f: Filter, needs_parentheses: bool) -> str:
    return f"({format_filter(f)})" if needs_parentheses else format_filter(f)


# ---------------------------------------------------------------------------------------------
# Resolution against a resource type

# ``schemas`` is no schema attribute, yet RFC 7644 filters on it (rule 11).
SCHEMAS_ATTRIBUTE = Attribute(name="schemas", multi_valued=True, mutability="readOnly")

# Resolves one path: (canonical path, the attribute it targets, the top-level attribute).
_PathResolver = Callable[[AttrPath], tuple[AttrPath, Attribute, Attribute]]


def resolve_path(path: AttrPath, rt: ResourceType) -> tuple[AttrPath, Attribute, Attribute]:
    """Canonicalise a top-level path: (path, target attribute, top-level attribute).
    Unknown names raise invalidFilter."""
    if path.urn is None and path.attr.lower() == "schemas" and path.sub is None:
        return AttrPath(None, "schemas"), SCHEMAS_ATTRIBUTE, SCHEMAS_ATTRIBUTE
    top = rt.resolve(path.attr, None, path.urn)
    if top is None:
        if path.urn is not None and rt.schema_for(path.urn) is None:
            raise invalid_filter(f"unknown schema '{path.urn}' in '{path}'")
        raise invalid_filter(f"unknown attribute '{path}'")
    resolved = rt.resolve(path.attr, path.sub, path.urn)
    if resolved is None:
        raise invalid_filter(f"'{top.attribute.name}' has no sub-attribute '{path.sub}'")
    urn = None if resolved.is_core else resolved.schema.id
    sub = resolved.sub_attribute.name if resolved.sub_attribute else None
    canonical = AttrPath(urn, resolved.attribute.name, sub)
    if resolved.target.returned == "never" or resolved.attribute.returned == "never":
        raise invalid_filter(f"'{canonical}' cannot be used in a filter")
    return canonical, resolved.target, resolved.attribute


def _sub_resolver(parent_path: AttrPath, parent: Attribute) -> _PathResolver:
    def resolve(path: AttrPath) -> tuple[AttrPath, Attribute, Attribute]:
        sub = parent.sub(path.attr) if path.urn is None and path.sub is None else None
        if sub is None:
            raise invalid_filter(f"'{parent_path}' has no sub-attribute '{path}'")
        return AttrPath(None, sub.name), sub, sub

    return resolve


def resolve_filter(f: Filter, rt: ResourceType) -> Filter:
    """``f`` with every path canonicalised through the schema and every comparison checked
    against the attribute's type; see the module docstring for what is refused."""
    return _resolve(f, lambda path: resolve_path(path, rt))


def _resolve(f: Filter, resolve: _PathResolver) -> Filter:
    if isinstance(f, And):
        return And(_resolve(f.left, resolve), _resolve(f.right, resolve))
    if isinstance(f, Or):
        return Or(_resolve(f.left, resolve), _resolve(f.right, resolve))
    if isinstance(f, Not):
        return Not(_resolve(f.inner, resolve))
    if isinstance(f, Present):
        return Present(resolve(f.path)[0])
    if isinstance(f, ValuePath):
        path, target, _ = resolve(f.path)
        if path.sub is not None or not target.is_complex:
            raise invalid_filter(f"'{path}' is not a complex attribute; it takes no '[...]'")
        return ValuePath(path, _resolve(f.filter, _sub_resolver(path, target)))
    path, target, _ = resolve(f.path)
    if target.is_complex:
        value_sub = target.sub("value")
        if not (target.multi_valued and value_sub is not None):
            raise invalid_filter(
                f"'{path}' is complex: compare one of its sub-attributes, or use 'pr'"
            )
        path, target = AttrPath(path.urn, path.attr, value_sub.name), value_sub
    return Compare(path, f.op, _checked_literal(path, target, f.op, f.value))


def _checked_literal(path: AttrPath, target: Attribute, op: str, value: CompValue) -> CompValue:
    """The literal to compare with, or invalidFilter when the operator or the literal does not
    fit the attribute's type (RFC 7644 §3.4.2.2: gt/ge/lt/le on boolean or binary are errors)."""
    if op not in COMPARE_OPS:
        raise invalid_filter(f"unknown operator '{op}'")
    kind = target.type
    if value is None:
        if op not in ("eq", "ne"):
            raise invalid_filter(f"'{path} {op} null': only eq and ne compare with null")
        return None
    if kind in ("boolean", "binary") and op not in ("eq", "ne"):
        raise invalid_filter(f"'{path}' is {kind}: only eq, ne and pr apply, not '{op}'")
    if kind in ("integer", "decimal", "dateTime") and op in SUBSTRING_OPS:
        raise invalid_filter(f"'{path}' is {kind}: '{op}' applies only to strings")
    if kind == "boolean":
        if not isinstance(value, bool):
            raise invalid_filter(f"'{path}' is boolean: compare it with true or false")
        return value
    if kind in ("integer", "decimal"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise invalid_filter(f"'{path}' is {kind}: compare it with a number")
        return value
    if not isinstance(value, str):
        raise invalid_filter(f"'{path}' is {kind}: compare it with a string in double quotes")
    if kind == "dateTime":
        instant = parse_datetime(value)
        if instant is None:
            raise invalid_filter(f"'{path}' is dateTime: {value!r} is not an xsd:dateTime")
        return format_datetime(instant)
    return value


# ---------------------------------------------------------------------------------------------
# Reference evaluation

# Looks up one (resolved) path: (its target attribute, its present values).
_Lookup = Callable[[AttrPath], tuple[Attribute, list[Any]]]


def evaluate(f: Filter, resource: Mapping[str, Any], rt: ResourceType) -> bool:
    """Whether ``resource`` (a document as served; extension attributes under their URN key)
    matches ``f``, by the rules in the module docstring. Resolves ``f`` first, so type errors
    in the filter raise invalidFilter."""
    resolved = resolve_filter(f, rt)
    return _matches(resolved, lambda path: _resource_values(resource, path, rt))


def is_present(value: Any) -> bool:
    """Rule 1: None, "", [] and {} (and complex values with only empty parts) are absent."""
    if value is None or value == "":
        return False
    if isinstance(value, Mapping):
        return any(is_present(v) for v in value.values())
    if isinstance(value, list):
        return any(is_present(v) for v in value)
    return True


def get_key(mapping: Mapping[str, Any], name: str) -> Any:
    """``mapping[name]`` matching the key without regard to case; None when missing."""
    if name in mapping:
        return mapping[name]
    lowered = name.lower()
    return next((v for k, v in mapping.items() if k.lower() == lowered), None)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _resource_values(
    resource: Mapping[str, Any], path: AttrPath, rt: ResourceType
) -> tuple[Attribute, list[Any]]:
    _, target, top = resolve_path(path, rt)
    container: Any = resource if path.urn is None else get_key(resource, path.urn)
    raw = get_key(container, path.attr) if isinstance(container, Mapping) else None
    values = _as_list(raw) if top.multi_valued else [raw]
    if path.sub is not None:
        values = [get_key(v, path.sub) if isinstance(v, Mapping) else None for v in values]
    return target, [v for v in values if is_present(v)]


def _matches(f: Filter, lookup: _Lookup) -> bool:
    if isinstance(f, And):
        return _matches(f.left, lookup) and _matches(f.right, lookup)
    if isinstance(f, Or):
        return _matches(f.left, lookup) or _matches(f.right, lookup)
    if isinstance(f, Not):
        return not _matches(f.inner, lookup)
    attribute, values = lookup(f.path)
    if isinstance(f, Present):
        return bool(values)
    if isinstance(f, ValuePath):
        return any(
            isinstance(element, Mapping) and _matches(f.filter, _element_lookup(element, attribute))
            for element in values
        )
    return any(_compare(attribute, f.op, v, f.value) for v in (values or [None]))


def element_matches(f: Filter, element: Mapping[str, Any], parent: Attribute) -> bool:
    """Whether one element of the complex attribute ``parent`` satisfies the inner filter of a
    value path (already resolved against ``parent``); PATCH uses it to select elements."""
    return _matches(f, _element_lookup(element, parent))


def _element_lookup(element: Mapping[str, Any], parent: Attribute) -> _Lookup:
    def lookup(path: AttrPath) -> tuple[Attribute, list[Any]]:
        sub = parent.sub(path.attr)
        if sub is None:  # resolve_filter has checked every name; defensive only
            raise invalid_filter(f"'{parent.name}' has no sub-attribute '{path.attr}'")
        value = get_key(element, sub.name)
        return sub, [value] if is_present(value) else []

    return lookup


def _compare(attribute: Attribute, op: str, actual: Any, literal: CompValue) -> bool:
    """One value against one literal (rules 4 to 8)."""
    if actual is None or literal is None:
        if op == "eq":
            return actual is None and literal is None
        return op == "ne" and (actual is None) != (literal is None)
    if op == "ne":
        return not _compare(attribute, "eq", actual, literal)
    left, right = _comparable(attribute, actual, literal)
    if left is None or right is None:
        return False  # a stored value of the wrong type equals nothing
    if op == "eq":
        return bool(left == right)
    if op in SUBSTRING_OPS:
        if not (isinstance(left, str) and isinstance(right, str)):
            return False
        if op == "co":
            return right in left
        return left.startswith(right) if op == "sw" else left.endswith(right)
    try:
        if op == "gt":
            return bool(left > right)
        if op == "ge":
            return bool(left >= right)
        if op == "lt":
            return bool(left < right)
        return bool(left <= right)
    except TypeError:
        return False


def _comparable(attribute: Attribute, actual: Any, literal: CompValue) -> tuple[Any, Any]:
    """Both sides in the form the attribute's type compares in; None for a side that does not
    fit the type."""
    kind = attribute.type
    if kind == "boolean":
        return (
            actual if isinstance(actual, bool) else None,
            literal if isinstance(literal, bool) else None,
        )
    if kind in ("integer", "decimal"):

        def number(v: Any) -> Any:
            return v if isinstance(v, int | float) and not isinstance(v, bool) else None

        return number(actual), number(literal)
    if kind == "dateTime":

        def instant(v: Any) -> Any:
            return parse_datetime(v) if isinstance(v, str) else None

        return instant(actual), instant(literal)
    if not (isinstance(actual, str) and isinstance(literal, str)):
        return None, None
    if attribute.case_exact:
        return actual, literal
    return actual.lower(), literal.lower()
