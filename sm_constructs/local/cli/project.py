"""``sm-local``: the local emulator for any CDK app directory (one with its own ``cdk.json``).

One emulator per app directory, running in the background and remembered in
``<app>/.sm-local/emulator.json`` (URL, process id, work dir). Every command from that directory
finds it again by that process id, checked to be running ``sm_constructs.local serve`` for this
directory, and by the emulator's own ``/sm-local/health`` route, which answers with the same process
id without reading moto's state (moto's ``/moto-api/data.json`` fails for some resources, a Lambda
function among them). A redeploy goes into the running emulator and its data stays; a record whose
process is gone is said and removed. ``reset`` stops the emulator and every process it started
(:mod:`.processes`), says which, and forgets everything it held. AWS credentials, account and
region are the emulator's own (account ``123456789012``, ``us-east-1``, dummy keys): nothing from
``~/.aws`` is read or needed, and the emulator's bootstrap stack is deployed on first use.

The CDK CLI is the one the app uses: ``$SM_LOCAL_CDK``, else ``./node_modules/.bin/cdk``, else
``cdk`` on ``PATH``, else the version sm_constructs is tested with through ``npx`` (downloaded
once by npm, said so on stderr). It runs on the Node.js :func:`find_node` finds (said on stderr),
put first on its ``PATH`` so the app's jsii kernel runs on it too. The flags ``sm-local`` adds
(``--all``, ``--require-approval never``, ``--force``, ``--no-notices``) are added only when the
user gave neither them nor their aliases, read from the CLI's own option table.

``destroy`` destroys what the last ``deploy`` deployed: when the cloud assembly that deploy left
(``cdk.out``, or cdk.json's ``output``) is unchanged since, the CLI reads it (``--app <assembly>``)
instead of running the app again; otherwise, or with the user's own ``--app``/``--output``, the CLI
synthesizes the app as ``cdk destroy`` always does.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import shlex
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from .._net import free_port
from ..server import ACCOUNT_ID, HEALTH_PATH, TIME_SCALE_PATH
from .demo import ROOT, LocalSession, emulator_env, health, start_server
from .processes import is_emulator_server, stop_all
from .toolchain import cdk_cli_version, cdk_path, compile_cache, find_cdk, find_node

__all__ = [
    "LocalProject",
    "Retained",
    "cdk_cli_version",
    "cdk_path",
    "deployed_stacks",
    "find_cdk",
    "find_node",
    "retained_resources",
    "with_defaults",
]

STATE_DIR = ".sm-local"
#: Seconds a running emulator has to answer its health route (a loaded machine can be slow).
ANSWER_WITHIN = 30.0
#: Options with which the user chooses the app or the assembly; with any of them no deployed assembly is reused.
ASSEMBLY_OPTIONS = ("--app", "-a", "--output", "-o")


def _cli_options(command: list[str], subcommand: str) -> dict[str, tuple[str, str]] | None:
    """Every option of ``cdk <subcommand>`` by name and alias: its name and type (``boolean``,
    ``string``, ``array``, ``number``), from the CLI's own ``lib/cli/cli-type-registry.json`` (the
    table its argument parser is generated from); None when that CLI's files are not found."""
    candidates = [Path(c).resolve().parent.parent / "lib" / "cli" for c in command[:1]]
    candidates.append(ROOT / "node_modules" / "aws-cdk" / "lib" / "cli")
    for folder in candidates:
        registry = folder / "cli-type-registry.json"
        if registry.is_file():
            spec = json.loads(registry.read_text())
            options: dict[str, tuple[str, str]] = {}
            for name, option in [
                *spec["globalOptions"].items(),
                *spec["commands"].get(subcommand, {}).get("options", {}).items(),
            ]:
                aliases = option.get("alias", [])
                for alias in [name, *([aliases] if isinstance(aliases, str) else aliases)]:
                    options[alias] = (name, str(option.get("type", "string")))
            return options
    return None


def _option_name(flag: str, options: dict[str, tuple[str, str]] | None) -> str:
    """``--require-approval=x`` → ``require-approval``; ``--no-notices`` → ``notices``; ``-f`` → ``force``."""
    name = flag.lstrip("-").partition("=")[0]
    if options is not None and name in options:
        return options[name][0]
    name = name.removeprefix("no-")
    return options[name][0] if options is not None and name in options else name


def _given(args: tuple[str, ...], options: dict[str, tuple[str, str]] | None) -> tuple[set[str], list[str] | None]:
    """The options the user gave and the positional arguments (stack names); None for the latter
    when they cannot be told from option values (no option table and a bare word among ``args``)."""
    names: set[str] = set()
    positional: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            positional += args[i:]
            break
        if not arg.startswith("-") or arg == "-":
            positional.append(arg)
            continue
        name = _option_name(arg, options)
        names.add(name)
        kind = options[name][1] if options is not None and name in options else None
        if "=" in arg or kind is None or arg.lstrip("-").startswith("no-"):
            continue
        if kind == "boolean":
            if i < len(args) and args[i] in ("true", "false"):
                i += 1
        elif i < len(args):
            i += 1  # string, number and array options take one value each time (nargs 1)
    return names, (positional if options is not None or not positional else None)


