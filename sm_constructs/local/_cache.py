"""Where the emulator keeps what it builds once per machine and user (not per app or emulator)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_root"]


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/sm-constructs``, else ``~/.cache/sm-constructs`` (the XDG Base Directory default)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sm-constructs"
