"""Every Python example in docs/mock-idp.md and docs/reference-sp.md runs as a reader would run
it: pasted into a fresh interpreter, in a folder holding the metadata files the example reads
(``idp.xml`` and ``sp-metadata.xml``, as the curl examples save them)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.protocol.saml.metadata import build_sp_metadata
from mock_idp.idp import MockIdP
from reference_sp.app import ReferenceSP, Settings
from tests.reference_sp.conftest import sample_key

DOCS = Path(__file__).resolve().parents[1] / "docs"
EXAMPLES = [
    pytest.param(block, id=f"{doc}-{number}")
    for doc in ("mock-idp.md", "reference-sp.md")
    for number, block in enumerate(
        re.findall(r"^```python\n(.*?)^```", (DOCS / doc).read_text(), re.MULTILINE | re.DOTALL)
    )
]


def test_both_docs_have_python_examples() -> None:
    assert {p.id.split("-")[0] for p in EXAMPLES} == {"mock", "reference"}


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_example_runs(example: str, tmp_path: Path) -> None:
    idp = MockIdP("http://127.0.0.1:8002", signing_keys=[sample_key("idp")])
    (tmp_path / "idp.xml").write_bytes(idp.metadata_xml())
    sp = ReferenceSP(Settings(db_url="sqlite://", base_url="http://127.0.0.1:8001"))
    try:
        (tmp_path / "sp-metadata.xml").write_bytes(build_sp_metadata(sp.saml.sp_metadata()))
    finally:
        sp.close()
    done = subprocess.run(
        [sys.executable, "-c", example],
        cwd=tmp_path,
        env={**os.environ, "SSO_HARNESS_HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
