"""The processes an emulator started, found from its server's process id, and stopped together.

The server runs in its own session (``sm-local`` starts it with ``start_new_session``). What it
starts is found by parent process id, and by process group and session for what outlived its
parent: the warm interpreter (:mod:`~sm_constructs.local.jobs.zygote`) and the handlers it forks,
job processes (each in a process group of its own, ``os.setsid``, so a timeout kills what it
started too), and endpoint model servers (:mod:`~sm_constructs.local.aws.sagemaker_runtime`).
Read with ``ps`` (Linux and macOS alike).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass

__all__ = ["Process", "alive", "emulator_processes", "is_emulator_server", "stop_all"]

SERVER_MODULE = "sm_constructs.local"


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    pgid: int
    sid: int
    zombie: bool
    args: str

    def kind(self, server: int) -> str:
        """What this process is for the emulator whose server is ``server``."""
        if self.pid == server:
            return "emulator server"
        if "sm_constructs.local.jobs.zygote" in self.args:
            if self.ppid == server:
                return "warm interpreter"
            return "job" if self.pgid == self.pid else "warm interpreter handler"
        if "sm_constructs.local.jobs.inference_handler" in self.args:
            return "endpoint model server"
        program = self.args.split(" ", 1)[0].rsplit("/", 1)[-1]
        return f"job process ({program})"


def _table() -> list[Process]:
    try:
        done = subprocess.run(
            ["ps", "-A", "-ww", "-o", "pid=,ppid=,pgid=,sess=,stat=,args="], capture_output=True, text=True, timeout=30
        )
    except FileNotFoundError:
        raise RuntimeError("sm-local reads the emulator's processes with `ps`, which is not installed") from None
    processes = []
    for line in done.stdout.splitlines():
        fields = line.split(None, 5)
        if len(fields) < 5:
            continue
        pid, ppid, pgid, sid = (int(f) for f in fields[:4])
        processes.append(Process(pid, ppid, pgid, sid, fields[4].startswith("Z"), fields[5] if len(fields) > 5 else ""))
    return processes


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (an exited child its parent has not waited for)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reaps it when it is our exited child
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not any(p.zombie for p in _table() if p.pid == pid)


def is_emulator_server(pid: int, workdir: str) -> bool:
    """``pid`` runs ``python -m sm_constructs.local serve`` for ``workdir`` (not a reused process id)."""
    if not alive(pid):
        return False
    args = next((p.args for p in _table() if p.pid == pid), "")
    return f"-m {SERVER_MODULE} serve" in args and workdir in args


def emulator_processes(server: int) -> list[Process]:
    """The server and every process it started, still running: descendants by parent id, then the
    members of their process groups and of the server's session (processes that outlived a parent)."""
    table = [p for p in _table() if not p.zombie]
    found = {p.pid: p for p in table if p.pid == server}
    if not found:
        return []
    grew = True
    while grew:
        groups = {p.pgid for p in found.values()}
        more = {
            p.pid: p for p in table if p.pid not in found and (p.ppid in found or p.pgid in groups or p.sid == server)
        }
        found.update(more)
        grew = bool(more)
    own_group = os.getpgid(0)  # never this process or its group (the terminal's job)
    return sorted(
        (p for p in found.values() if p.pid != os.getpid() and p.pgid != own_group),
        key=lambda p: (p.pid != server, p.pid),
    )


def stop_all(server: int, *, grace: float = 10.0) -> list[tuple[int, str]]:
    """Stop the emulator whose server is ``server`` and everything it started: SIGTERM to all, then
    SIGKILL to what is left after ``grace`` seconds. Returns ``(pid, kind)`` of each process stopped.

    :raises RuntimeError: when a process survives SIGKILL (it is named).
    """
    processes = emulator_processes(server)
    stopped = [(p.pid, p.kind(server)) for p in processes]
    remaining = processes
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        for p in remaining:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, sig)
        deadline = time.monotonic() + wait
        while remaining and time.monotonic() < deadline:
            time.sleep(0.1)
            remaining = [p for p in remaining if alive(p.pid)]
        if not remaining:
            return stopped
    raise RuntimeError("still running after SIGKILL: " + ", ".join(f"{p.pid} ({p.kind(server)})" for p in remaining))
