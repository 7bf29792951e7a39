"""Shared test set-up.

Fixtures that deploy an app into the emulator (or synthesize a large app) are session-scoped even
when one module uses them: pytest-xdist may run other tests on the same worker between a module's
tests, and a module-scoped fixture would then be torn down and built again, losing the state the
module's later tests build on. Each such module is one xdist group, so its fixture lives on one worker.
"""

import atexit
import contextlib
import fcntl
import gc
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
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

# botocore gives each session a loader of its own, which reads and parses the JSON of endpoints and of every
# service model again: moto's mock_aws makes a new default session per block, and each LocalSession one more.
# The emulator shares one loader per process (server._install_shared_botocore_data, in the checked registry of
# changes); the tests' processes do the same.
from sm_constructs.local import patches as _patches  # noqa: E402
from sm_constructs.local import server as _server  # noqa: E402


def _share_botocore_loader() -> None:
    _server._install_shared_botocore_data()
    _patches.apply()


_share_botocore_loader()

# The job-name rule keeps moto's evaluations per user (sm_constructs.nag._names); a run keeps its own, made fresh
# by the first synth that needs them and shared by every worker and subprocess (set here, in the process that
# starts the workers, before it starts them), so no result of an earlier run, or of an older checkout, is read.
if "SM_CONSTRUCTS_CACHE_DIR" not in os.environ:
    os.environ["SM_CONSTRUCTS_CACHE_DIR"] = tempfile.mkdtemp(prefix="sm-constructs-test-cache-")
    atexit.register(shutil.rmtree, os.environ["SM_CONSTRUCTS_CACHE_DIR"], ignore_errors=True)

# Synthesizing apps allocates many small objects that live until the app is dropped; with Python's default
# thresholds a test worker spent about a sixth of its CPU in the collector's full passes over a heap that holds
# aws-cdk-lib, pandas and moto. Fewer, larger first-generation collections do the same work less often.
gc.set_threshold(20_000, 20, 20)

# aws-cdk-lib checks every synthesized template against CloudFormation's rules with a WebAssembly engine
# that takes about 4 s of CPU to start in each process; CDK_VALIDATION=false turns it off (aws-cdk-lib's
# core/lib/private/synthesis-validation.ts, defaultValidationEnabled). The tests' own synths keep it: this process's
# jsii kernel starts here with it on, once, and cdk.json's @aws-cdk/core:validateAgainstDefaultRules
# (CDK_CONTEXT) makes its findings errors. The fixture apps under tests/apps, deployed from a subprocess,
# skip it: their cdk.json leaves it in warning mode, where its report reaches no one. The reference app
# (``reference_assembly``), the examples and the wheel's apps run it as a user does (they do not inherit
# CDK_VALIDATION) and the examples check that it warns of nothing.
if "CDK_VALIDATION" not in os.environ:
    import aws_cdk  # noqa: F401

    os.environ["CDK_VALIDATION"] = "false"


def _uv_run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(_UV), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )


def _uv(*args: str | Path, cwd: Path) -> None:
    done = _uv_run(*args, cwd=cwd)
    assert done.returncode == 0, f"uv {args[0]} exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


#: Work that takes longest, started first (longest first) so that it never starts last and keeps the run
#: waiting on one worker while the others are idle: xdist groups by name, ungrouped long modules by path.
#: From the durations ``make test`` reports; a group missing here starts after these, before the unit tests.
LONGEST_FIRST = (
    "chaos",
    "example-any-shape",
    "example-studio-summary",
    "scanners",
    "example-notebook-training",
    "tests/test_aws_examples.py",
    "example-lambda-check",
    "example-byo-serverless",
    "byo-app",
    "emulator-multi-account",
    "wheel",
    "emulator",
    "emulator-iam",
    "emulator-release",
    "graph-emulator",
    "emulator-lambda",
    "local-project",
    "tests/test_local_instances.py",
    "definitions-in-s3",
)


