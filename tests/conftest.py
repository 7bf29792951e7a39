"""Shared test set-up.

Fixtures that deploy an app into the emulator (or synthesize a large app) are session-scoped even
when one module uses them: pytest-xdist may run other tests on the same worker between a module's
tests, and a module-scoped fixture would then be torn down and built again, losing the state the
module's later tests build on. Each such module is one xdist group, so its fixture lives on one worker.
"""

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # app.py, bench/
# The pinned Node 22 runs the jsii kernel when tests are started outside `make`.
_node_bin = Path(__file__).resolve().parent.parent / "node_modules" / ".bin"
if _node_bin.is_dir():
    os.environ["PATH"] = f"{_node_bin}{os.pathsep}{os.environ.get('PATH', '')}"

_ROOT = Path(__file__).resolve().parent.parent
_UV = _ROOT / ".tools" / "bin" / "uv"


def _uv(*args: str | Path, cwd: Path) -> None:
    done = subprocess.run(
        [str(_UV), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"uv {args[0]} exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


@pytest.fixture(scope="session")
def venv(tmp_path_factory, worker_id) -> Path:
    """The built wheel with its ``local`` extra in a fresh virtual environment, as a new project installs it.

    Built once per test run: xdist workers share it through their common temporary directory, the
    first to need it builds it under a file lock and the others wait for it.
    """
    if not _UV.is_file():
        pytest.skip("make setup installs the pinned uv")
    base = tmp_path_factory.getbasetemp()
    out = (base if worker_id == "master" else base.parent) / "wheel"
    out.mkdir(exist_ok=True)
    with (out / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "ready").is_file():
            _uv("build", "--wheel", "--out-dir", out / "dist", cwd=_ROOT)
            (wheel,) = (out / "dist").glob("sm_constructs-*.whl")
            constraints = out / "constraints.txt"
            _uv("export", "--frozen", "--no-hashes", "--no-emit-project", "--all-extras", "--no-dev", "-q",
                "-o", constraints, cwd=_ROOT)  # fmt: skip
            _uv("venv", "-q", out / "venv", "--python", sys.executable, cwd=_ROOT)
            _uv("pip", "install", "-q", "--python", out / "venv" / "bin" / "python", "-c", constraints,
                f"{wheel}[local]", cwd=_ROOT)  # fmt: skip
            (out / "ready").touch()
    return out / "venv"


@pytest.fixture(scope="session")
def reference_assembly(tmp_path_factory) -> Path:
    """``cdk.out`` of the reference app, synthesized once per test run and shared by every xdist worker.

    The end-to-end modules each deploy the reference app into an emulator of their own; the cloud
    assembly they deploy is the same, so the first worker to ask synthesizes it (under a lock in the
    run's shared temporary directory) and the others deploy it as it is.
    """
    from sm_constructs.local.cli.demo import start_synth

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    workdir = shared / "reference-synth"
    done = workdir / "synthesized"
    with open(shared / "reference-synth.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.is_file():
            synth = start_synth(workdir)
            if synth.wait(timeout=600) != 0:
                pytest.fail(f"cdk synth of the reference app failed; see {workdir / 'synth.log'}")
            done.touch()
    return workdir / "cdk.out"
