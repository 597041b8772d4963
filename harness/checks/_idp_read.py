"""A Response the IdP under test sent, read once for every judge: parsed with the hardened
parser, its signatures verified against the IdP's metadata keys only (never KeyInfo), its
EncryptedAssertion decrypted with the SP's keys.

Judges read content through :meth:`ReadResponse.envelope` and :meth:`ReadResponse.assertion`,
which skip (with the reason) when the content cannot be trusted: a signature that does not
verify, an assertion that does not decrypt, nothing signed at all. The failures themselves are
judged by their own checks (signed, decrypted), so one break is one FAIL, not twenty.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from lxml import etree

from harness.checks.idp_observations import IdpResponseSeen
from harness.checks.model import CheckFailed, CheckSkipped
from harness.protocol.refusal import Refusal
from harness.protocol.saml import constants as c
from harness.protocol.saml.encryption import Decrypted, decrypt_element
from harness.protocol.saml.ids import parse_instant
from harness.protocol.saml.signing import VerifiedSignature, verify_element
from harness.protocol.xml import parse_xml

_ASSERTION_TAGS = (c.q(c.SAML, "Assertion"), c.q(c.SAML, "EncryptedAssertion"))


@dataclass(frozen=True)
class Signed:
    """One element's own signature: verified, failed (with the refusal), or absent."""

    verified: VerifiedSignature | None = None
    error: Refusal | None = None

    @property
    def present(self) -> bool:
        return self.verified is not None or self.error is not None


@dataclass(frozen=True)
class ReadResponse:
    root: etree._Element | None  # the Response as parsed; None when it did not parse
    problem: str | None  # why there is no usable samlp:Response
    response_signature: Signed
    assertion_count: int  # Assertion + EncryptedAssertion, wherever they stand (SDP-IDP10)
    encrypted: etree._Element | None  # the EncryptedAssertion, if the assertion came so
    decrypted: Decrypted | None
    decryption_error: Refusal | None
    found_assertion: etree._Element | None  # the one assertion (decrypted), not yet trusted
    assertion_signature: Signed

    def untrusted(self) -> str | None:
        """Why the content cannot be trusted, or None when a verified signature covers it."""
        if self.problem is not None:
            return self.problem
        if self.response_signature.error is not None:
            return "the Response's signature does not verify with the IdP's metadata keys"
        if self.decryption_error is not None:
            why = self.decryption_error.message
            return f"the EncryptedAssertion does not decrypt with the SP's keys ({why})"
        if self.assertion_signature.error is not None:
            return "the Assertion's signature does not verify with the IdP's metadata keys"
        if self.response_signature.verified is None and self.assertion_signature.verified is None:
            return "nothing in the Response is signed by the IdP"
        return None

    def envelope(self) -> etree._Element:
        """The Response to read fields from (as signed, when signed); skips when untrusted."""
        reason = self.untrusted()
        if reason is not None or self.root is None:
            raise CheckSkipped(f"{reason}: its content is not judged")
        verified = self.response_signature.verified
        return verified.signed_element if verified is not None else self.root

    def assertion(self) -> etree._Element:
        """The assertion as a verified signature covers it; skips when there is none."""
        self.envelope()
        if self.found_assertion is None:
            raise CheckSkipped("the Response carries no assertion")
        if self.assertion_signature.verified is not None:
            return self.assertion_signature.verified.signed_element
        if self.response_signature.verified is None:
            raise CheckSkipped("the assertion is not covered by a verified signature")
        return self.found_assertion  # read from inside the verified Response


def _verify(element: etree._Element, seen: IdpResponseSeen) -> Signed:
    if element.find(c.q(c.DS, "Signature")) is None:
        return Signed()
    try:
        # SHA-1 verifies here: SDP-ALG01 is judged by its own check, not by refusing to read.
        return Signed(verify_element(element, seen.idp.signing_certificates, allow_sha1=True))
    except Refusal as exc:
        return Signed(error=exc)


def _count_assertions(root: etree._Element) -> int:
    direct = sum(1 for child in root if child.tag in _ASSERTION_TAGS)
    # One elsewhere (Extensions, StatusDetail, a wrapped copy) counts too: a reader searching
    # the document would find it.
    stray = sum(len(list(e.iter(*_ASSERTION_TAGS))) for e in root if e.tag not in _ASSERTION_TAGS)
    return direct + stray


def _unparsed(problem: str) -> ReadResponse:
    return ReadResponse(None, problem, Signed(), 0, None, None, None, None, Signed())


def _read(seen: IdpResponseSeen) -> ReadResponse:
    try:
        parsed = parse_xml(seen.xml)
    except Refusal as exc:
        return _unparsed(f"the Response does not parse ({exc.reason}: {exc.message})")
    if parsed.tag != c.q(c.SAMLP, "Response"):
        return _unparsed(f"the message is {etree.QName(parsed).localname}, not samlp:Response")
    response_signature = _verify(parsed, seen)
    # Everything below is read from the Response as signed, when its signature verified.
    root = response_signature.verified.signed_element if response_signature.verified else parsed
    count = _count_assertions(root)
    encrypted = root.find(c.q(c.SAML, "EncryptedAssertion"))
    assertion = root.find(c.q(c.SAML, "Assertion"))
    decrypted: Decrypted | None = None
    decryption_error: Refusal | None = None
    if encrypted is not None and assertion is None:
        try:
            decrypted = decrypt_element(encrypted, seen.sp.decryption_keys)
            assertion = decrypted.element
        except Refusal as exc:
            decryption_error = exc
    if assertion is not None and assertion.tag != c.q(c.SAML, "Assertion"):
        assertion = None
    assertion_signature = _verify(assertion, seen) if assertion is not None else Signed()
    return ReadResponse(
        parsed,
        None,
        response_signature,
        count,
        encrypted,
        decrypted,
        decryption_error,
        assertion,
        assertion_signature,
    )


_CACHE_SIZE = 32  # one sign-in's judges run one after another: a handful is plenty
_CACHE: OrderedDict[int, tuple[object, object]] = OrderedDict()
T = TypeVar("T")


def once(seen: object, compute: Callable[[], T]) -> T:
    """``compute()`` for ``seen``, done once while the judges of one message run. Keyed by
    identity (an observation holds a dict, so it is not hashable); the cache keeps ``seen``
    alive, so its id is not reused for another observation while cached."""
    cached = _CACHE.get(id(seen))
    if cached is not None and cached[0] is seen:
        _CACHE.move_to_end(id(seen))
        return cached[1]  # type: ignore[return-value]
    value = compute()
    _CACHE[id(seen)] = (seen, value)
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return value


def read_response(seen: IdpResponseSeen) -> ReadResponse:
    """``seen`` read once: the twenty judges of one Response share the parse and verification."""
    return once(seen, lambda: _read(seen))


def instant(element: etree._Element, name: str) -> dt.datetime | None:
    """An optional instant attribute; a malformed one fails the judge that reads it."""
    value = element.get(name)
    if value is None:
        return None
    try:
        return parse_instant(value, field=name)
    except Refusal as exc:
        raise CheckFailed(
            exc.message, expected="an xs:dateTime in UTC", observed=value, evidence={name: value}
        ) from exc


def evidence(**fields: Any) -> dict[str, Any]:
    """Evidence with the fields a judge looked at; long values cut, so a report stays small."""
    return {k: (v[:300] if isinstance(v, str) else v) for k, v in fields.items()}