def _start_rank(item: pytest.Item) -> int:
    marker = item.get_closest_marker("xdist_group")
    for rank, name in enumerate(LONGEST_FIRST):
        if (marker is not None and marker.args and marker.args[0] == name) or item.nodeid.startswith(f"{name}::"):
            return rank
    return len(LONGEST_FIRST) + (marker is None)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """End-to-end work first, longest first, then the unit tests, which fill the gaps as workers free
    up (``make test`` runs xdist with ``--no-loadscope-reorder``, so it schedules in this order; a
    stable sort keeps each module's tests in file order).

    A module without a group of its own is one group: its tests run on one worker, so its
    module-scoped fixtures (most synthesize an app) are built once, not once per worker its tests
    were spread over (and again whenever another module's test ran in between).
    """
    rank = {item.nodeid: _start_rank(item) for item in items}
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
    items.sort(key=lambda item: rank[item.nodeid])


@pytest.hookimpl(trylast=True)
def pytest_unconfigure() -> None:
    """After pytest's first garbage-collection pass at the end of this process: what survived it is frozen.

    pytest's unraisable-exception plugin collects the heap twice as a process ends, in its
    ``pytest_unconfigure`` hook and again in its cleanup, to report finalizers that raised. A worker's heap
    holds aws-cdk-lib, moto, pandas and every synthesized app's wrappers: each full pass took about 1.3 s
    of CPU, on the run's last worker at its end. The first pass (pytest's, before this hook) still
    collects every unreachable object; the second now visits only what was made after it."""
    gc.freeze()


#: Environment variables set for the process by someone other than a test module: pytest's own
#: (``PYTEST_CURRENT_TEST``, of the test running) and scikit-learn's (its ``__init__`` sets the ``KMP_*``
#: settings of Intel's OpenMP runtime when first imported, also through xgboost). Which module imports it
#: first depends on where the scheduler put the modules, so they are no module's change.
SET_AT_IMPORT = frozenset({"PYTEST_CURRENT_TEST", "KMP_DUPLICATE_LIB_OK", "KMP_INIT_AT_FORK"})


