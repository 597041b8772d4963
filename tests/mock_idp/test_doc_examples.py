"""docs/mock-idp.md: every curl example runs, in the order written, against a fresh
``sso-harness idp`` (and a reference SP standing in at 127.0.0.1:8001), as a reader would paste
them; every Python example runs too."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "mock-idp.md"
DOCUMENTED_SP = "http://127.0.0.1:8001"
STARTUP = 30.0


def fenced(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.MULTILINE | re.DOTALL)


def start(home: Path, *command: str) -> tuple[subprocess.Popen[str], str]:
    """The command, started the way a reader starts it; its base URL from the banner."""
    env = {**os.environ, "SSO_HARNESS_HOME": str(home)}
    process = subprocess.Popen(
        [sys.executable, "-m", "harness", *command, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    found = re.search(r"http://127\.0\.0\.1:\d+", first)
    assert found, f"{command}: {first}{process.stderr.read() if process.stderr else ''}"
    url = found.group(0)
    deadline = time.monotonic() + STARTUP
    while True:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{command} did not start"
        time.sleep(0.1)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[str, str]]:
    started = []
    try:
        started.append(start(tmp_path / "home", "idp"))
        started.append(start(tmp_path / "home", "sp", "--db", "sqlite://", "--scim-token", "TOKEN"))
        yield started[0][1], started[1][1]
    finally:
        for process, _ in started:
            process.terminate()
            process.communicate(timeout=15)


@pytest.mark.loopback
@pytest.mark.skipif(shutil.which("curl") is None, reason="the examples need curl")
def test_every_curl_example_works_in_order(servers: tuple[str, str], tmp_path: Path) -> None:
    idp, sp = servers
    (tmp_path / "sp-metadata.xml").write_bytes(httpx.get(f"{sp}/saml/metadata").content)
    # Each example line fails the script on an HTTP error (--fail-with-body) and names itself.
    script = [
        "set -e",
        f"IDP={idp}",
        'curl() { command curl --fail-with-body "$@"'
        ' || { echo "failed: curl $*" >&2; return 1; }; }',
    ]
    for block in fenced(DOC.read_text(), "sh"):
        script.append(block.replace(DOCUMENTED_SP, sp))
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
