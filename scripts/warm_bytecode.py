"""Compile, once, the bytecode every process of a test run imports, before the run's processes start.

In a fresh checkout the bytecode cache (``PYTHONPYCACHEPREFIX``, ``make``'s ``.pycache``) is empty, and
the three test workers, the first synths, emulators and jobs all start at once and each compiles the
same modules (aws-cdk-lib's bindings, moto, pandas, scikit-learn...): a fresh clone's tests took about
80 s more CPU than the same tests run again in it. This imports what they import, in one process,
so each module is compiled once: what the workers collect (``pytest --collect-only``), what an
emulator loads (its changes to moto, checked as at its start, and the moto modules its first
CloudFormation and Step Functions requests load) and what the jobs' warm interpreter preloads.

With the cache already filled (its compiled aws-cdk-lib, moto's CloudFormation and scikit-learn are
there) it does nothing. ``make unit`` runs it before pytest.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Installed files whose compiled bytecode says the cache was filled before (found without importing them).
SENTINELS = ("aws_cdk/__init__.py", "moto/cloudformation/parsing.py", "sklearn/__init__.py")


def is_warm() -> bool:
    site = Path(sysconfig.get_paths()["purelib"])
    return all(Path(importlib.util.cache_from_source(str(site / name))).is_file() for name in SENTINELS)


def _emulator_and_jobs() -> None:
    sys.path.insert(0, str(ROOT))
    from sm_constructs.local import server
    from sm_constructs.local.jobs import zygote

    server.declare_changes(Path(tempfile.mkdtemp(prefix="sm-warm-")))
    for name in ("moto.server", "moto.cloudformation.parsing", "moto.stepfunctions.parser.models", *zygote.PRELOAD):
        importlib.import_module(name)


def _collection() -> None:
    """``pytest --collect-only`` of the suite, as each worker collects it; its listing is shown only on failure."""
    import pytest

    listing = io.StringIO()
    with contextlib.redirect_stdout(listing):
        code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", str(ROOT / "tests")])
    if code not in (0, 5):
        raise RuntimeError(f"pytest --collect-only exit {code}\n{listing.getvalue()[-3000:]}")


def main() -> int:
    """Always 0: a warm-up that fails leaves the modules to be compiled as they are imported, and the
    tests, not this, report what is wrong."""
    if not sys.pycache_prefix or is_warm():
        return 0
    started = time.monotonic()
    for step in (_collection, _emulator_and_jobs):  # collection first: the emulator's changes are declared, not applied
        try:
            step()
        except Exception as error:  # reported, then left to the tests
            print(f"warm_bytecode: {step.__name__} stopped ({type(error).__name__}: {error}); the tests will say more")
    print(f"bytecode compiled for the test run's imports in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