@pytest.fixture(scope="module", autouse=True)
def _module_leaves_the_process_as_it_found_it(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test module runs on its own and in any order: an xdist worker runs several modules in one
    process, so a module that left an environment variable, the working directory or the import path
    changed would make the modules after it pass or fail by where the scheduler put them. A fixture
    that needs a change scopes it (``monkeypatch``, ``pytest.MonkeyPatch.context()``).

    Modules that install the emulator's plug-ins in process change moto for the process: moto is given
    back unchanged after each module (``patches.restore``), so the next module meets plain moto (botocore's
    sessions go on sharing one loader: see the top of this file)."""
    before = dict(os.environ), os.getcwd(), list(sys.path)
    yield
    _patches.restore()
    _share_botocore_loader()
    environ, cwd, path = before
    names = (environ.keys() | os.environ.keys()) - SET_AT_IMPORT
    changed = sorted(name for name in names if environ.get(name) != os.environ.get(name))
    left = [f"environment variables {changed}"] if changed else []
    left += [f"working directory {os.getcwd()} (was {cwd})"] if os.getcwd() != cwd else []
    left += ["sys.path"] if sys.path != path else []
    assert not left, f"{request.module.__name__} left {', '.join(left)} changed for the modules after it"


@contextlib.contextmanager
def _once_per_run(tmp_path_factory, name: str) -> Iterator[tuple[Path, bool]]:
    """``(<run's shared temp dir>/<name>, already built)``, held under a file lock: the first xdist
    worker to ask builds it (then marks it built by leaving the block), the others wait and reuse it."""
    base = tmp_path_factory.getbasetemp()
    out = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / name
    out.mkdir(exist_ok=True)
    with (out / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        built = (out / ".built").is_file()
        yield out, built
        (out / ".built").touch()


@pytest.fixture(scope="session")
def venv(tmp_path_factory) -> Path:
    """The built wheel with its ``local`` and ``spark`` extras in a fresh virtual environment, as a new
    project installs it (examples/any-shape runs a Spark processing job).

    Built once per test run and shared by every xdist worker (:func:`_once_per_run`).
    """
    if not _UV.is_file():
        pytest.skip("make setup installs the pinned uv")
    with _once_per_run(tmp_path_factory, "wheel") as (out, built):
        if not built:
            _uv("build", "--wheel", "--out-dir", out / "dist", cwd=_ROOT)
            (wheel,) = (out / "dist").glob("sm_constructs-*.whl")
            constraints = out / "constraints.txt"
            _uv("export", "--frozen", "--no-emit-project", "--all-extras", "--no-dev", "-q", "-o", constraints,
                cwd=_ROOT)  # fmt: skip
            _uv("venv", "-q", out / "venv", "--python", sys.executable, cwd=_ROOT)
            # hard links from uv's cache rather than copies (its default here: reflink, then copy): 0.7 s, not 4.4 s
            install = ("pip", "install", "-q", "--link-mode=hardlink", "--python", out / "venv" / "bin" / "python",
                       "-c", constraints, f"{wheel}[local,spark]")  # fmt: skip
            # The locked versions and hashes are those `make setup` (uv sync --frozen) already put in uv's cache,
            # pyspark's wheel built from its source distribution among them: offline, uv installs them from there,
            # each checked against uv.lock's hash, in 0.3 s of CPU. Online, uv asks the index whether pyspark's
            # 455 MB sdist changed; an index that sends no caching headers has it downloaded and built again
            # (about 25 s of CPU, and 1 GB more of uv's cache, every run). A cache without them: online.
            if _uv_run(*install, "--offline", cwd=_ROOT).returncode != 0:
                _uv(*install, cwd=_ROOT)
            _share_bytecode(out / "venv")
    return out / "venv"


def _share_bytecode(venv: Path) -> None:
    """Lets the wheel's venv read and write the bytecode this venv's packages compile to.

    Both venvs install the locked packages as hard links to the same files of uv's cache (same inode, so
    the same modification time and size, which a ``.pyc`` records and Python checks before it uses one).
    With one ``PYTHONPYCACHEPREFIX`` (``make``), bytecode is kept by source path, so every module the
    wheel's emulators, jobs and synths import was compiled a second time, under the venv's path: about
    6 s of CPU for the emulator's and the jobs' imports alone. Python fixes each code object's file name to
    the path it was imported from (``importlib``'s ``_fix_co_filename``), so tracebacks still name the
    wheel venv's files; a package whose files differ (the wheel's own ``sm_constructs``, absent from this
    venv's site-packages) fails the check and is compiled again, as before.
    """
    prefix = sys.pycache_prefix
    if not prefix:
        return
    import importlib.util
    import sysconfig

    def cache_dir(site: str) -> Path:
        return Path(importlib.util.cache_from_source(str(Path(site, "x.py")))).parent

    ours = cache_dir(sysconfig.get_paths()["purelib"])
    (theirs,) = {cache_dir(p) for p in venv.glob("lib/python*/site-packages")}
    ours.mkdir(parents=True, exist_ok=True)
    theirs.parent.mkdir(parents=True, exist_ok=True)
    if not theirs.exists():
        theirs.symlink_to(ours, target_is_directory=True)


@pytest.fixture(scope="session")
def reference_assembly(tmp_path_factory) -> Path:
    """``cdk.out`` of the reference app, synthesized once per test run and shared by every xdist worker.

    The end-to-end modules each deploy the reference app into an emulator of their own; the cloud
    assembly they deploy is the same, so the first worker to ask synthesizes it and the others deploy
    it as it is (:func:`_once_per_run`).
    """
    from sm_constructs.local.cli.demo import start_synth

    with _once_per_run(tmp_path_factory, "reference-synth") as (workdir, built):
        if not built:
            skipped = os.environ.pop("CDK_VALIDATION", None)  # the reference app is synthesized as `make synth` does
            try:
                synth = start_synth(workdir)
            finally:
                if skipped is not None:
                    os.environ["CDK_VALIDATION"] = skipped
            if synth.wait(timeout=600) != 0:
                pytest.fail(f"cdk synth of the reference app failed; see {workdir / 'synth.log'}")
    return workdir / "cdk.out"


@pytest.fixture(scope="session")
def reference_app(tmp_path_factory):
    """The reference app's stack (app.py) as `make synth` builds it, with its compliance packs, synthesized
    in this process (an unacknowledged finding fails the synth), for the modules that read it and change
    nothing in it: the app's template, its constructs, SageMakerChecks run on it again.

    Those modules are one xdist group (``reference-app``), so the app is built and synthesized once per run
    (about 6 s of CPU), not once per module; their asserts read the same app as before. A module that needs
    another shape of it (more pipelines, no acknowledgements, a bare App) builds its own.
    """
    from support import new_app

    import app as reference

    app = new_app(outdir=str(tmp_path_factory.mktemp("reference-app")))
    stack = reference.build(app)  # registers the four cdk-nag packs and SageMakerChecks
    app.synth()  # raises on any unacknowledged finding; Template.from_stack reuses this synthesis
    return stack
