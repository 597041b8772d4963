"""Where components keep their files: ``$SSO_HARNESS_HOME``, else ``~/.local/share/sso-harness``."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """The data directory (created on first use)."""
    configured = os.environ.get("SSO_HARNESS_HOME")
    path = Path(configured) if configured else Path.home() / ".local" / "share" / "sso-harness"
    path.mkdir(parents=True, exist_ok=True)
    return path
