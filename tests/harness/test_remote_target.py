"""A real SP from a target file: the reference SP served on loopback as a separate server,
trusting the harness's mock IdP by its metadata, provisioned and observed over HTTP only."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli import main
from harness.protocol.home import data_dir
from mock_idp.idp import MockIdP
from mock_idp.keystore import load_or_create
from reference_sp.app import ReferenceSP, Settings
from tests.support.servers import serve

pytestmark = pytest.mark.loopback

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def target_file(tmp_path: Path) -> Iterator[Path]:
    idp_port = free_port()
    # The metadata the harness's IdP will publish: the data directory's key at that address.
    idp = MockIdP(
        f"http://127.0.0.1:{idp_port}", signing_keys=[load_or_create(data_dir() / "mock-idp")]
    )
    sp_port = free_port()
    sp = ReferenceSP(
        Settings(
            db_url=f"sqlite:///{tmp_path / 'sp.sqlite3'}", base_url=f"http://127.0.0.1:{sp_port}"
        )
    )
    with serve(sp.app, port=sp_port) as base:
        sp.add_organization(
            "acme", "remote-token", idp_metadata=idp.metadata_xml(), email_domains=["example.com"]
        )
        path = tmp_path / "target.toml"
        path.write_text(
            f"""
name = "reference SP on loopback"
[sp]
base_url = "{base}"
email_domain = "example.com"
[scim]
url = "{base}/scim/v2"
token_env = "REMOTE_SCIM_TOKEN"
[idp]
port = {idp_port}
[features]
admin = true
licenses = true
activations = true
idp_initiated = true
single_logout = true
"""
        )
        yield path
    sp.close()


def test_a_suite_runs_against_a_remote_sp(
    target_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMOTE_SCIM_TOKEN", "remote-token")
    report = tmp_path / "report.json"
    status = main(
        [
            "run",
            str(SCENARIOS / "deprovisioning" / "blocked-employee-loses-everything.yaml"),
            "--target",
            str(target_file),
            "--dialect",
            "entra",
            "--json",
            str(report),
        ]
    )
    assert status == 0, report.read_text() if report.exists() else "no report"
    assert '"target": "' in report.read_text()


def test_a_bad_target_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "target.toml"
    path.write_text("[sp]\nbase_url = 'http://127.0.0.1:1'\n[probes]\nwho = '/x'\n")
    assert main(["run", "--target", str(path)]) == 2
    assert "unknown key 'probes.who'" in capsys.readouterr().err