def with_defaults(command: list[str], subcommand: str, args: tuple[str, ...], defaults: list[list[str]]) -> list[str]:
    """Each of ``defaults`` (``["--require-approval", "never"]``, ``["--all"]``) the user did not
    give, then ``args``: the CDK CLI refuses a flag given twice (``--require-approval can only be
    specified once``). ``--all`` is added only when no stack is named."""
    options = _cli_options(command, subcommand)
    names, stacks = _given(args, options)
    added: list[str] = []
    for default in defaults:
        name = _option_name(default[0], options)
        if name in names or (name == "all" and stacks != []):
            continue
        added += default
    return [*added, *args]


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


def _digest(assembly: Path) -> str:
    """Names, sizes and modification times of the files at the top of a cloud assembly (manifest,
    templates, asset manifests; asset directories are named by their content hash)."""
    h = hashlib.sha256()
    for f in sorted(assembly.iterdir()):
        if f.is_file():
            st = f.stat()
            h.update(f"{f.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


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
    """A CDK app directory and the one emulator that serves it.

    The emulator is found by the process id recorded in ``.sm-local/emulator.json`` (checked to be
    running ``sm_constructs.local serve`` for this directory) and by its own health route, which
    answers with that process id and work dir without reading moto's state.

    :param app_dir: the directory with ``cdk.json``. Default: the current directory.
    :param say: where progress lines go. Default: stderr, prefixed ``sm-local:``.
    """

    def __init__(self, app_dir: Path | None = None, *, say: Any = None) -> None:
        self.app_dir = (app_dir or Path.cwd()).resolve()
        self.workdir = self.app_dir / STATE_DIR
        self._state_file = self.workdir / "emulator.json"
        self.say = say or (lambda message: print(f"sm-local: {message}", file=sys.stderr, flush=True))
        self._path: str | None = None

    # -- the emulator ---------------------------------------------------------------------------
    def state(self) -> dict[str, Any] | None:
        """What ``emulator.json`` records (url, pid, workdir), or None."""
        try:
            return dict(json.loads(self._state_file.read_text()))
        except (OSError, ValueError):
            return None

    def running_url(self) -> str | None:
        """The URL of this directory's emulator; None when none runs (a stale record is said and removed).

        :raises RuntimeError: its process runs but does not answer (it is never replaced by a second one).
        """
        state = self.state()
        if state is None:
            return None
        pid, url = int(state["pid"]), str(state["url"])
        if not is_emulator_server(pid, str(self.workdir)):
            self.say(f"stale {self._state_file}: no emulator runs as pid {pid} ({url}) any more; record removed")
            self._state_file.unlink(missing_ok=True)
            return None
        deadline = time.monotonic() + ANSWER_WITHIN
        while True:
            answer = health(url, timeout=5)
            if answer is not None and answer["pid"] == pid and Path(answer["workdir"]) == self.workdir:
                return url
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the emulator for {self.app_dir} (pid {pid}) runs but {url}{HEALTH_PATH} does not answer "
                    f"as it; see {self.workdir / 'emulator.log'}, or stop it with `sm-local reset`"
                )
            time.sleep(0.5)

    def health(self) -> dict[str, Any]:
        """The running emulator's own account of itself (pid, workdir, url, time scale)."""
        answer = health(self.require_url(), timeout=5)
        if answer is None:
            raise RuntimeError(f"the emulator for {self.app_dir} stopped answering")
        return answer

    @contextlib.contextmanager
    def _starting(self) -> Iterator[None]:
        """One ``sm-local`` at a time starts this directory's emulator (two deploys at once share one)."""
        import fcntl

        self.workdir.mkdir(parents=True, exist_ok=True)
        with (self.workdir / "emulator.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def start(self, *, port: int = 0, time_scale: float | None = None) -> str:
        """This directory's emulator, started in the background unless it already runs.

        :param time_scale: for a new emulator (Default: 1.0); a running one is changed to it.
        """
        with self._starting():
            url = self.running_url()
            if url:
                self.say(f"emulator on {url} (pid {(self.state() or {}).get('pid')}): deploying into it")
                if port and not url.endswith(f":{port}"):
                    self.say(f"--port {port} ignored: this directory's emulator already runs on {url}")
                if time_scale is not None:
                    self.set_time_scale(time_scale)
                return url
            scale = 1.0 if time_scale is None else time_scale
            proc, url = start_server(port or free_port(), self.workdir, scale, detach=True)
            self._state_file.write_text(json.dumps({"url": url, "pid": proc.pid, "workdir": str(self.workdir)}))
        self.say(f"emulator started on {url} (pid {proc.pid}, time scale {scale}, log {self.workdir / 'emulator.log'})")
        return url

    def set_time_scale(self, factor: float) -> float:
        """Change the running emulator's time scale (Wait states, retries, endpoint timings, slow jobs)."""
        url = self.require_url()
        request = urllib.request.Request(
            f"{url}{TIME_SCALE_PATH}",
            data=json.dumps({"time_scale": factor}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise RuntimeError(json.loads(error.read()).get("message", str(error))) from None
        self.say(f"time scale {answer['time_scale']} (1.0: AWS's timing)")
        return float(answer["time_scale"])

    def stop(self) -> list[tuple[int, str]]:
        """Stop this directory's emulator and every process it started; ``(pid, kind)`` of each."""
        state = self.state()
        if not state:
            return []
        pid = int(state["pid"])
        stopped = stop_all(pid) if is_emulator_server(pid, str(self.workdir)) else []
        self._state_file.unlink(missing_ok=True)
        return stopped

    def reset(self) -> list[tuple[int, str]]:
        """Stop the emulator and everything it started, and delete all it held (stacks, buckets, job
        directories); ``(pid, kind)`` of each process stopped."""
        stopped = self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
        return stopped

    def env(self, url: str, account: str | None = None) -> dict[str, str]:
        return emulator_env(url, account)

    # -- the CDK CLI ---------------------------------------------------------------------------
    def cdk(self, url: str, *args: str, cwd: Path | None = None, check: bool = True) -> int:
        """Run the CDK CLI against the emulator, output to this terminal (``--no-notices`` unless given)."""
        if not (self.app_dir / "cdk.json").is_file() and cwd is None:
            raise RuntimeError(f"no cdk.json in {self.app_dir}: run sm-local in your CDK app's directory")
        cli = find_cdk(self.app_dir, say=self.say)
        command = [*cli, args[0], *with_defaults(cli, args[0], args[1:], [["--no-notices"]])]
        from ..jobs.images import shim_command

        # image assets go to the emulator's ECR, built by a Docker engine only when one answers (see images.py)
        self._path = self._path or cdk_path(self.app_dir, say=self.say)  # said once
        env = {
            **self.env(url),
            "PATH": self._path,
            "CDK_DOCKER": str(shim_command(self.workdir)),
            **compile_cache(),
        }
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

    def deploy(self, *cdk_args: str, port: int = 0, time_scale: float | None = None) -> None:
        """``cdk deploy`` into this directory's emulator (started if none runs; its time scale set when
        ``time_scale`` is given), with ``--all`` and ``--require-approval never`` unless given."""
        url = self.start(port=port, time_scale=time_scale)
        self.bootstrap(url)
        cli = find_cdk(self.app_dir, say=lambda _: None)
        self._deployed_record.unlink(missing_ok=True)
        self.cdk(url, "deploy", *with_defaults(cli, "deploy", cdk_args, [["--all"], ["--require-approval", "never"]]))
        assembly = self._assembly(cdk_args)
        if assembly is not None and (assembly / "manifest.json").is_file():
            self._deployed_record.write_text(json.dumps({"assembly": str(assembly), "digest": _digest(assembly)}))

    @property
    def _deployed_record(self) -> Path:
        return self.workdir / "deployed-assembly.json"

    def _assembly(self, cdk_args: tuple[str, ...]) -> Path | None:
        """The cloud assembly directory the CLI writes for these args; None when the user chose the app or output."""
        if any(a == o or a.startswith(f"{o}=") for a in cdk_args for o in ASSEMBLY_OPTIONS):
            return None
        try:
            output = json.loads((self.app_dir / "cdk.json").read_text()).get("output", "cdk.out")
        except (OSError, ValueError):
            return None
        return (self.app_dir / str(output)).resolve()

    def deployed_assembly(self, cdk_args: tuple[str, ...] = ()) -> Path | None:
        """The assembly the last ``deploy`` deployed, if it is still there unchanged (else None)."""
        try:
            record = json.loads(self._deployed_record.read_text())
        except (OSError, ValueError):
            return None
        assembly = self._assembly(cdk_args)
        if assembly is None or str(assembly) != record.get("assembly") or not assembly.is_dir():
            return None
        return assembly if _digest(assembly) == record.get("digest") else None

    def destroy(self, *cdk_args: str) -> None:
        """``cdk destroy`` in this directory's emulator, with ``--all`` and ``--force`` unless given."""
        url = self.running_url()
        if url is None:
            raise RuntimeError(f"no emulator running for {self.app_dir}: nothing to destroy")
        cli = find_cdk(self.app_dir, say=lambda _: None)
        stacks = [a for a in cdk_args if not a.startswith("-")]
        cfn = LocalSession(url).client("cloudformation")
        deployed = deployed_stacks(cfn, stacks or None)
        if not deployed:
            print(
                f"sm-local: nothing to destroy: no stack {'named ' + ', '.join(stacks) + ' ' if stacks else ''}is deployed"
            )
            return
        args = with_defaults(cli, "destroy", cdk_args, [["--all"], ["--force"]])
        assembly = self.deployed_assembly(cdk_args)
        if assembly is not None:
            self.say(
                f"destroying what the last deploy deployed: {assembly.name}/ is unchanged since (not synthesized again)"
            )
            args = ["--app", str(assembly), *args]
        code = self.cdk(url, "destroy", *args, check=False)
        if code == 0:
            self._deployed_record.unlink(missing_ok=True)
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
