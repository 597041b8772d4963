"""What the signature and wrapping attacks share: the user the attacker wants to be, copies of
a signed assertion with its signature kept or taken off, and the places of a Response they go.

The IdP signs the real user; an attacker holds that signed message and no IdP key. Each attack
puts ``value`` (the attacker's choice of NameID) where a naive SP reads the identity.
"""

from __future__ import annotations

import copy

from lxml import etree

from . import constants as c
from .ids import new_id
from .mutation import Built, MutationContext, Params, str_param
from .signature_parts import own_signature

__all__ = [
    "attacker_user",
    "drop_signature",
    "fresh_id",
    "payload",
    "replace_payload",
    "retarget",
    "signed",
    "unsign_envelope",
    "unsigned_copy",
]


def attacker_user(params: Params) -> str:
    return str_param(params, "value", "admin@example.com")


def fresh_id(ctx: MutationContext) -> str:
    return new_id(ctx.rng)


def signed(element: etree._Element | None) -> bool:
    return element is not None and own_signature(element) is not None


def retarget(assertion: etree._Element, value: str) -> None:
    """The assertion's own Subject/NameID says ``value`` (not a nested copy's)."""
    name_id = assertion.find(f"{c.q(c.SAML, 'Subject')}/{c.q(c.SAML, 'NameID')}")
    if name_id is not None:
        name_id.text = value


def unsigned_copy(element: etree._Element) -> etree._Element:
    """``element`` as its signer digested it: its own signature taken off."""
    duplicate = copy.deepcopy(element)
    drop_signature(duplicate)
    return duplicate


def drop_signature(element: etree._Element) -> bool:
    signature = own_signature(element)
    if signature is None:
        return False
    element.remove(signature)
    return True


def payload(response: etree._Element) -> etree._Element | None:
    """The Response's (first) Assertion or EncryptedAssertion."""
    for child in response:
        if child.tag in (c.q(c.SAML, "Assertion"), c.q(c.SAML, "EncryptedAssertion")):
            return child
    return None


def replace_payload(response: etree._Element, replacement: etree._Element) -> None:
    current = payload(response)
    if current is not None:
        response.replace(current, replacement)


def unsign_envelope(built: Built, params: Params, ctx: MutationContext) -> etree._Element:
    """An attacker who rewrote the assertion cannot sign the Response again: take its signature
    off once the assertion carries the wrapped signature (nothing to do for an unsigned one)."""
    if (
        built.assertion is not None
        and built.assertion.find(f".//{c.q(c.DS, 'Signature')}") is not None
    ):
        drop_signature(built.response)
    return built.response
