"""Writing report files: whole or not at all, with one error type the CLI can print."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


class ReportWriteError(OSError):
    """A report file could not be written; the message names the file and the cause."""


def write_atomically(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, so a CI job never
    picks up half a report; creates missing folders."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
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
