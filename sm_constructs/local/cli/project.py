"""``sm-local``: the local emulator for any CDK app directory (one with its own ``cdk.json``).

The emulator runs in the background and is remembered in ``<app>/.sm-local/emulator.json``, so
``deploy``, ``run`` and ``destroy`` from the same directory find it; ``reset`` stops it and forgets
everything it held. AWS credentials, account and region are the emulator's own (account
``123456789012``, ``us-east-1``, dummy keys): nothing from ``~/.aws`` is read or needed, and the
emulator's bootstrap stack is deployed on first use.

The CDK CLI is the one the app uses: ``$SM_LOCAL_CDK``, else ``./node_modules/.bin/cdk``, else
``cdk`` on ``PATH``, else the version sm_constructs is tested with through ``npx`` (downloaded
once by npm, said so on stderr).
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

from ..server import ACCOUNT_ID, _free_port
from .demo import ROOT, LocalSession, emulator_env, start_server

__all__ = ["LocalProject", "Retained", "cdk_cli_version", "deployed_stacks", "find_cdk", "retained_resources"]

STATE_DIR = ".sm-local"
#: Node.js major version the CDK CLI and the jsii kernel are tested with (package.json pins it).
NODE_MAJOR = 22


def _tooling() -> dict[str, Any]:
    """The pinned CDK CLI and Node versions: package.json of the source tree, or its copy in the wheel."""
    source = ROOT / "package.json"
    if source.is_file():
        return dict(json.loads(source.read_text())["devDependencies"])
    packaged = resources.files("sm_constructs.local") / "_reference" / "package.json"
    return dict(json.loads(packaged.read_text())["devDependencies"])


def cdk_cli_version() -> str:
    """The CDK CLI version sm_constructs is tested with."""
    return str(_tooling()["aws-cdk"])


def _node_major(node: str) -> int | None:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
        return int(out.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None


def find_cdk(app_dir: Path, *, say: Any = None) -> list[str]:
    """The CDK CLI command for ``app_dir`` (see the module docs for the search order)."""
    say = say or (lambda message: print(f"sm-local: {message}", file=sys.stderr))
    override = os.environ.get("SM_LOCAL_CDK")
    if override:
        return shlex.split(override)
    local = app_dir / "node_modules" / ".bin" / "cdk"
    found = str(local) if local.is_file() else shutil.which("cdk")
    node = shutil.which("node", path=f"{local.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if node is None:
        raise RuntimeError(
            f"the CDK CLI needs Node.js {NODE_MAJOR} and no `node` is on PATH: install Node.js {NODE_MAJOR} "
            f"(https://nodejs.org), then `npm install aws-cdk@{cdk_cli_version()}` in {app_dir}"
        )
    major = _node_major(node)
    if major is not None and major < NODE_MAJOR:
        say(f"{node} is Node.js {major}; the CDK CLI and jsii are tested with Node.js {NODE_MAJOR}")
    if found:
        return [found]
    npx = shutil.which("npx")
    if npx is None:
        raise RuntimeError(
            f"no CDK CLI in {local} or on PATH and no npx to fetch one: "
            f"run `npm install aws-cdk@{cdk_cli_version()}` in {app_dir}"
        )
    say(f"no CDK CLI in {local} or on PATH: using npx aws-cdk@{cdk_cli_version()} (npm downloads it once)")
    return [npx, "--yes", f"aws-cdk@{cdk_cli_version()}"]


def _alive(url: str) -> bool:
    try:
        urllib.request.urlopen(f"{url}/moto-api/", timeout=2).read()  # not data.json: it serializes every model
        return True
    except OSError:
        return False


#: How to delete what a stack deletion kept (``DeletionPolicy: Retain``), per resource type: the AWS
#: CLI command of the type's delete operation (AWS CLI Command Reference: ``s3 rb``,
#: ``kms schedule-key-deletion``, ``logs delete-log-group``, ``sagemaker delete-domain``,
#: ``sagemaker delete-model-package-group``, ``stepfunctions delete-state-machine``,
#: ``ecr delete-repository``, ``dynamodb delete-table``).
DELETE_COMMANDS = {
    "AWS::S3::Bucket": "s3 rb s3://{id} --force",
    "AWS::KMS::Key": "kms schedule-key-deletion --key-id {id} --pending-window-in-days 7",
    "AWS::Logs::LogGroup": "logs delete-log-group --log-group-name {id}",
    # a domain's user profiles and spaces (and their apps) are deleted first
    "AWS::SageMaker::Domain": "sagemaker delete-domain --domain-id {id} --retention-policy HomeEfsFileSystem=Delete",
    "AWS::SageMaker::ModelPackageGroup": "sagemaker delete-model-package-group --model-package-group-name {id}",
    "AWS::StepFunctions::StateMachine": "stepfunctions delete-state-machine --state-machine-arn {id}",
    "AWS::ECR::Repository": "ecr delete-repository --repository-name {id} --force",
    "AWS::DynamoDB::Table": "dynamodb delete-table --table-name {id}",
}


class Retained(NamedTuple):
    """A resource a stack deletion kept, and the command that deletes it (empty when none is known)."""

    logical_id: str
    resource_type: str
    physical_id: str
    command: str


def deployed_stacks(cfn: Any, names: list[str] | None = None) -> dict[str, str]:
    """Name → stack ID of the stacks deployed (not deleted) in the emulator, the bootstrap stack
    aside; ``names`` (stack names or ``*`` patterns) keeps only those."""
    found: dict[str, str] = {}
    for page in cfn.get_paginator("describe_stacks").paginate():
        for stack in page["Stacks"]:
            name = stack["StackName"]
            wanted = names is None or any(fnmatch.fnmatchcase(name, pattern) for pattern in names)
            if wanted and name != "CDKToolkit" and stack["StackStatus"] != "DELETE_COMPLETE":
                found[name] = stack["StackId"]
    return found


def retained_resources(cfn: Any, stack_ids: list[str], endpoint_url: str) -> list[Retained]:
    """What deleting these stacks kept: CloudFormation's ``DELETE_SKIPPED`` events of each stack
    (readable by stack ID after the deletion), each with its delete command against ``endpoint_url``."""
    kept: dict[tuple[str, str], Retained] = {}
    for stack_id in stack_ids:
        for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack_id):
            for event in page["StackEvents"]:
                if event["ResourceStatus"] == "DELETE_SKIPPED" and event.get("PhysicalResourceId"):
                    template = DELETE_COMMANDS.get(event["ResourceType"])
                    physical_id = event["PhysicalResourceId"]
                    command = f"aws --endpoint-url {endpoint_url} {template.format(id=physical_id)}" if template else ""
                    kept[(stack_id, event["LogicalResourceId"])] = Retained(
                        event["LogicalResourceId"], event["ResourceType"], physical_id, command
                    )
    return list(kept.values())


class LocalProject:
    """A CDK app directory and the emulator that serves it.

    :param app_dir: the directory with ``cdk.json``. Default: the current directory.
    """

    def __init__(self, app_dir: Path | None = None) -> None:
        self.app_dir = (app_dir or Path.cwd()).resolve()
        self.workdir = self.app_dir / STATE_DIR
        self._state_file = self.workdir / "emulator.json"

    # -- the emulator ---------------------------------------------------------------------------
    def state(self) -> dict[str, Any] | None:
        if not self._state_file.is_file():
            return None
        return dict(json.loads(self._state_file.read_text()))

    def running_url(self) -> str | None:
        """The URL of this directory's emulator, if it answers."""
        state = self.state()
        return state["url"] if state and _alive(state["url"]) else None

    def start(self, *, port: int = 0, time_scale: float = 1.0) -> str:
        """This directory's emulator, started in the background unless it already runs."""
        url = self.running_url()
        if url:
            return url
        proc, url = start_server(port or _free_port(), self.workdir, time_scale, detach=True)
        self._state_file.write_text(json.dumps({"url": url, "pid": proc.pid, "time_scale": time_scale}))
        print(f"sm-local: emulator started on {url} (pid {proc.pid}, log {self.workdir / 'emulator.log'})")
        return url

    def stop(self) -> bool:
        """Stop the emulator this directory started (by its recorded process id)."""
        state = self.state()
        if not state:
            return False
        if _alive(state["url"]):
            for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(state["pid"]), sig)
                deadline = time.monotonic() + grace
                while time.monotonic() < deadline and _alive(state["url"]):
                    time.sleep(0.1)
                if not _alive(state["url"]):
                    break
        self._state_file.unlink(missing_ok=True)
        return True

    def reset(self) -> None:
        """Stop the emulator and delete everything it held (stacks, buckets, job directories)."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def env(self, url: str) -> dict[str, str]:
        return emulator_env(url)

    # -- the CDK CLI ---------------------------------------------------------------------------
    def cdk(self, url: str, *args: str, cwd: Path | None = None, check: bool = True) -> int:
        """Run the CDK CLI against the emulator, output to this terminal."""
        if not (self.app_dir / "cdk.json").is_file() and cwd is None:
            raise RuntimeError(f"no cdk.json in {self.app_dir}: run sm-local in your CDK app's directory")
        command = [*find_cdk(self.app_dir), *args, "--no-notices"]
        # the app's `python` is this interpreter (the one sm_constructs is installed in)
        path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        from ..jobs.images import shim_command

        # image assets go to the emulator's ECR, built by a Docker engine only when one answers (see images.py)
        env = {**self.env(url), "PATH": path, "CDK_DOCKER": str(shim_command(self.workdir))}
        print(f"$ {shlex.join(command)}", flush=True)
        done = subprocess.run(command, cwd=cwd or self.app_dir, env=env)
        if check and done.returncode != 0:
            raise RuntimeError(f"cdk {args[0]} failed (exit {done.returncode})")
        return done.returncode

    def bootstrap(self, url: str) -> None:
        """The emulator's CDK bootstrap stack, deployed once."""
        cfn = LocalSession(url).client("cloudformation")
        try:
            status = cfn.describe_stacks(StackName="CDKToolkit")["Stacks"][0]["StackStatus"]
        except cfn.exceptions.ClientError:
            status = None
        if status and status.endswith("_COMPLETE") and "ROLLBACK" not in status and "DELETE" not in status:
            return
        # outside the app: the CLI does not synthesize the app just to bootstrap
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.cdk(url, "bootstrap", f"aws://{ACCOUNT_ID}/{emulator_env(url)['AWS_REGION']}", cwd=self.workdir)

    def deploy(self, *cdk_args: str, port: int = 0, time_scale: float = 1.0) -> None:
        url = self.start(port=port, time_scale=time_scale)
        self.bootstrap(url)
        stacks = [a for a in cdk_args if not a.startswith("-")]
        self.cdk(url, "deploy", *([] if stacks else ["--all"]), "--require-approval", "never", *cdk_args)

    def destroy(self, *cdk_args: str) -> None:
        url = self.running_url()
        if url is None:
            raise RuntimeError(f"no emulator running for {self.app_dir}: nothing to destroy")
        stacks = [a for a in cdk_args if not a.startswith("-")]
        cfn = LocalSession(url).client("cloudformation")
        deployed = deployed_stacks(cfn, stacks or None)
        if not deployed:
            print(
                f"sm-local: nothing to destroy: no stack {'named ' + ', '.join(stacks) + ' ' if stacks else ''}is deployed"
            )
            return
        code = self.cdk(url, "destroy", *([] if stacks else ["--all"]), "--force", *cdk_args, check=False)
        retained = retained_resources(cfn, list(deployed.values()), url)
        if retained:
            print("sm-local: kept by their DeletionPolicy (Retain); delete them when no longer needed:")
        for r in retained:
            print(f"  {r.resource_type} {r.physical_id} ({r.logical_id})")
            print(f"    {r.command or 'no delete command known: use the service API'}")
        if code != 0:
            raise RuntimeError(
                f"cdk destroy failed (exit {code}): a stack is DELETE_FAILED with what it still holds; "
                "the reasons are above (`aws cloudformation describe-stack-events`): fix them and run "
                "`sm-local destroy` again"
            )

    def require_url(self) -> str:
        url = self.running_url()
        if url is None:
            raise RuntimeError(f"no emulator running for {self.app_dir}: start one with `sm-local deploy`")
        return url
