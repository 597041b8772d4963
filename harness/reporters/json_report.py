"""``--json FILE``: the run report in shared/CONTRACT.md's shape ("Run report"), written when the
run finishes."""

from __future__ import annotations

import json
from pathlib import Path

from harness.events import Event, RunFinished
from harness.reporters._evidence import json_default, readable
from harness.reporters._files import write_atomically
from harness.results import RunReport

_TEXTS = ("message", "expected", "observed")


def report_json(report: RunReport) -> str:
    """The report as JSON text; evidence that is not JSON (bytes, objects) becomes text. A
    scenario skipped before it started is a result with outcome "skip" and check "scenario"."""
    document = report.to_json()
    for result in document["results"]:
        for key in _TEXTS:
            if key in result:
                result[key] = readable(result[key])
    return json.dumps(document, indent=2, ensure_ascii=False, default=json_default) + "\n"


class JsonReporter:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def handle(self, event: Event) -> None:
        if isinstance(event, RunFinished):
            # A lone surrogate (from undecodable evidence) cannot be UTF-8; as a backslash escape
            # it is exactly JSON's own "\udcXX" string escape, so the file stays valid JSON.
            text = report_json(event.report)
            write_atomically(self.path, text.encode("utf-8", "backslashreplace"))
