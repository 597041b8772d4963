"""Who the IdP is at one moment: what drafting, signing, intake and logout need of it.

The IdP's keys roll over, its flaws and preset change through the control API; each piece of
work therefore reads a fresh :class:`IdPIdentity`, a frozen snapshot, instead of the IdP.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from harness.protocol.keys import KeyPair
from harness.protocol.saml.presets import Preset
from harness.protocol.saml.signing import SignatureChoice

from .clock import Clock


def signature_for(algorithm: str, key: KeyPair) -> SignatureChoice:
    """The signature ``algorithm`` names, or ECDSA when the key cannot make an RSA one."""
    if key.key_type == "ec" and algorithm.startswith("rsa"):
        algorithm = "ecdsa-sha256"
    return SignatureChoice.for_algorithm(algorithm)


@dataclass(frozen=True)
class IdPIdentity:
    entity_id: str
    sso_url: str
    slo_url: str
    signing_key: KeyPair
    preset: Preset
    flaws: frozenset[str]
    clock: Clock
    rng: random.Random  # shared with the IdP: message IDs follow one seeded sequence
    persistent_id_secret: bytes  # persistent NameIDs are derived from it
    want_authn_requests_signed: bool = False

    def has_flaw(self, name: str) -> bool:
        return name in self.flaws

    def signature_choice(self) -> SignatureChoice:
        """How the IdP signs its own messages (metadata, logout) under its preset."""
        return signature_for(self.preset.signature.algorithm, self.signing_key)
