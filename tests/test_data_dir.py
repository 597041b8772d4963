"""Processes that start together on a fresh data directory (pytest-xdist workers, the children
of ``sso-harness load``) create its keys once: they all use the key that is on disk."""

from __future__ import annotations

import os
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


SHOW_WORLD_KEY = """
import hashlib
from harness.world import world_key
key = world_key("mock idp, second")
print(hashlib.sha256(key.certificate_pem()).hexdigest(), key.certificate.subject.rfc4514_string())
"""


def test_in_process_worlds_keep_their_keys_in_the_data_directory(tmp_path: Path) -> None:
    """A run loads the keys of its in-process worlds; only the first run generates them."""
    env = {**os.environ, "SSO_HARNESS_HOME": str(tmp_path)}
    runs = [
        subprocess.run(
            [sys.executable, "-c", SHOW_WORLD_KEY],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        for _ in range(2)
    ]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr
    first, second = (r.stdout.strip() for r in runs)
    assert first == second
    assert first.endswith(" CN=sso-harness mock idp\\, second")
    assert (tmp_path / "world-keys" / "mock-idp--second.key").stat().st_mode & 0o077 == 0


def test_a_run_with_a_data_directory_it_cannot_write_generates_its_keys_in_memory(
    tmp_path: Path,
) -> None:
    """The worlds' keys on disk are a cache: a home that cannot be written (here: under a
    file) costs the run its key generation, not the run."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = {**os.environ, "SSO_HARNESS_HOME": str(blocker / "home")}
    done = subprocess.run(
        [sys.executable, "-m", "harness", "run", "-k", "blocked-employee-loses-everything"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "all checks passed" in done.stdout + done.stderr


def test_a_broken_key_file_in_the_data_directory_does_not_stop_a_run(tmp_path: Path) -> None:
    """A certificate cut short (a process killed while writing it) is a broken cache entry: the
    run makes the key in memory."""
    keys = tmp_path / "world-keys"
    keys.mkdir()
    (keys / "mock-idp.key").write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n")
    (keys / "mock-idp.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    env = {**os.environ, "SSO_HARNESS_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", SHOW_WORLD_KEY.replace("mock idp, second", "mock idp")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith(" CN=sso-harness mock idp")
