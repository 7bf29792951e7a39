"""Shared test set-up.

Fixtures that deploy an app into the emulator (or synthesize a large app) are session-scoped even
when one module uses them: pytest-xdist may run other tests on the same worker between a module's
tests, and a module-scoped fixture would then be torn down and built again, losing the state the
module's later tests build on. Each such module is one xdist group, so its fixture lives on one worker.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # app.py, bench/
# The pinned Node 22 runs the jsii kernel when tests are started outside `make`.
_node_bin = Path(__file__).resolve().parent.parent / "node_modules" / ".bin"
if _node_bin.is_dir():
    os.environ["PATH"] = f"{_node_bin}{os.pathsep}{os.environ.get('PATH', '')}"
