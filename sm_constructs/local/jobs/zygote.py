"""Python job processes forked from a warm interpreter, so a job does not pay for its imports.

A job script in the emulator is a new Python process, as in SageMaker's container. Starting one
costs little; importing pandas, scikit-learn and xgboost costs seconds of CPU, paid again by every
job. The runner starts this module once, with the first job (``python -m sm_constructs.local.jobs.zygote
<socket>``; an emulator that runs no job never starts it): it imports those libraries, then forks one child per job. The child takes the job's command line,
environment, working directory and log as a fresh ``python`` would (script directory first on
``sys.path``, then ``PYTHONPATH``, ``sitecustomize`` from it, ``__main__``, exit code) and ends as
it would (non-daemon threads awaited, ``atexit``, open files flushed), so the script sees what it
would see in a new interpreter, except that the preloaded libraries are already imported:
environment variables those libraries read at import (``OMP_NUM_THREADS``...) set by the script
itself come too late. ``SM_LOCAL_ZYGOTE=off`` runs every job in a new process.

The protocol, one Unix socket connection per job: the runner sends one JSON line (``argv``,
``env``, ``cwd``, ``log``, ``opt_ml``: the directory bound at ``/opt/ml`` in the job's own mount
namespace, see :mod:`.namespace`; ``image``: the layout of the job's image, bound there too); a handler forked for the connection forks the job, answers its pid,
waits for it and answers its exit code. The runner kills the job's process group on timeout.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from . import namespace

__all__ = ["SHARED_MACHINE_ENV", "Zygote", "main", "shared"]

#: Set for every job, model server and the warm interpreter, unless the emulator's own environment sets
#: it (and, for a job in a new process, its ``Environment``). Jobs share this machine's cores with each
#: other and with the emulator; GNU libgomp's idle threads (xgboost, scikit-learn) spin before they sleep
#: unless told to wait passively, which on a busy machine multiplies a job's CPU (xgboost, 3 trainings of
#: 100 rounds while two other processes used both cores: 6.6 s → 0.6 s) and leaves its results as they
#: are: the policy says only how waiting threads wait (GCC's libgomp manual, "OMP_WAIT_POLICY").
SHARED_MACHINE_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}

#: Imported once in the warm interpreter: what the reference scripts, the XGBoost substitute and
#: typical processing scripts import.
PRELOAD = ("numpy", "pandas", "scipy.stats", "sklearn.model_selection", "sklearn.metrics", "xgboost")


def _run_job(request: dict[str, Any]) -> None:
    """In the forked job process: become ``python <argv[1:]>`` with the request's environment."""
    import runpy

    os.setsid()  # its own process group, so a timeout kills what it started too
    if request.get("opt_ml"):  # the job's /opt/ml, for it and everything it starts (see .namespace)
        try:
            namespace.enter(request["opt_ml"], request.get("image"))
        except namespace.Unavailable as error:
            raise SystemExit(str(error)) from None
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    args = list(request["argv"][1:])
    while args and args[0] in ("-u", "-B", "-E", "-s"):
        args.pop(0)
    # sys.path as a new interpreter builds it: the script's directory (cwd for -m), then PYTHONPATH,
    # then the interpreter's own entries
    extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    base = [p for p in sys.path[1:] if p not in extra]
    module = args[1] if args[:1] == ["-m"] else None
    command = args[1] if args[:1] == ["-c"] else None
    if module is not None:
        sys.path[:] = [os.getcwd(), *extra, *base]
        sys.argv = [module, *args[2:]]
    elif command is not None:
        sys.path[:] = ["", *extra, *base]
        sys.argv = ["-c", *args[2:]]
    else:
        sys.path[:] = [os.path.dirname(os.path.abspath(args[0])), *extra, *base]
        sys.argv = list(args)
    # site imports sitecustomize from sys.path at start-up (the runner's /opt/ml contract is one)
    sys.modules.pop("sitecustomize", None)
    with contextlib.suppress(ImportError):
        __import__("sitecustomize")
    if module is not None:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    elif command is not None:
        main = type(sys)("__main__")
        sys.modules["__main__"] = main
        exec(compile(command, "<string>", "exec"), main.__dict__)  # what python -c does
    else:
        runpy.run_path(sys.argv[0], run_name="__main__")


def _flush_open_files() -> None:
    """Flush the files the script left open, as interpreter shutdown would (``os._exit`` does not)."""
    import _io

    # gc.get_objects() leaves out what the zygote froze (main): only the job's own objects are visited.
    # _io._IOBase, not the io.IOBase ABC over it: every file object (FileIO, the buffered readers and
    # writers, TextIOWrapper, GzipFile ...) subclasses it, and the check is a C type check.
    for obj in gc.get_objects():
        if isinstance(obj, _io._IOBase):
            with contextlib.suppress(Exception):
                if not obj.closed:
                    obj.flush()


