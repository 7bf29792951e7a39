"""Where sm_constructs keeps what it makes once per machine and user, not per app, synth or emulator: the
emulator's Node.js SDK and compile cache, the job-name rule's evaluations (:mod:`sm_constructs.nag._names`)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_root"]


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/sm-constructs``, else ``~/.cache/sm-constructs`` (the XDG Base Directory default)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sm-constructs"
