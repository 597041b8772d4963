"""The reference SP as a real SP under test: `sso-harness sp` in a process of its own, and the
target file that describes it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from harness.home import data_dir
from mock_idp.idp import MockIdP
from mock_idp.keystore import load_or_create


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def reference_sp_process(
    tmp_path: Path, *sp_options: str, organisation: str = "", probes: str = ""
) -> Iterator[Path]:
    """`sso-harness sp` in its own process, on its own SQLite file, trusting the metadata the
    harness's IdP will publish (the data directory's key at the target's IdP port); yields the
    target file that describes it, with every feature. ``sp_options`` go to `sso-harness sp`
    (``--flaw NAME``, ``--seats N``); ``organisation`` and ``probes`` are the bodies of the file's
    [organisation] and [probes]."""
    idp_port = free_port()
    idp = MockIdP(
        f"http://127.0.0.1:{idp_port}", signing_keys=[load_or_create(data_dir() / "mock-idp")]
    )
    (tmp_path / "idp.xml").write_bytes(idp.metadata_xml())
    sp_port = free_port()
    log = (tmp_path / "sp.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness",
            "sp",
            "--port",
            str(sp_port),
            "--scim-token",
            "remote-token",
            "--idp-metadata",
            str(tmp_path / "idp.xml"),
            "--db",
            f"sqlite:///{tmp_path / 'sp.sqlite3'}",
            *sp_options,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{sp_port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                log.flush()
                raise RuntimeError(f"sso-harness sp did not start: {log.name}")
            time.sleep(0.1)
        path = tmp_path / "target.toml"
        path.write_text(
            f"""
name = "reference SP in its own process"
[sp]
base_url = "{base}"
email_domain = "example.com"
[idp]
port = {idp_port}
[features]
admin = true
licenses = true
activations = true
idp_initiated = true
single_logout = true
[organisation]
{organisation}
[probes]
{probes}
[scim]
url = "{base}/scim/v2"
token_env = "REMOTE_SCIM_TOKEN"
"""
        )
        yield path
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
