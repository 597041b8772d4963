"""Judges of how an IdP under test protected its Response (saml2int SDP-IDP09, SDP-IDP11,
SDP-ALG01; Profiles 4.1.4.5): signatures by a key of the IdP's metadata, on the Response and
on the Assertion; their algorithms; the assertion encrypted when the SP publishes a key, with
AES-GCM and RSA-OAEP. The checks are made in :mod:`harness.checks.idp_saml`.
"""

from __future__ import annotations

from harness.checks._idp_read import Signed, evidence, read_response
from harness.checks.idp_observations import IdpResponseSeen
from harness.checks.model import CheckFailed, CheckSkipped, Observed
from harness.protocol.saml import constants as c
from harness.protocol.saml.encryption import BLOCK_ALGORITHMS, KEY_TRANSPORTS
from harness.protocol.saml.signing import SHA1_METHODS

_GOOD_BLOCKS = {BLOCK_ALGORITHMS[n][0] for n in ("aes128-gcm", "aes256-gcm")}
_GOOD_TRANSPORTS = {KEY_TRANSPORTS["rsa-oaep"], c.KT_RSA_OAEP_MGF1P}


def _signature_verdict(signed: Signed, what: str) -> Observed:
    if signed.verified is not None:
        subject = signed.verified.certificate.subject.rfc4514_string()
        return Observed(f"{what} verified with the IdP's metadata key ({subject})")
    if signed.error is not None:
        raise CheckFailed(
            f"{what}'s signature does not verify: {signed.error.message}",
            expected="a signature by a key of the IdP's metadata",
            observed=signed.error.reason,
            evidence=evidence(reason=signed.error.reason, rule=signed.error.rule),
        )
    raise CheckFailed(f"{what} is not signed", expected="an enveloped ds:Signature")


def response_signed(seen: IdpResponseSeen) -> Observed:
    read = read_response(seen)
    if read.root is None:
        raise CheckSkipped(f"{read.problem}: nothing to verify")
    return _signature_verdict(read.response_signature, "the Response")


def assertion_signed(seen: IdpResponseSeen) -> Observed:
    read = read_response(seen)
    if read.root is None:
        raise CheckSkipped(f"{read.problem}: nothing to verify")
    if read.decryption_error is not None:
        raise CheckSkipped("the EncryptedAssertion does not decrypt: its signature is unseen")
    if read.found_assertion is None:
        raise CheckSkipped("the Response carries no assertion")
    sealed = " (inside the EncryptedAssertion)" if read.decrypted is not None else ""
    signed = read.assertion_signature
    covered = read.response_signature.verified is not None
    if not signed.present and covered and not seen.sp.want_assertions_signed:
        return Observed("the assertion is covered by the Response's signature (Profiles E26)")
    return _signature_verdict(signed, f"the Assertion{sealed}")


def signature_algorithms(seen: IdpResponseSeen) -> Observed:
    read = read_response(seen)
    if read.root is None:
        raise CheckSkipped(f"{read.problem}: no signature to read")
    roots = [read.root]
    if read.decrypted is not None:
        roots.append(read.decrypted.element)
    used: list[str] = []
    for root in roots:
        for signature in root.iter(c.q(c.DS, "Signature")):
            for tag in ("SignatureMethod", "DigestMethod"):
                used += [e.get("Algorithm", "") for e in signature.iter(c.q(c.DS, tag))]
    if not used:
        raise CheckSkipped("nothing in the Response is signed")
    weak = sorted({u for u in used if u in SHA1_METHODS or "md5" in u})
    fields = evidence(algorithms=sorted(set(used)))
    if weak:
        raise CheckFailed(
            f"signed with SHA-1 or MD5: {', '.join(weak)}",
            expected="SHA-256 or stronger",
            observed=", ".join(weak),
            evidence=fields,
        )
    return Observed(f"signed with {', '.join(sorted(set(used)))}", evidence=fields)


def encrypted(seen: IdpResponseSeen) -> Observed:
    read = read_response(seen)
    if not seen.sp.encryption_wanted:
        raise CheckSkipped("the SP did not ask: its metadata has no encryption key")
    if read.root is None:
        raise CheckSkipped(f"{read.problem}: nothing to look at")
    if read.encrypted is None:
        raise CheckFailed(
            "the assertion was sent in clear to an SP that publishes an encryption key",
            expected="an EncryptedAssertion",
            observed="a plain Assertion",
        )
    return Observed("the assertion came encrypted")


def encryption_algorithms(seen: IdpResponseSeen) -> Observed:
    read = read_response(seen)
    if read.encrypted is None:
        raise CheckSkipped("the assertion was not encrypted")
    used = [e.get("Algorithm", "") for e in read.encrypted.iter(c.q(c.XENC, "EncryptionMethod"))]
    weak = [u for u in used if u not in _GOOD_BLOCKS and u not in _GOOD_TRANSPORTS]
    fields = evidence(algorithms=used)
    if weak or not used:
        raise CheckFailed(
            f"encrypted with {', '.join(weak) or 'no named algorithm'}: saml2int SDP-ALG01 calls "
            "CBC modes and RSA PKCS#1 v1.5 broken",
            expected="AES-GCM content and RSA-OAEP key transport",
            observed=", ".join(used),
            evidence=fields,
        )
    return Observed(f"encrypted with {', '.join(used)}", evidence=fields)