def _job(request: dict[str, Any], log_fd: int) -> None:
    """The job process: run it, then exit with its code (never returns)."""
    code = 1
    try:
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(log_fd)
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 - the process's own stdout
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        _run_job(request)
        code = 0
    except SystemExit as exit_:
        if exit_.code is None:
            code = 0
        elif isinstance(exit_.code, int):
            code = exit_.code
        else:
            print(exit_.code, file=sys.stderr)
            code = 1
    except BaseException as error:
        import traceback

        # as a new interpreter prints it: the script's frames, not this module's or runpy's
        tb = error.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename in (__file__, "<frozen runpy>"):
            tb = tb.tb_next
        traceback.print_exception(type(error), error, tb)
        code = 1
    finally:
        # interpreter shutdown, in its order: wait for non-daemon threads, run atexit, flush files
        with contextlib.suppress(Exception):
            import threading

            threading._shutdown()  # type: ignore[attr-defined]
        with contextlib.suppress(Exception):
            import atexit

            atexit._run_exitfuncs()
        _flush_open_files()
        os._exit(code)


def _handle(conn: socket.socket) -> None:
    """In the handler forked per connection: fork the job, answer its pid, then its exit code."""
    reader = conn.makefile("r")
    request = json.loads(reader.readline())
    log_fd = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    pid = os.fork()
    if pid == 0:
        conn.close()
        _job(request, log_fd)
    os.close(log_fd)
    conn.sendall(f"{pid}\n".encode())
    _, status = os.waitpid(pid, 0)
    conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())


def main(path: str) -> None:
    """Preload, listen on ``path``, fork a handler per connection; exit when the parent is gone."""
    parent = os.getppid()
    gc.disable()  # imports make little garbage; collecting while the heap grows cost a sixth of the preload's CPU
    for name in PRELOAD:
        with contextlib.suppress(Exception):
            __import__(name)
    # What is loaded now is shared by every job: the collector leaves it alone from here on. A job's
    # collections (and the scan for its open files at exit) then visit only the job's own objects, and do not
    # write to the preloaded heap's pages, which a forked job shares with this process until it writes to them.
    gc.freeze()
    gc.enable()  # a job's collector runs as in a new interpreter
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path + ".tmp")
    os.rename(path + ".tmp", path)  # ready only once preloaded and listening
    server.listen(128)
    server.settimeout(1.0)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # handlers are reaped by the kernel
    while os.getppid() == parent:
        try:
            conn, _ = server.accept()
        except TimeoutError:
            continue
        if os.fork() == 0:
            server.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the handler waits for its job
            try:
                conn.settimeout(None)
                _handle(conn)
            finally:
                os._exit(0)
        conn.close()


class Zygote:
    """The runner's side: start the warm interpreter once, run jobs through it."""

    def __init__(self) -> None:
        import tempfile

        # a short path: Unix socket paths are limited to about 100 bytes
        self._path = str(Path(tempfile.mkdtemp(prefix="sm-local-")) / "zygote.sock")
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    @staticmethod
    def enabled() -> bool:
        return os.environ.get("SM_LOCAL_ZYGOTE", "on").lower() not in ("off", "0", "false") and hasattr(os, "fork")

    def start(self) -> None:
        """Start it in the background; jobs run in new processes until it is ready."""
        with self._lock:
            if self._proc is not None or not self.enabled():
                return
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path)
            package_root = str(Path(__file__).resolve().parents[3])
            env = {
                **SHARED_MACHINE_ENV,
                **os.environ,
                "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p),
            }
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "sm_constructs.local.jobs.zygote", self._path],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    def ready(self) -> bool:
        return self._proc is not None and self._proc.poll() is None and os.path.exists(self._path)

    def wait_ready(self, timeout: float) -> bool:
        """Whether it is ready within ``timeout`` seconds (False at once if it has exited). A job waits
        for it rather than start a new interpreter that would import the same libraries beside it."""
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self._proc is None or self._proc.poll() is not None or time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def run(
        self,
        argv: list[str],
        env: dict[str, str],
        cwd: Path,
        log: Path,
        timeout: float | None,
        opt_ml: str | None = None,
        image: str | None = None,
    ) -> int:
        """Run ``argv`` (``[python, ...]``) forked from the warm interpreter; its exit code.

        ``opt_ml``: the host directory the job sees at ``/opt/ml``; ``image``: the layout of its image
        (:func:`.namespace.enter`); ``cwd`` is the directory as the job's namespace sees it.

        :raises subprocess.TimeoutExpired: after ``timeout`` seconds (the job is killed).
        """
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(self._path)
            request = {"argv": argv, "env": env, "cwd": str(cwd), "log": str(log), "opt_ml": opt_ml, "image": image}
            conn.sendall((json.dumps(request) + "\n").encode())
            reader = conn.makefile("r")
            pid = int(reader.readline())
            conn.settimeout(timeout)
            try:
                line = reader.readline()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
                raise subprocess.TimeoutExpired(argv, timeout or 0) from None
            if not line:
                raise RuntimeError("the warm interpreter closed the connection without an exit code")
            return int(line)

    def stop(self) -> None:
        with self._lock:
            if self._proc is not None:
                self._proc.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._proc.wait(timeout=5)
                self._proc = None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path)


_SHARED: Zygote | None = None
_SHARED_LOCK = threading.Lock()


def shared() -> Zygote | None:
    """This process's warm interpreter, started on first use; None when turned off."""
    global _SHARED
    if not Zygote.enabled():
        return None
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = Zygote()
            _SHARED.start()
            import atexit

            atexit.register(_SHARED.stop)
        return _SHARED


if __name__ == "__main__":
    main(sys.argv[1])
