"""Where components keep their files: ``$SSO_HARNESS_HOME``, else ``~/.local/share/sso-harness``."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; one process at a time creates the files
    fcntl = None  # type: ignore[assignment]


def data_dir() -> Path:
    """The data directory (created on first use)."""
    configured = os.environ.get("SSO_HARNESS_HOME")
    path = Path(configured) if configured else Path.home() / ".local" / "share" / "sso-harness"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def creating_files_in(directory: Path) -> Iterator[None]:
    """Hold ``directory``'s lock while checking for and creating files there: processes that
    start together on a fresh data directory (pytest-xdist workers, ``load`` children) would
    otherwise each make their own key, or read a file another is still writing."""
    directory.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        yield
        return
    fd = os.open(directory / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
