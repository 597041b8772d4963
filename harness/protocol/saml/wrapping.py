"""Signature wrapping (XSW): a signed element kept where a verifier finds it while the
element an SP reads is the attacker's."""

from __future__ import annotations

from .mutation import Mutator

WRAPPING_MUTATORS: tuple[Mutator, ...] = ()
