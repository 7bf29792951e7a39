"""Run the chaos test and put its outcome table into docs/reliability.md.

.venv/bin/python scripts/update_chaos_table.py [seed]
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "reliability.md"
BLOCK = re.compile(r"(<!-- chaos:start -->\n).*?(<!-- chaos:end -->)", re.S)


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "chaos.md"
        env = {**os.environ, "SM_CHAOS_REPORT": str(report)}
        if argv:
            env["SM_CHAOS_SEED"] = argv[0]
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/test_local_chaos.py", "-q", "-n", "0", "-s"], cwd=ROOT, env=env
        )
        if done.returncode != 0 or not report.exists():
            print("chaos test failed; docs/reliability.md unchanged", file=sys.stderr)
            return 1
        table = report.read_text()
    text = GUIDE.read_text()
    updated = BLOCK.sub(lambda m: m.group(1) + table + m.group(2), text)
    GUIDE.write_text(updated)
    print("docs/reliability.md chaos table", "updated" if updated != text else "unchanged")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
