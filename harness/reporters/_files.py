"""Writing report files: whole or not at all, with one error type the CLI can print."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


class ReportWriteError(OSError):
    """A report file could not be written; the message names the file and the cause."""


def check_report_path(path: str | Path) -> None:
    """Refuse, before the run starts, a report whose folder does not exist: creating it would
    hide a typo (the report lands where no CI step looks), and finding out after a long run
    wastes the run."""
    parent = Path(path).parent
    if not parent.exists():
        raise ReportWriteError(f"cannot write the report: {parent} does not exist")
    if not parent.is_dir():
        raise ReportWriteError(f"cannot write the report: {parent} is not a folder")


def write_atomically(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, so a CI job never
    picks up half a report; never creates folders (see check_report_path)."""
    target = Path(path)
    try:
        # Not mkstemp: its 0600 would hide the report from the CI user that publishes it; "x"
        # creates the file with the usual umask and refuses to reuse an existing one.
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        try:
            with open(temporary, "xb") as out:
                out.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ReportWriteError(f"cannot write the report {target}: {exc.strerror or exc}") from exc
    return target
