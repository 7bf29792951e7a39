"""The reference app in the local emulator: start it, deploy with the CDK CLI, run the build, approve
the version it registered (``sm-pipeline approve``), follow the deployment it starts, summarize.

Used by ``python -m sm_constructs.local demo`` (``make demo``) and by the end-to-end tests.
"""

from __future__ import annotations

import argparse
import faulthandler
import gc
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .._net import free_port
from ..server import ACCOUNT_ID, HEALTH_PATH, SERVICE, Emulator
from .toolchain import ROOT, cdk_path, compile_cache, find_cdk

REGION = "us-east-1"
STACK = "SmConstructsReference"


def reference_app() -> Path:
    """The reference app's directory: the source tree, or its copy inside the installed package."""
    return ROOT if (ROOT / "app.py").is_file() else Path(__file__).resolve().parents[1] / "_reference"


#: The role ``emulator_env(url, account=...)`` assumes in another emulated account.
ACCOUNT_ROLE = "sm-local-deployer"


def emulator_env(endpoint_url: str, account: str | None = None) -> dict[str, str]:
    """Environment for AWS clients (and the CDK CLI) talking to the emulator.

    :param account: another emulated account to act in (e.g. a release's staging account). moto keeps
        each account's state apart and takes the account from the credentials; credentials from STS
        ``AssumeRole`` of a role in that account (``sm-local-deployer``) act there, as on AWS.
        Default: - the emulator's own account (``123456789012``).
    """
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "CDK_DISABLE_LEGACY_EXPORT_WARNING": "1",
    }
    env.pop("AWS_SESSION_TOKEN", None)
    if account is not None and account != ACCOUNT_ID:
        import boto3

        sts = boto3.client(
            "sts",
            endpoint_url=endpoint_url,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        credentials = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/{ACCOUNT_ROLE}", RoleSessionName=ACCOUNT_ROLE
        )["Credentials"]
        env["AWS_ACCESS_KEY_ID"] = credentials["AccessKeyId"]
        env["AWS_SECRET_ACCESS_KEY"] = credentials["SecretAccessKey"]
        env["AWS_SESSION_TOKEN"] = credentials["SessionToken"]
    return env


class LocalSession:
    """AWS clients for the emulator at ``endpoint_url`` (no environment variables needed)."""

    def __init__(self, endpoint_url: str) -> None:
        import boto3

        self.endpoint_url = endpoint_url
        self._session = boto3.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION)

    def client(self, service: str) -> Any:
        return self._session.client(service, endpoint_url=self.endpoint_url)


