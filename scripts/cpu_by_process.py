"""Where a run's CPU goes: CPU seconds per command line and per test module, read from /proc.

The suite is CPU-bound on two cores, so its wall time follows its CPU seconds, and most of them are
spent outside pytest's workers: emulators (detached ones too), job processes, jsii kernels, the CDK
CLI, Spark. Wall-clock profiles and per-test durations do not see them; this does. Every process whose
environment holds ``--marker`` (inherited by everything a marked command starts, detached or not) is
sampled every ``--interval`` seconds until ``--pid`` exits (or Ctrl-C); its user + system time is
attributed to its command line and to the test module whose ``PYTEST_CURRENT_TEST`` it inherited.
A process that lives less than one interval is missed, and one that execs is counted under its last
command line. Linux only.

Usage::

    PROF_MARK=1 make test & python scripts/cpu_by_process.py --pid $! --out cpu.json
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: str) -> float | None:
    """User + system seconds of one process (its children not included), or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _command(pid: str) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return None


def _module(pid: str, marker: bytes) -> str | None:
    """The test module a process started with ``marker`` in its environment inherited; None if unmarked."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    if marker not in environ:
        return None
    for entry in environ:
        if entry.startswith(b"PYTEST_CURRENT_TEST="):
            return entry.split(b"=", 1)[1].decode(errors="replace").split("::", 1)[0]
    return "(no test)"


def sample(marker: str, interval: float, until: int | None) -> dict[str, tuple[str, str, float]]:
    """pid → (command line, test module, CPU seconds), sampled until process ``until`` exits (or Ctrl-C).

    A process is looked at again when its command line changes: between fork and exec it still has
    its parent's environment and command line."""
    wanted = marker.encode()
    seen: dict[str, tuple[str, str, float]] = {}
    unmarked: dict[str, str] = {}  # pid → the command line it had when found unmarked
    try:
        while until is None or Path(f"/proc/{until}").exists():
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                command = _command(pid)
                if command is None or unmarked.get(pid) == command:
                    continue
                if pid not in seen:
                    module = _module(pid, wanted)
                    if module is None:
                        unmarked[pid] = command
                        continue
                    seen[pid] = (command, module, 0.0)
                cpu = _cpu(pid)
                if cpu is not None:
                    seen[pid] = (command or seen[pid][0], seen[pid][1], cpu)
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    return seen


def report(seen: dict[str, tuple[str, str, float]], words: int = 3) -> dict[str, dict[str, float]]:
    """CPU seconds by command (its first ``words`` words), by test module, and by both."""
    by_command: collections.Counter[str] = collections.Counter()
    by_module: collections.Counter[str] = collections.Counter()
    by_both: collections.Counter[str] = collections.Counter()
    for command, module, cpu in seen.values():
        short = " ".join(command.split()[:words])
        by_command[short] += cpu
        by_module[module] += cpu
        by_both[f"{module} | {short}"] += cpu
    return {
        name: {key: round(value, 2) for key, value in counter.most_common()}
        for name, counter in (("command", by_command), ("module", by_module), ("module | command", by_both))
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--marker", default="PROF_MARK=1", help="environment entry of the processes to count")
    parser.add_argument("--pid", type=int, help="stop when this process exits (default: at Ctrl-C)")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between samples")
    parser.add_argument("--out", type=Path, help="write the whole report there as JSON")
    parser.add_argument("--top", type=int, default=25, help="rows printed per table")
    args = parser.parse_args(argv)
    tables = report(sample(args.marker, args.interval, args.pid))
    if args.out:
        args.out.write_text(json.dumps(tables, indent=1))
    for name, rows in tables.items():
        print(f"CPU seconds by {name}: {sum(rows.values()):.1f} in all")
        for key, value in list(rows.items())[: args.top]:
            print(f"{value:9.1f}  {key[:150]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
