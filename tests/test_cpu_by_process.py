"""scripts/cpu_by_process.py attributes CPU seconds to the marked processes it sees (a detached one
too), by command line and by the test module each inherited, and counts no unmarked process.
A process is read again when it execs (before, it has its parent's environment)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from scripts import cpu_by_process

BURN = "import time\nend = time.process_time() + 0.8\nwhile time.process_time() < end: pass\n"


def test_marked_processes_are_counted_by_command_and_module():
    marked = {**os.environ, "PROF_PROBE": "1", "PYTEST_CURRENT_TEST": "tests/test_probe.py::test_x (call)"}
    waiter = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    seen: dict = {}
    sampler = threading.Thread(target=lambda: seen.update(cpu_by_process.sample("PROF_PROBE=1", 0.05, waiter.pid)))
    sampler.start()
    burners = [
        subprocess.Popen([sys.executable, "-c", BURN, "marked"], env=marked),
        # detached: its own session, as the emulators sm-local starts
        subprocess.Popen([sys.executable, "-c", BURN, "detached"], env=marked, start_new_session=True),
        subprocess.Popen([sys.executable, "-c", BURN, "unmarked"]),
    ]
    for burner in burners:
        burner.wait()
    waiter.kill()
    waiter.wait()
    sampler.join(timeout=30)
    tables = cpu_by_process.report(seen, words=100)  # the whole command line: its last word names it
    commands = {command.rsplit(" ", 1)[-1]: cpu for command, cpu in tables["command"].items()}
    assert set(commands) == {"marked", "detached"}  # the unmarked burner is not counted
    # each burned 0.8 s; a sample is at most 0.05 s of wall time before the process ended
    assert all(0.6 <= cpu <= 1.0 for cpu in commands.values()), commands
    assert set(tables["module"]) == {"tests/test_probe.py"}
    assert abs(sum(tables["module"].values()) - sum(commands.values())) < 0.05
