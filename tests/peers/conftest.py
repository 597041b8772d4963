"""Fixtures: each peer SP with the mock IdP on loopback, and each peer SP alone as a file
target for the harness (``sso-harness run --target FILE``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .onelogin_sp import create_app as onelogin_app
from .pysaml2_sp import create_app as pysaml2_app
from .servers import Loopback, PeerTarget, peer_as_target, peer_on_loopback

PEERS = {"pysaml2": pysaml2_app, "python3-saml": onelogin_app}


@pytest.fixture(params=sorted(PEERS))
def peer_world(request: pytest.FixtureRequest) -> Iterator[Loopback]:
    """A peer SP and the mock IdP (generic preset), both on loopback, trusting each other."""
    with peer_on_loopback(PEERS[request.param]) as world:
        yield world


@pytest.fixture(params=sorted(PEERS))
def peer_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PeerTarget]:
    """A peer SP alone on loopback and its target file; the harness starts the IdP."""
    with peer_as_target(PEERS[request.param], tmp_path, f"{request.param} peer SP") as target:
        yield target
