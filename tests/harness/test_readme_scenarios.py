"""The README's "Writing scenarios" section lists every step with every key it takes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.scenario.model import STEP_MODELS

README = Path(__file__).resolve().parents[2] / "README.md"


def writing_scenarios() -> str:
    text = README.read_text()
    start = text.index("## Writing scenarios")
    return text[start : text.index("\n## ", start + 1)]


@pytest.mark.parametrize("kind", list(STEP_MODELS))
def test_every_step_is_listed_with_its_keys(kind: str) -> None:
    section = " ".join(writing_scenarios().split())
    shape = re.search(rf"`{kind}: \{{([^`]*)\}}`", section)
    assert shape is not None, f"no `{kind}: {{...}}` in the README's Writing scenarios"
    named = set(re.findall(r"([a-z_]+)(?=[,:}]|$)", shape.group(1)))
    model = STEP_MODELS[kind]
    keys = {info.alias or name for name, info in model.model_fields.items()}
    assert keys <= named, f"{kind}: the README leaves out {sorted(keys - named)}"