def serve(args: argparse.Namespace) -> int:
    from ..jobs.zygote import SHARED_MACHINE_ENV

    # the emulator scores built-in XGBoost models in its own process; its OpenMP threads wait as the jobs' do
    for key, value in SHARED_MACHINE_ENV.items():
        os.environ.setdefault(key, value)
    enforce = False if getattr(args, "no_iam", False) else None  # None: the default (SM_LOCAL_IAM)
    # This process is the emulator's alone. Its start imports moto, its plug-ins and botocore's models, which
    # make no garbage worth collecting: without the collector's passes over a growing heap, starting takes
    # about a quarter less CPU (moto's CloudFormation, Step Functions and SageMaker modules and the server:
    # 1.7-2.2 s → 1.2-1.4 s).
    gc.disable()
    with Emulator(port=args.port, workdir=args.workdir, time_scale=args.time_scale, enforce_iam=enforce) as emulator:
        # What it has loaded by now lives as long as it does: the collector's full passes skip it, and they
        # come less often (a request makes many short-lived objects). The collector took about a tenth of an
        # emulator's CPU before.
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)
        gc.enable()
        iam = "IAM enforced" if emulator.enforce_iam else "IAM NOT enforced"
        print(f"emulator listening on {emulator.endpoint_url} (work dir {emulator.workdir}; {iam})", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 <pid>`: every thread's stack to the log
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


def start_server(
    port: int, workdir: Path, time_scale: float, *, detach: bool = False, enforce_iam: bool = True
) -> tuple[subprocess.Popen[str], str]:
    """The emulator in a child process; returns it once it answers.

    :param detach: run it in its own session, so it outlives this process (``sm-local``).
    :param enforce_iam: False for ``serve --no-iam``: raw calls, not a deployed app, have no policies
        to check. Default: True, unless ``SM_LOCAL_IAM=off``.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    log = (workdir / "emulator.log").open("a")
    package_parent = str(Path(__file__).resolve().parents[3])
    python_path = os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH")) if p)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sm_constructs.local",
            "serve",
            "--port",
            str(port),
            "--workdir",
            str(workdir),
            "--time-scale",
            str(time_scale),
            *([] if enforce_iam else ["--no-iam"]),
        ],
        cwd=workdir,
        env={**os.environ, "PYTHONPATH": python_path},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=detach,
    )
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"emulator exited (exit {proc.returncode}); see {workdir / 'emulator.log'}")
        answer = health(url)
        if answer is not None and answer["pid"] == proc.pid:
            return proc, url
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"emulator did not start within 60 s; see {workdir / 'emulator.log'}")


def health(url: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """What the emulator at ``url`` says of itself (``GET /sm-local/health``: pid, workdir, time
    scale), or None when nothing answers there or what answers is not an sm-local emulator."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}{HEALTH_PATH}", timeout=timeout) as response:
            answer = json.loads(response.read())
    except (OSError, ValueError):
        return None
    return answer if isinstance(answer, dict) and answer.get("service") == SERVICE else None


def stop_server(proc: subprocess.Popen[str]) -> None:
    """Stops an emulator :func:`start_server` started: SIGTERM, then SIGKILL if it has not exited in 30 s."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:  # a loaded machine: do not leave it running
        proc.kill()
        proc.wait(timeout=10)


def _cdk_command(*args: str) -> tuple[list[str], dict[str, str]]:
    path = cdk_path(ROOT)  # the pinned Node.js first, then this interpreter (the app's `python`)
    command = find_cdk(ROOT)
    return [*command, *args, "--no-notices", "--no-version-reporting", "--ci"], {"PATH": path, **compile_cache()}


def cdk(env: dict[str, str], *args: str, log: Path, cwd: Path = ROOT) -> None:
    """The pinned CDK CLI from node_modules against the emulator."""
    command, extra = _cdk_command(*args)
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        started = time.monotonic()
        done = subprocess.run(command, cwd=cwd, env={**env, **extra}, stdout=out, stderr=subprocess.STDOUT, timeout=600)
        out.write(f"# {args[0]}: exit {done.returncode} in {time.monotonic() - started:.1f}s\n")
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:1])} failed (exit {done.returncode}); see {log}")


def start_synth(workdir: Path) -> subprocess.Popen[bytes]:
    """``cdk synth`` of the reference app into ``<workdir>/cdk.out``, in the background.

    Synthesis needs no endpoint, so it runs while the emulator starts; ``deploy`` then deploys the
    assembly without synthesizing again. Outside the source tree the packaged copy of the app is
    synthesized from ``<workdir>/app`` with this interpreter.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    app = reference_app()
    args = ["synth", "--quiet", "--output", str(workdir / "cdk.out")]
    if app != ROOT:
        app = Path(shutil.copytree(app, workdir / "app", dirs_exist_ok=True))
        args += ["--app", f"{shlex.quote(sys.executable)} app.py"]
    command, extra = _cdk_command(*args)
    log = (workdir / "synth.log").open("w")
    return subprocess.Popen(command, cwd=app, env={**os.environ, **extra}, stdout=log, stderr=subprocess.STDOUT)


def deploy(
    env: dict[str, str], workdir: Path, synth: subprocess.Popen[bytes] | None = None, *, assembly: Path | None = None
) -> None:
    """cdk bootstrap + cdk deploy of the reference app: ``assembly`` (a ``cdk.out`` synthesized before),
    else the one synthesized into ``<workdir>/cdk.out``."""
    log = workdir / "cdk.log"
    out = assembly or workdir / "cdk.out"
    # From the work dir: outside the project the CLI does not synthesize the app just to bootstrap.
    cdk(env, "bootstrap", f"aws://{ACCOUNT_ID}/{REGION}", log=log, cwd=workdir)
    if assembly is None:
        synth = synth or start_synth(workdir)
        if synth.wait(timeout=600) != 0:
            raise RuntimeError(f"cdk synth failed (exit {synth.returncode}); see {workdir / 'synth.log'}")
    cdk(env, "deploy", STACK, "--app", str(out), "--require-approval", "never", log=log, cwd=workdir)


def stack_outputs(session: Any) -> dict[str, str]:
    """Physical ids of the reference stack's resources that a run needs."""
    resources = session.client("cloudformation").list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    found: dict[str, str] = {}
    for r in resources:
        if r["ResourceType"] == "AWS::S3::Bucket" and r["LogicalResourceId"].startswith("DataBucket"):
            found["bucket"] = r["PhysicalResourceId"]
        if r["ResourceType"] == "AWS::SNS::Topic" and r["LogicalResourceId"].startswith("ChurnPipeline"):
            found["topic"] = r["PhysicalResourceId"]
    return found


def upload_sample(session: Any, bucket: str) -> str:
    key = "raw/churn.csv"
    session.client("s3").upload_file(str(reference_app() / "reference" / "data" / "churn.csv"), bucket, key)
    return f"s3://{bucket}/raw/"


def summary(session: Any, bucket: str, execution_arn: str) -> list[str]:
    """Where a run's outputs are, from the emulated S3 and SageMaker."""
    name = execution_arn.rsplit(":", 1)[1]
    s3 = session.client("s3")
    lines = []
    for prefix in ("processed/", "models/", "batch/"):
        keys = [
            o["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}{name}/")
            for o in page.get("Contents", [])
        ]
        lines.append(f"  s3://{bucket}/{prefix}{name}/: {len(keys)} objects" + (f" (e.g. {keys[0]})" if keys else ""))
    try:
        # the report is kept under the model's training job (a reused evaluation's report stays where it is)
        output = session.client("stepfunctions").describe_execution(executionArn=execution_arn).get("output") or "{}"
        trained = json.loads(output)["steps"]["Train"]["TrainingJobName"]
        body = s3.get_object(Bucket=bucket, Key=f"evaluation/{trained}/evaluation.json")["Body"].read()
        metrics = json.loads(body)["metrics"]
        lines.append("  evaluation: " + ", ".join(f"{k}={v:.4f}" for k, v in metrics.items()))
    except Exception as error:  # no evaluation when the run failed before it
        lines.append(f"  evaluation: none ({error.__class__.__name__})")
    sm = session.client("sagemaker")
    try:
        endpoint = sm.describe_endpoint(EndpointName="sm-constructs-churn")
        lines.append(f"  endpoint sm-constructs-churn: {endpoint['EndpointStatus']} ({endpoint['EndpointConfigName']})")
    except Exception:
        lines.append("  endpoint sm-constructs-churn: not created")
    resource = "endpoint/sm-constructs-churn/variant/AllTraffic"
    scaling = session.client("application-autoscaling")
    for target in scaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource])[
        "ScalableTargets"
    ]:
        lines.append(f"  scalable target {resource}: {target['MinCapacity']}-{target['MaxCapacity']} instances")
    for policy in scaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource)[
        "ScalingPolicies"
    ]:
        tracking = policy.get("TargetTrackingScalingPolicyConfiguration", {})
        metric = tracking.get("PredefinedMetricSpecification", {}).get("PredefinedMetricType", "custom metric")
        lines.append(f"  scaling policy {policy['PolicyName']}: {metric} target {tracking.get('TargetValue')}")
    try:
        schedule = sm.describe_monitoring_schedule(MonitoringScheduleName="sm-constructs-churn-data-quality")
        config = schedule["MonitoringScheduleConfig"]
        lines.append(
            f"  monitoring schedule {schedule['MonitoringScheduleName']}: {schedule['MonitoringScheduleStatus']}, "
            f"{config['ScheduleConfig']['ScheduleExpression']}, job definition {config['MonitoringJobDefinitionName']} "
            "(recorded; the emulator runs no monitoring executions)"
        )
    except Exception:
        lines.append("  monitoring schedule sm-constructs-churn-data-quality: not created")
    return lines


def release(session: Any, bucket: str, execution_arn: str, started: float) -> int:
    """The built version is pending approval: approve it as a person would, follow the deployment."""
    from ...cli import main as cli

    name = execution_arn.rsplit(":", 1)[1]
    s3 = session.client("s3")
    # the deployment's batch transform scores processed/latest/batch/: this run's batch split
    s3.copy_object(
        Bucket=bucket,
        Key="processed/latest/batch/batch.csv",
        CopySource={"Bucket": bucket, "Key": f"processed/{name}/batch/batch.csv"},
    )
    print(f"[{time.monotonic() - started:5.1f}s] $ sm-pipeline models churn-models", flush=True)
    cli(["models", "churn-models"])
    print(f"[{time.monotonic() - started:5.1f}s] $ sm-pipeline approve churn-models --follow", flush=True)
    return cli(["approve", "churn-models", "--follow", "--interval", "0.5"])


def demo(args: argparse.Namespace) -> int:
    from ...cli import watch

    started = time.monotonic()
    workdir = args.workdir.resolve()
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    port = args.port or 0
    if not port:
        port = free_port()
    synth = start_synth(workdir)
    try:
        proc, url = start_server(port, workdir, args.time_scale)
    except BaseException:
        synth.kill()
        raise
    try:
        print(f"[{time.monotonic() - started:5.1f}s] emulator on {url} (work dir {workdir})", flush=True)
        env = emulator_env(url)
        deploy(env, workdir, synth)
        print(f"[{time.monotonic() - started:5.1f}s] cdk bootstrap + cdk deploy {STACK}: done", flush=True)
        session = LocalSession(url)
        found = stack_outputs(session)
        data_uri = upload_sample(session, found["bucket"])
        print(f"[{time.monotonic() - started:5.1f}s] sample data uploaded to {data_uri}", flush=True)
        sfn = session.client("stepfunctions")
        arn = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:sm-constructs-churn"
        execution = sfn.start_execution(
            stateMachineArn=arn, name=f"demo-{int(time.time())}", input=json.dumps({"inputDataUri": data_uri})
        )["executionArn"]
        print(f"[{time.monotonic() - started:5.1f}s] started {execution}", flush=True)
        code = watch(sfn, execution, interval=0.5)
        if code == 0:
            os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})  # the CLI talks to the emulator
            code = release(session, found["bucket"], execution, started)
        print(f"[{time.monotonic() - started:5.1f}s] outputs:")
        for line in summary(session, found["bucket"], execution):
            print(line)
        print(f"job logs: {workdir / 'jobs'}; CDK log: {workdir / 'cdk.log'}")
        print(f"demo {'succeeded' if code == 0 else 'FAILED'} in {time.monotonic() - started:.0f}s")
        return code
    finally:
        if args.keep:
            print(f"emulator left running on {url} (pid {proc.pid})")
        else:
            stop_server(proc)
