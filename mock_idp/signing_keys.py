"""The IdP's signing keys: the active one first, older ones still published (rollover).

Also the attacker's key for the mutators that sign with it (``wrong-key``,
``keyinfo-self-signed``): made on first use only, since making a
key costs more than most scenarios spend on keys at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cryptography import x509

from harness.protocol.keys import KeyPair, generate_key_pair


class SigningKeys:
    def __init__(
        self,
        keys: Sequence[KeyPair],
        *,
        extra_certificates: Sequence[x509.Certificate] = (),
        attacker: KeyPair | None = None,
    ) -> None:
        if not keys:
            raise ValueError("the IdP needs at least one signing key")
        self.keys = list(keys)
        self.extra_certificates = list(extra_certificates)
        self._attacker = attacker

    @property
    def active(self) -> KeyPair:
        return self.keys[0]

    def published_certificates(self) -> list[x509.Certificate]:
        return [k.certificate for k in self.keys] + self.extra_certificates

    def rollover(self, now: dt.datetime, new_key: KeyPair | None = None) -> KeyPair:
        """Sign with a new key from now on; the old ones stay in metadata (SDP-SP37)."""
        key = new_key or generate_key_pair("sso-harness-mock-idp", now=now)
        self.keys.insert(0, key)
        return key

    def activate(self, index: int) -> None:
        """Sign with the published key at ``index`` (e.g. the second one, SP check P06)."""
        self._check_index(index)
        self.keys.insert(0, self.keys.pop(index))

    def retire(self, index: int) -> None:
        if len(self.keys) == 1:
            raise ValueError("the last signing key cannot be retired")
        self._check_index(index)
        del self.keys[index]

    def _check_index(self, index: int) -> None:
        if not 0 <= index < len(self.keys):
            raise ValueError(f"no signing key {index}")

    def swap_attacker(self, key: KeyPair | None) -> KeyPair | None:
        """Let ``key`` (another IdP's, say) make the attacks from now on; the key it replaces
        is returned, to be swapped back."""
        previous, self._attacker = self._attacker, key
        return previous

    def attacker(self, now: dt.datetime) -> KeyPair:
        if self._attacker is None:
            self._attacker = generate_key_pair("attacker.invalid", now=now)
        return self._attacker

    @property
    def attacker_if_made(self) -> KeyPair | None:
        return self._attacker
