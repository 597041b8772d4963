"""Processes that start together on a fresh data directory (pytest-xdist workers, the children
of ``sso-harness load``) create its keys once: they all use the key that is on disk."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SHOW_KEYS = """
from pathlib import Path
from mock_idp.keystore import load_or_create
from reference_sp.sp_keys import load_or_create_key, load_or_create_secret
home = Path({home!r})
idp = load_or_create(home / "mock-idp").certificate_pem()
sp = load_or_create_key(home / "reference-sp").certificate_pem()
secret = load_or_create_secret(home / "reference-sp")
import hashlib
print(hashlib.sha256(idp + sp + secret).hexdigest())
"""


@pytest.mark.slow
def test_processes_starting_together_share_the_keys_on_disk(tmp_path: Path) -> None:
    for round_ in range(3):
        home = tmp_path / f"home-{round_}"
        script = SHOW_KEYS.format(home=str(home))
        started = [
            subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
            for _ in range(3)
        ]
        seen = {p.communicate(timeout=60)[0].strip() for p in started}
        assert all(p.returncode == 0 for p in started)
        on_disk = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert seen == {on_disk}
