"""The suite's emulator modules rely on pytest-xdist's ``xdist_group``: one group, one worker.

Their session fixtures deploy an app once and later tests build on earlier ones, so a group split
across workers deploys twice and loses state. This runs a small suite the way ``make test`` runs
ours and checks that a group's tests share a worker.
"""

import subprocess
import sys


def test_a_group_runs_on_one_worker(tmp_path):
    (tmp_path / "test_grouped.py").write_text(
        "import os, pytest\n"
        "pytestmark = pytest.mark.xdist_group('one')\n"
        + "".join(
            f"def test_{i}():\n"
            "    with open(os.path.join(os.path.dirname(__file__), 'workers.txt'), 'a') as out:\n"
            "        out.write(os.environ['PYTEST_XDIST_WORKER'] + '\\n')\n"
            for i in range(6)
        )
    )
    (tmp_path / "test_free.py").write_text("".join(f"def test_{i}(): pass\n" for i in range(6)))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    workers = set((tmp_path / "workers.txt").read_text().split())
    assert len(workers) == 1, f"the group ran on {workers}"
    assert "test_grouped.py::test_0@one" in done.stdout
