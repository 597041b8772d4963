"""``sso-harness replay --target FILE.toml``: a capture replayed against a real SP (the reference
SP run as a separate process, reached only over HTTP through its target file), signed by the
key of ``sso-harness idp`` that the SP trusts, its user created over the SP's SCIM first."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.targets import load_target
from tests.harness.captures import preset_exchange
from tests.support.reference_process import reference_sp_process

pytestmark = pytest.mark.loopback


def test_a_capture_replays_against_the_sp_of_a_target_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REMOTE_SCIM_TOKEN", "remote-token")
    capture = tmp_path / "entra.xml"
    capture.write_bytes(preset_exchange("entra").response)
    with reference_sp_process(tmp_path) as target:
        assert main(["replay", str(capture), "--target", str(target)]) == 0
        signed_in = capsys.readouterr().out
        assert main(["replay", str(capture), "--target", str(target), "--keep", "audience"]) == 1
        refused = capsys.readouterr().out
        # --to: the SP by its ACS alone (the user exists there now), the IdP by its address.
        sp = load_target(target)
        idp = f"http://127.0.0.1:{sp.idp_port}"
        assert (
            main(["replay", str(capture), "--to", f"{sp.sp_base}/saml/acs", "--idp-url", idp]) == 0
        )
        assert "signed in: alice@example.com" in capsys.readouterr().out
    assert "signed in: alice@example.com" in signed_in
    assert "(wrong-audience) [SAML-CORE-2.5.1.4]" in refused and "signed in: nobody" in refused
