import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # app.py, bench/
# The pinned Node 22 runs the jsii kernel when tests are started outside `make`.
_node_bin = Path(__file__).resolve().parent.parent / "node_modules" / ".bin"
if _node_bin.is_dir():
    os.environ["PATH"] = f"{_node_bin}{os.pathsep}{os.environ.get('PATH', '')}"
