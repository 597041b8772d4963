"""What a mutation is: the draft a mutator changes, the built message it reaches into, the
stages it acts at, and the errors it raises. The mutators themselves live in
:mod:`.mutators` (the protocol rules), :mod:`.wrapping` (signature wrapping) and
:mod:`.parser_attacks` (what an XML parser must refuse); each module only builds on this one.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from lxml import etree

from ..keys import KeyPair
from ..requirements import requirement
from .response import Protection, ResponseSpec

Params = Mapping[str, object]


@dataclass(frozen=True)
class Draft:
    spec: ResponseSpec
    protection: Protection


@dataclass(frozen=True)
class MutationContext:
    now: dt.datetime
    rng: random.Random
    attacker_key: KeyPair | None = None


@dataclass(frozen=True)
class Built:
    """A Response as it will leave the IdP, and what a mutator needs to reach inside it."""

    response: etree._Element
    # The plaintext assertion as signed (None when the Response carries none); also given
    # when the Response carries it encrypted, with ``seal`` to encrypt a changed copy again.
    assertion: etree._Element | None
    seal: Callable[[etree._Element], etree._Element]
    # How the IdP signed and encrypted it: the key, for a row where the IdP itself signs oddly.
    protection: Protection | None = None


DraftStep = Callable[[Draft, Params, MutationContext], Draft]
AssertionStep = Callable[[etree._Element, Params, MutationContext], etree._Element]
ResponseStep = Callable[[Built, Params, MutationContext], etree._Element]
# The serialised message, for what no element tree can hold (a DOCTYPE, entities).
WireStep = Callable[[bytes, Params, MutationContext], bytes]


@dataclass(frozen=True)
class Mutator:
    name: str
    rule: str
    description: str
    on_draft: DraftStep | None = None
    on_content: AssertionStep | None = None
    on_assertion: AssertionStep | None = None
    on_response: ResponseStep | None = None
    on_wire: WireStep | None = None
    # What the message must hold for the mutator to break anything (e.g. "a signed Assertion"),
    # said when it holds none; and whether it signs with the context's attacker key.
    needs: str | None = None
    uses_attacker_key: bool = False

    def __post_init__(self) -> None:
        requirement(self.rule)  # an unregistered rule id fails at import


@dataclass(frozen=True)
class MutatorCall:
    name: str
    params: Mapping[str, object]


class UnknownMutatorError(KeyError):
    pass


class MutatorParamError(ValueError):
    pass


class MutatorNoEffect(Exception):  # noqa: N818 - named for what happened
    """A mutator had nothing to break in this message (e.g. corrupt-signature on an unsigned
    one). The harness's fault, not the peer's: the response must not be sent as if broken."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"mutator {name!r} changes nothing in this response: {why}")
        self.name = name
        self.why = why


def int_param(params: Params, name: str, default: int) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MutatorParamError(f"parameter {name!r} must be an integer")
    return value


def str_param(params: Params, name: str, default: str) -> str:
    value = params.get(name, default)
    if not isinstance(value, str):
        raise MutatorParamError(f"parameter {name!r} must be a string")
    return value


def with_spec(draft: Draft, **changes: object) -> Draft:
    return replace(draft, spec=replace(draft.spec, **changes))  # type: ignore[arg-type]


def with_protection(draft: Draft, **changes: object) -> Draft:
    return replace(draft, protection=replace(draft.protection, **changes))  # type: ignore[arg-type]
