"""Jobs forked from the warm interpreter behave as ``python <script>`` in a new process.

The reference is a new interpreter: each script runs both ways and the outputs must match.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sm_constructs.local.jobs import namespace
from sm_constructs.local.jobs.runner import JobRunner
from sm_constructs.local.jobs.zygote import SHARED_MACHINE_ENV, Zygote

SCRIPT = """
import os, sys, json
import pandas
print(json.dumps({
    "argv": sys.argv, "cwd": os.getcwd(), "env": os.environ.get("JOB_SETTING"), "path0": sys.path[0],
    "contract_first": "CONTRACT" not in os.environ
    or sys.path.index(os.environ["CONTRACT"]) < sys.path.index(os.path.dirname(os.__file__)),
    "name": __name__, "input": open("/opt/ml/input/data.txt").read().strip(),
}))
if "--fail" in sys.argv:
    raise ValueError("bad row 7")
sys.exit(int(os.environ.get("EXIT_CODE", "0")))
"""


@pytest.fixture(scope="module")
def warm():
    zygote = Zygote()
    zygote.start()
    deadline = time.monotonic() + 120
    while not zygote.ready():
        assert time.monotonic() < deadline, "the warm interpreter did not start"
        time.sleep(0.1)
    yield zygote
    zygote.stop()


@pytest.fixture(params=["namespace", "python-only"])
def job(tmp_path, monkeypatch, request):
    """A job directory, its ``/opt/ml`` given either way (:mod:`sm_constructs.local.jobs.namespace`)."""
    monkeypatch.setenv(namespace.MAPPING_ENV, request.param)
    (tmp_path / "opt/ml/input").mkdir(parents=True)
    (tmp_path / "opt/ml/input/data.txt").write_text("rows\n")
    code = tmp_path / "code"
    code.mkdir()
    (code / "job.py").write_text(SCRIPT)
    contract = JobRunner._contract(tmp_path)
    env = {**os.environ, **contract.env, "JOB_SETTING": "42"}
    if contract.bind is None:
        env["CONTRACT"] = contract.env["PYTHONPATH"].split(os.pathsep)[0]
    return {"root": tmp_path, "script": str(code / "job.py"), "env": env, "contract": contract}


def _fresh(job, argv, env, cwd):
    done = subprocess.run(
        job["contract"].command(argv), env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    return done.returncode, done.stdout


def _forked(warm, job, argv, env, cwd, log):
    code = warm.run(argv, env, cwd, log, timeout=60, opt_ml=job["contract"].bind)
    return code, log.read_text()


@pytest.mark.parametrize("extra,exit_code", [([], "0"), (["--flag", "x y"], "3"), (["--fail"], "0")])
def test_a_forked_job_matches_a_new_interpreter(warm, job, tmp_path, extra, exit_code):
    argv = [sys.executable, job["script"], *extra]
    env = {**job["env"], "EXIT_CODE": exit_code}
    fresh = _fresh(job, argv, env, tmp_path)
    forked = _forked(warm, job, argv, env, tmp_path, tmp_path / "job.log")
    assert forked[0] == fresh[0]
    assert forked[1] == fresh[1]  # same output, tracebacks included (no frames of the zygote)
    if "--fail" in extra:
        assert "ValueError: bad row 7" in forked[1] and "zygote" not in forked[1]


def test_a_module_entry_point_runs_as_python_m(warm, job, tmp_path):
    argv = [sys.executable, "-m", "json.tool", "--help"]
    assert _forked(warm, job, argv, job["env"], tmp_path, tmp_path / "m.log") == _fresh(job, argv, job["env"], tmp_path)


def test_threads_and_files_a_script_leaves_are_finished_as_at_interpreter_exit(warm, job, tmp_path):
    script = tmp_path / "unclosed.py"
    script.write_text(
        "import sys\n"
        "out = open(sys.argv[1], 'w')\n"
        "out.write('rows\\n' * 3)\n"
        "def keep():\n"
        "    global raw\n"
        "    raw = open(sys.argv[1] + '.bin', 'wb')\n"
        "    raw.write(b'model')\n"
        "keep()\n"
        "import threading, time\n"
        "def late():\n"
        "    time.sleep(0.5)\n"
        "    out.write('late\\n')\n"
        "threading.Thread(target=late).start()\n"
    )
    written = {}
    for way in ("fresh", "forked"):
        target = tmp_path / f"{way}.txt"
        argv = [sys.executable, str(script), str(target)]
        if way == "fresh":
            assert _fresh(job, argv, job["env"], tmp_path)[0] == 0
        else:
            assert _forked(warm, job, argv, job["env"], tmp_path, tmp_path / "u.log")[0] == 0
        written[way] = (target.read_text(), Path(f"{target}.bin").read_bytes())
    assert written["forked"] == written["fresh"] == ("rows\n" * 3 + "late\n", b"model")


def test_a_command_runs_as_python_c(warm, job, tmp_path):
    argv = [sys.executable, "-c", "import sys, os; print(sys.argv, sys.path[0] == '', __name__); sys.exit(4)", "a"]
    assert _forked(warm, job, argv, job["env"], tmp_path, tmp_path / "c.log") == _fresh(job, argv, job["env"], tmp_path)


def test_a_job_past_its_time_is_killed_with_what_it_started(warm, job, tmp_path):
    script = tmp_path / "slow.py"
    script.write_text(
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    log = tmp_path / "slow.log"
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        warm.run([sys.executable, str(script)], job["env"], tmp_path, log, timeout=2)
    assert time.monotonic() - started < 10
    grandchild = int(log.read_text().split()[0])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and Path(f"/proc/{grandchild}").exists():
        state = Path(f"/proc/{grandchild}/stat").read_text().split()[2]
        if state == "Z":
            break
        time.sleep(0.1)
    assert not Path(f"/proc/{grandchild}").exists() or Path(f"/proc/{grandchild}/stat").read_text().split()[2] == "Z"


def test_turned_off_every_job_is_a_new_process(monkeypatch):
    monkeypatch.setenv("SM_LOCAL_ZYGOTE", "off")
    assert not Zygote.enabled()


def test_the_warm_interpreter_starts_its_openmp_threads_waiting_passively(warm):
    """libgomp reads OMP_WAIT_POLICY once, when xgboost loads it in the warm interpreter; its jobs inherit that."""
    environ = Path(f"/proc/{warm._proc.pid}/environ").read_bytes().split(b"\0")
    expected = os.environ.get("OMP_WAIT_POLICY", SHARED_MACHINE_ENV["OMP_WAIT_POLICY"])
    assert f"OMP_WAIT_POLICY={expected}".encode() in environ
