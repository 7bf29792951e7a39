"""``sm-local`` owns its emulator: found again by every command whatever the app holds, one per app
directory, its time scale changed while it runs, and ``reset`` stops every process it started.

The app (tests/apps/lifecycle) holds a real ``lambda_.Function``: moto's ``/moto-api/data.json``
answers HTTP 500 for it without a Docker engine, so nothing here may depend on that route. One
emulator for the module's emulator tests (one xdist worker, in file order); ``sm-local`` runs as a
user runs it, in a subprocess from the app directory, with the system's ``node`` first on ``PATH``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sm_constructs.local.cli.demo import LocalSession, health
from sm_constructs.local.cli.processes import alive, emulator_processes
from sm_constructs.local.cli.project import LocalProject, with_defaults
from sm_constructs.local.cli.project import _digest as project_digest
from sm_constructs.local.cli.toolchain import NODE_MAJOR, cdk_path, compile_cache, find_cdk, find_node

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.xdist_group("local-project")


def sm_local(app: Path, *args: str, timeout: float = 400) -> subprocess.CompletedProcess[str]:
    """``sm-local <args>`` in ``app``, as a user runs it: no node_modules/.bin of ours on PATH."""
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if "node_modules" not in p)
    env = {**os.environ, "PATH": f"/usr/bin{os.pathsep}{path}", "PYTHONPATH": str(ROOT)}
    env.pop("AWS_ENDPOINT_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "sm_constructs.local", *args],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def deployed(tmp_path_factory):
    app = Path(shutil.copytree(ROOT / "tests" / "apps" / "lifecycle", tmp_path_factory.mktemp("lifecycle") / "app"))
    (app / "node_modules").symlink_to(ROOT / "node_modules")  # `npm install aws-cdk node@22` in the app
    project = LocalProject(app)
    try:
        done = sm_local(app, "deploy", "--require-approval", "never")
        assert done.returncode == 0, done.stdout + done.stderr
        yield {"app": app, "project": project, "deploy": done, "url": project.require_url()}
    finally:
        project.reset()


# -- without an emulator -------------------------------------------------------------------------
def test_flags_the_user_gave_are_not_added_again():
    cdk = find_cdk(ROOT, say=lambda _: None)
    defaults = [["--all"], ["--require-approval", "never"]]
    assert with_defaults(cdk, "deploy", ("--require-approval", "never"), defaults) == [
        "--all",
        "--require-approval",
        "never",
    ]
    assert with_defaults(cdk, "deploy", ("--require-approval=broadening",), defaults) == [
        "--all",
        "--require-approval=broadening",
    ]
    # an option's value is not a stack name; a named stack is deployed alone
    assert with_defaults(cdk, "deploy", ("-c", "trials=2"), defaults)[:1] == ["--all"]
    assert with_defaults(cdk, "deploy", ("--context", "trials=2", "Byo"), defaults)[:1] == ["--require-approval"]
    assert with_defaults(cdk, "deploy", ("--exclusively", "Byo"), defaults)[:1] == ["--require-approval"]
    assert with_defaults(cdk, "destroy", ("-f",), [["--all"], ["--force"]]) == ["--all", "-f"]
    assert with_defaults(cdk, "deploy", ("--notices",), [["--no-notices"]]) == ["--notices"]
    assert with_defaults(cdk, "deploy", ("--no-notices",), [["--no-notices"]]) == ["--no-notices"]


def test_a_node_of_the_tested_major_is_preferred(tmp_path, monkeypatch):
    old = tmp_path / "app" / "node_modules" / ".bin" / "node"
    old.parent.mkdir(parents=True)
    old.write_text("#!/bin/sh\necho v18.20.0\n")
    old.chmod(0o755)
    monkeypatch.setenv("PATH", os.pathsep.join([str(old.parent), "/usr/bin", str(ROOT / "node_modules" / ".bin")]))
    assert find_node(tmp_path / "app") == (str(ROOT / "node_modules" / ".bin" / "node"), NODE_MAJOR)
    monkeypatch.setenv("PATH", str(old.parent))  # only an old one: it is used (and cdk_path says so)
    assert find_node(tmp_path / "app") == (str(old), 18)


def test_the_cdk_cli_keeps_its_compiled_code_in_the_users_cache(tmp_path, monkeypatch):
    """Node.js writes the CLI's compiled modules where ``compile_cache`` says, and a user's own setting wins."""
    monkeypatch.delenv("NODE_COMPILE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    env = compile_cache()
    assert env == {"NODE_COMPILE_CACHE": str(tmp_path / "sm-constructs" / "node-compile-cache")}
    done = subprocess.run(
        [*find_cdk(ROOT), "--version"],
        env={**os.environ, "PATH": cdk_path(ROOT, say=lambda _: None), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert any(Path(env["NODE_COMPILE_CACHE"]).rglob("*")), "Node.js wrote no compile cache"
    monkeypatch.setenv("NODE_COMPILE_CACHE", str(tmp_path / "mine"))
    assert compile_cache() == {}


def test_a_stale_record_is_said_and_removed(tmp_path, capsys):
    gone = subprocess.Popen(["true"])
    gone.wait()
    for pid in (gone.pid, os.getpid()):  # an exited process, and one that is not an emulator
        project = LocalProject(tmp_path)
        project.workdir.mkdir(exist_ok=True)
        (project.workdir / "emulator.json").write_text(
            json.dumps({"url": "http://localhost:9", "pid": pid, "workdir": str(project.workdir)})
        )
        assert project.running_url() is None
        assert f"no emulator runs as pid {pid} (http://localhost:9) any more; record removed" in capsys.readouterr().err
        assert project.state() is None


def test_destroy_reuses_the_deployed_assembly_only_while_it_is_unchanged(tmp_path):
    app = tmp_path / "app"
    (app / "cdk.out").mkdir(parents=True)
    (app / "cdk.json").write_text(json.dumps({"app": "python app.py"}))
    (app / "cdk.out" / "manifest.json").write_text("{}")
    template = app / "cdk.out" / "Stack.template.json"
    template.write_text('{"Resources": {}}')
    project = LocalProject(app)
    project.workdir.mkdir()
    assert project.deployed_assembly() is None  # nothing deployed yet
    record = {"assembly": str(app / "cdk.out"), "digest": project_digest(app / "cdk.out")}
    (project.workdir / "deployed-assembly.json").write_text(json.dumps(record))
    assert project.deployed_assembly() == app / "cdk.out"
    assert project.deployed_assembly(("--app", "other.out")) is None  # the user chose the app
    assert project.deployed_assembly(("-o=elsewhere",)) is None
    template.write_text('{"Resources": {"Changed": {}}}')  # e.g. `cdk synth` after the deploy
    assert project.deployed_assembly() is None
    (app / "cdk.json").write_text(json.dumps({"app": "python app.py", "output": "build/cdk.out"}))
    assert project.deployed_assembly() is None  # cdk.json names another assembly


# -- one emulator for an app with a Lambda function ----------------------------------------------
def test_deploy_with_the_users_require_approval_prints_the_stack_outputs(deployed):
    out, err = deployed["deploy"].stdout, deployed["deploy"].stderr
    assert "can only be specified once" not in out + err
    assert f"sm-local: Node.js {NODE_MAJOR}: " in err  # the found Node runs the CLI and jsii, not /usr/bin/node
    assert "end-of-life" not in out + err and "no longer supported" not in out + err
    cfn = LocalSession(deployed["url"]).client("cloudformation")
    outputs = {
        o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName="Lifecycle")["Stacks"][0]["Outputs"]
    }
    resources = cfn.list_stack_resources(StackName="Lifecycle")["StackResourceSummaries"]
    (bucket,) = [
        r["PhysicalResourceId"]
        for r in resources
        if r["ResourceType"] == "AWS::S3::Bucket" and r["LogicalResourceId"].startswith("DataBucket")
    ]
    (function,) = [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::Lambda::Function"]
    assert outputs["BucketName"] == bucket
    assert outputs["FunctionArn"].endswith(f":function:{function}")
    assert f"Lifecycle.BucketName = {bucket}" in out + err  # stderr, or stdout when CI=true (the CLI says so)


def test_every_command_finds_the_emulator_of_an_app_with_a_lambda_function(deployed):
    env = sm_local(deployed["app"], "env")
    assert env.returncode == 0, env.stderr
    assert f"export AWS_ENDPOINT_URL={deployed['url']}" in env.stdout
    status = sm_local(deployed["app"], "status")
    assert status.returncode == 0 and f"pid {deployed['project'].state()['pid']}" in status.stdout


def test_a_redeploy_goes_into_the_running_emulator_and_its_data_survives(deployed):
    session = LocalSession(deployed["url"])
    outputs = session.client("cloudformation").describe_stacks(StackName="Lifecycle")["Stacks"][0]["Outputs"]
    bucket = next(o["OutputValue"] for o in outputs if o["OutputKey"] == "BucketName")
    session.client("s3").put_object(Bucket=bucket, Key="raw/rows.csv", Body=b"1,2\n")
    pid = deployed["project"].state()["pid"]
    again = sm_local(deployed["app"], "deploy", "--time-scale", "0.5")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"emulator on {deployed['url']} (pid {pid}): deploying into it" in again.stderr
    assert "emulator started" not in again.stderr
    assert session.client("s3").get_object(Bucket=bucket, Key="raw/rows.csv")["Body"].read() == b"1,2\n"
    answer = health(deployed["url"])
    assert answer is not None and answer["pid"] == pid and answer["time_scale"] == 0.5


def test_the_time_scale_changes_while_the_emulator_runs(deployed):
    """A 100-second Wait state takes about a second once the running emulator is scaled to 0.01."""
    found = health(deployed["url"])["time_scale"]
    try:
        done = sm_local(deployed["app"], "scale", "0.01")
        assert done.returncode == 0 and "time scale 0.01" in done.stderr
        assert health(deployed["url"])["time_scale"] == 0.01
        refused = sm_local(deployed["app"], "scale", "0")
        assert refused.returncode == 1 and "time scale 0.0 must be a positive number" in refused.stderr
        started = time.monotonic()
        run = sm_local(deployed["app"], "run", "lifecycle-wait", "--interval", "0.2", timeout=90)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "SUCCEEDED" in run.stdout and time.monotonic() - started < 60
    finally:
        # the tests after this one keep a job running: at 0.01 its hour of MaxRuntime lasts 36 s, which a busy
        # machine spends before they look for it
        assert sm_local(deployed["app"], "scale", str(found)).returncode == 0


def test_destroy_finds_the_emulator(deployed):
    sfn = LocalSession(deployed["url"]).client("stepfunctions")
    hold = "arn:aws:states:us-east-1:123456789012:stateMachine:lifecycle-hold"
    sfn.start_execution(stateMachineArn=hold, name="hold")  # a job that runs until stopped: reset's
    # its job runs before the stack goes: the execution's first state would otherwise ask for the job after
    # the destroy deleted the job's role, and reset would find no job to stop
    _wait_for_a_job_process(int(deployed["project"].state()["pid"]))
    done = sm_local(deployed["app"], "destroy")
    assert done.returncode == 0, done.stdout + done.stderr
    # the redeploy above left cdk.out as it deployed it: the CLI reads it instead of running the app
    assert "destroying what the last deploy deployed: cdk.out/ is unchanged since" in done.stderr
    assert f"--app {deployed['app'] / 'cdk.out'} " in done.stdout.splitlines()[0]
    stacks = LocalSession(deployed["url"]).client("cloudformation").list_stacks()["StackSummaries"]
    assert {s["StackName"] for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"} == {"CDKToolkit"}


def _wait_for_a_job_process(server: int) -> None:
    deadline = time.monotonic() + 120
    while not any(p.kind(server).startswith("job") for p in emulator_processes(server)):
        assert time.monotonic() < deadline, "the processing job did not start"
        time.sleep(0.5)


def test_reset_stops_every_process_the_emulator_started_and_says_which(deployed):
    server = int(deployed["project"].state()["pid"])
    _wait_for_a_job_process(server)
    processes = emulator_processes(server)
    kinds = {p.kind(server) for p in processes}
    assert {"emulator server", "warm interpreter"} <= kinds
    done = sm_local(deployed["app"], "reset")
    assert done.returncode == 0, done.stderr
    for p in processes:
        assert f"stopped {p.kind(server)} (pid {p.pid})" in done.stdout
        assert not alive(p.pid), f"{p.kind(server)} {p.pid} still runs"
    assert not (deployed["app"] / ".sm-local").exists()
    assert sm_local(deployed["app"], "env").returncode == 1
