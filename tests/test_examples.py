"""The apps in ``examples/``, used as a new user would: from the built wheel in a fresh virtual
environment, in a copy of the example's directory, with ``sm-local`` only.

Each example is deployed, its pipeline run (execution SUCCEEDED, objects written, endpoint answers,
stack outputs printed), something in it changed (a hyperparameter, a script line), deployed again
into the same emulator (the first run's data still there), run again to see the change, and
destroyed: afterwards nothing of the stack is left but what its template RETAINs, and ``sm-local
destroy`` lists those. The wall time of each phase is printed per example (``pytest -rP``).

One xdist group per example, so they run side by side; they share one wheel venv (conftest.py).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from graph_guarantees import assert_every_step_guaranteed
from support import new_user_env

from sm_constructs import cli
from sm_constructs.local.cli import processes
from sm_constructs.local.cli.demo import health

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TIME_SCALE = "0.02"
pytestmark = pytest.mark.wheel


class UserApp:
    """A copy of an example directory, driven by the wheel's ``sm-local`` as a user's shell would."""

    def __init__(self, name: str, venv: Path, tmp_path: Path) -> None:
        self.name = name
        self.dir = Path(shutil.copytree(EXAMPLES / name, tmp_path / name))
        self.env = new_user_env(venv, tmp_path)
        self.sm_local = str(venv / "bin" / "sm-local")
        self.times: dict[str, float] = {}
        self.url = ""
        self.execution_name = ""
        self.missed: list[str] = []
        self._session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
        self._clients: dict[tuple[str, str], Any] = {}

    def expect(self, ok: bool, what: str) -> None:
        """A check whose failure does not stop the phases after it; ``settle`` fails the test with all of them."""
        if not ok:
            self.missed.append(what)

    def settle(self) -> None:
        assert not self.missed, f"{self.name}:\n" + "\n".join(self.missed)

    def sh(self, *args: str, fails: bool = False, env: dict[str, str] | None = None) -> str:
        """``sm-local <args>``; its output. It must succeed, or with ``fails`` must fail."""
        done = subprocess.run(
            [self.sm_local, *args],
            env={**self.env, **(env or {})},
            cwd=self.dir,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if fails:
            assert done.returncode != 0, f"{self.name}: sm-local {' '.join(args)} succeeded; it should fail"
        elif done.returncode != 0:
            # a failed run says why in its first lines (failed state, error, FailureReason), then the job log
            facts = [line[:1000] for line in done.stdout.splitlines() if not line.startswith(("started ", "["))]
            pytest.fail(
                f"{self.name}: sm-local {' '.join(args)} exit {done.returncode}\n"
                + "\n".join(facts)[-6000:]
                + f"\n{done.stderr[-3000:]}"
            )
        return done.stdout + done.stderr

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            self.times[name] = time.monotonic() - start

    def deploy(self, phase: str) -> str:
        # aws-cdk-lib's synth-time check of the templates against CloudFormation's rules is on by default and
        # checked on the first deploy. A redeploy changes a script line or a hyperparameter, so its template
        # differs by an asset hash or a value; it skips the check (CDK_VALIDATION=false, aws-cdk-lib's switch),
        # whose engine takes 3.5 s of a small app's 5.3 s of synth CPU.
        first = not self.url  # no emulator yet: the first deploy
        with self.phase(phase):
            out = self.sh("deploy", "--time-scale", TIME_SCALE, env=None if first else {"CDK_VALIDATION": "false"})
        if first:
            self.expect(
                "Template validation found issues" not in out, f"{phase}: aws-cdk-lib's template validation warned"
            )
        exports = dict(line.removeprefix("export ").split("=", 1) for line in self.sh("env").splitlines())
        assert self.url in ("", exports["AWS_ENDPOINT_URL"]), f"{self.name}: a second emulator started"
        self.url = exports["AWS_ENDPOINT_URL"]
        return out

    def run(self, phase: str, pipeline: str) -> dict[str, Any]:
        """``sm-local run --json``: the execution must succeed; its output."""
        with self.phase(phase):
            out = self.sh("run", pipeline, "--interval", "0.5", "--json")
        (started,) = [x for x in out.splitlines() if x.startswith("started arn:")]
        self.execution_name = started.rsplit(":", 1)[1]
        (line,) = [x for x in out.splitlines() if x.startswith("succeeded in ")]
        return dict(json.loads(line.split("; output: ", 1)[1]))

    def edit(self, path: str, old: str, new: str) -> None:
        file = self.dir / path
        text = file.read_text()
        assert text.count(old) == 1, f"{self.name}: {old!r} is not once in {path}"
        file.write_text(text.replace(old, new))

    def client(self, service: str) -> Any:
        """A client of the emulator, made once per service: a new one loads its service's model again
        (0.05–0.2 s of CPU), and the destroy check asks about every resource."""
        key = (service, self.url)
        if key not in self._clients:
            self._clients[key] = self._session.client(service, endpoint_url=self.url)
        return self._clients[key]

    def expect_outputs(self, stack: str, printed: str, expected: dict[str, str]) -> None:
        """The stack's outputs are ``expected`` (key → value) and ``sm-local deploy`` printed them."""
        described = self.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
        self.expect(outputs == expected, f"{stack} outputs {outputs}, expected {expected}")
        for key, value in expected.items():
            self.expect(f"{stack}.{key} = {value}" in printed, f"sm-local deploy did not print {stack}.{key} = {value}")

    def physical_id(self, stack: str, kind: str, logical_prefix: str) -> str:
        (found,) = [
            r["PhysicalResourceId"]
            for r in self.resources(stack)
            if r["ResourceType"] == kind and r["LogicalResourceId"].startswith(logical_prefix)
        ]
        return str(found)

    def resources(self, stack: str) -> list[dict[str, str]]:
        cfn = self.client("cloudformation")
        return list(cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"])

    def read(self, bucket: str, key: str) -> bytes:
        return bytes(self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())

    def destroy_and_check(self, stacks: list[str], *, unblock: Callable[[str], set[str]] | None = None) -> None:
        """``sm-local destroy``; afterwards only the resources the templates RETAIN exist, and are listed.

        :param unblock: for an app whose first destroy fails as it would on AWS: given that destroy's
            output, does what the user does and returns the physical IDs of the RETAINed resources it
            deleted by hand; then ``sm-local destroy`` runs again.
        """
        before = {stack: {r["LogicalResourceId"]: r for r in self.resources(stack)} for stack in stacks}
        templates = {s: json.loads((self.dir / "cdk.out" / f"{s}.template.json").read_text()) for s in stacks}
        by_hand: set[str] = set()
        with self.phase("destroy"):
            if unblock is None:
                out = self.sh("destroy")
            else:
                out = self.sh("destroy", fails=True)
                by_hand = unblock(out)
                out += self.sh("destroy")
        left = [s["StackName"] for s in self.client("cloudformation").describe_stacks()["Stacks"]]
        self.expect(not set(left) & set(stacks), f"stacks left after destroy: {left}")
        unchecked, skipped = set(), set()
        for stack, template in templates.items():
            for logical, declared in template["Resources"].items():
                kind = declared["Type"]
                if kind == "AWS::CDK::Metadata":
                    continue
                summary = before[stack].get(logical)
                if summary is None or "PhysicalResourceId" not in summary:
                    # a type moto's CloudFormation skips (docs/local-emulator.md: what it does not do): listed
                    # with its logical ID and type, without a physical ID
                    skipped.add(kind)
                    continue
                exists = EXISTS.get(kind)
                if exists is None:
                    unchecked.add(kind)
                    continue
                physical = summary["PhysicalResourceId"]
                alive = exists(self, physical)
                if declared.get("DeletionPolicy") == "Retain":
                    self.expect(alive != (physical in by_hand), f"{kind} {physical} is RETAINed but gone")
                    self.expect(physical in out, f"{kind} {physical} is RETAINed but not listed by sm-local destroy")
                else:
                    self.expect(not alive, f"{kind} {physical} ({logical}) is left after destroy")
        print(
            f"{self.name}: not deployed by the emulator: {sorted(skipped)}; not checked after destroy: {sorted(unchecked)}"
        )

    def report(self) -> str:
        return f"{self.name}: " + ", ".join(f"{phase} {seconds:.1f}s" for phase, seconds in self.times.items())


def _gone(call: Callable[[], Any], *missing: str) -> bool:
    """False when ``call`` says the resource does not exist (one of the ``missing`` error codes)."""
    try:
        call()
    except ClientError as error:
        if error.response["Error"]["Code"] in missing:
            return False
        raise
    return True


def _key_alive(app: UserApp, key_id: str) -> bool:
    state = app.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]
    return state not in ("PendingDeletion", "PendingReplicaDeletion")


def _log_group_alive(app: UserApp, name: str) -> bool:
    groups = app.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return any(g["logGroupName"] == name for g in groups)


def _ec2(describe: str, field: str, ids: str) -> Callable[[UserApp, str], bool]:
    def alive(app: UserApp, physical: str) -> bool:
        found = getattr(app.client("ec2"), describe)(Filters=[{"Name": ids, "Values": [physical]}])[field]
        return bool(found) and found[0].get("State") not in ("deleted", "Deleted")

    return alive


def _domain_alive(app: UserApp, physical: str) -> bool:
    domain = physical.rsplit("/", 1)[-1]  # the id, or the ARN ending with it
    return any(d["DomainId"] == domain for d in app.client("sagemaker").list_domains()["Domains"])


def _studio_name(physical: str) -> str:
    """The name in a profile's or space's physical ID: its ARN, ``<domain ID>|<name>`` (Ref) or the name."""
    return physical.replace("|", "/").rsplit("/", 1)[-1]


def _user_profile_alive(app: UserApp, physical: str) -> bool:
    profiles = app.client("sagemaker").list_user_profiles()["UserProfiles"]
    return any(p["UserProfileName"] == _studio_name(physical) for p in profiles)


def _space_alive(app: UserApp, physical: str) -> bool:
    spaces = app.client("sagemaker").list_spaces()["Spaces"]
    return any(s["SpaceName"] == _studio_name(physical) for s in spaces)


#: How to tell whether a resource of each type still exists, by its physical id.
EXISTS: dict[str, Callable[[UserApp, str], bool]] = {
    "AWS::S3::Bucket": lambda app, p: _gone(lambda: app.client("s3").head_bucket(Bucket=p), "404", "NoSuchBucket"),
    "AWS::KMS::Key": _key_alive,
    "AWS::IAM::Role": lambda app, p: _gone(lambda: app.client("iam").get_role(RoleName=p), "NoSuchEntity"),
    "AWS::IAM::ManagedPolicy": lambda app, p: _gone(lambda: app.client("iam").get_policy(PolicyArn=p), "NoSuchEntity"),
    "AWS::Logs::LogGroup": _log_group_alive,
    "AWS::StepFunctions::StateMachine": lambda app, p: _gone(
        lambda: app.client("stepfunctions").describe_state_machine(stateMachineArn=p), "StateMachineDoesNotExist"
    ),
    "AWS::Lambda::Function": lambda app, p: _gone(
        lambda: app.client("lambda").get_function(FunctionName=p), "ResourceNotFoundException"
    ),
    "AWS::SNS::Topic": lambda app, p: _gone(
        lambda: app.client("sns").get_topic_attributes(TopicArn=p), "NotFound", "NotFoundException"
    ),
    "AWS::EC2::VPC": _ec2("describe_vpcs", "Vpcs", "vpc-id"),
    "AWS::EC2::Subnet": _ec2("describe_subnets", "Subnets", "subnet-id"),
    "AWS::EC2::SecurityGroup": _ec2("describe_security_groups", "SecurityGroups", "group-id"),
    "AWS::EC2::VPCEndpoint": _ec2("describe_vpc_endpoints", "VpcEndpoints", "vpc-endpoint-id"),
    "AWS::EC2::RouteTable": _ec2("describe_route_tables", "RouteTables", "route-table-id"),
    "AWS::SageMaker::Domain": _domain_alive,
    "AWS::SageMaker::UserProfile": _user_profile_alive,
    "AWS::SageMaker::Space": _space_alive,
    "AWS::SageMaker::NotebookInstance": lambda app, p: _gone(
        lambda: app.client("sagemaker").describe_notebook_instance(NotebookInstanceName=p), "ValidationException"
    ),
}


@pytest.fixture
def user_app(venv, tmp_path, request) -> Iterator[Callable[[str], UserApp]]:
    made: list[UserApp] = []

    def make(name: str) -> UserApp:
        made.append(UserApp(name, venv, tmp_path))
        return made[-1]

    yield make
    for app in made:
        print(app.report())
        for missed in app.missed:  # also when a later phase stopped the test before settle()
            print(f"{app.name}: {missed}")
        state = app.dir / ".sm-local" / "emulator.json"
        pid = int(json.loads(state.read_text())["pid"]) if state.is_file() else None
        with contextlib.suppress(pytest.fail.Exception):
            app.sh("reset")
        assert not (app.dir / ".sm-local").exists()
        assert not app.url or health(app.url) is None, f"{app.name}: the emulator still answers after reset"
        if pid is not None and _running(pid):
            os.kill(pid, signal.SIGTERM)  # not left behind for the rest of the suite (it stops its job runner)
            deadline = time.monotonic() + 20
            while _running(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
            pytest.fail(f"{app.name}: the emulator (pid {pid}) outlived sm-local reset")


def _running(pid: int) -> bool:
    """The process has not exited (a zombie has: it waits only for its parent, here PID 1, to reap it)."""
    return processes.alive(pid)


@pytest.mark.xdist_group("example-studio-summary")
def test_studio_summary(user_app):
    app = user_app("studio-summary")
    printed = app.deploy("deploy")
    bucket = app.physical_id("StudioSummary", "AWS::S3::Bucket", "DataBucket")
    (domain,) = [d["DomainId"] for d in app.client("sagemaker").list_domains()["Domains"]]
    machine = app.physical_id("StudioSummary", "AWS::StepFunctions::StateMachine", "Summarise")
    expected = {"PipelineArn": machine, "DataBucketName": bucket, "StudioDomainId": domain}
    app.expect_outputs("StudioSummary", printed, expected)
    sm = app.client("sagemaker")
    assert sm.describe_domain(DomainId=domain)["AppNetworkAccessType"] == "VpcOnly"
    for kind, describe in (
        ("user profile ana", lambda: sm.describe_user_profile(DomainId=domain, UserProfileName="ana")),
        ("space team", lambda: sm.describe_space(DomainId=domain, SpaceName="team")),
    ):
        try:
            app.expect(describe()["Status"] == "InService", f"the {kind} is not InService")
        except ClientError as error:
            app.expect(False, f"the {kind} was not deployed: {error}")
    app.client("s3").upload_file(str(app.dir / "data" / "sensors.csv"), bucket, "raw/sensors.csv")

    result = app.run("run", "studio-summary")
    assert result["steps"]["Summarise"]["ProcessingJobStatus"] == "Completed"
    summary = json.loads(app.read(bucket, "processed/summary/summary.json"))
    assert summary["sensors.csv"]["rows"] == 120
    assert set(summary["sensors.csv"]) == {"rows", "mean"}

    app.edit(
        "scripts/summarise.py",
        '        "mean": frame.mean(numeric_only=True).round(3).to_dict(),\n',
        '        "mean": frame.mean(numeric_only=True).round(3).to_dict(),\n'
        '        "median": frame.median(numeric_only=True).round(3).to_dict(),\n',
    )
    app.deploy("redeploy")
    app.run("rerun", "studio-summary")  # the raw data uploaded before the change is still there
    summary = json.loads(app.read(bucket, "processed/summary/summary.json"))
    assert set(summary["sensors.csv"]) == {"rows", "mean", "median"}
    versions = app.client("s3").list_object_versions(Bucket=bucket, Prefix="processed/summary/summary.json")
    assert len(versions["Versions"]) == 2  # the first run's summary is the previous version

    # StudioDomain RETAINs the domain (its home EFS volume holds users' work), and the volume's mount
    # targets stay in the VPC's subnets: the first destroy ends DELETE_FAILED on them, as on AWS
    # (EC2 DeleteSubnet: DependencyViolation). The user deletes the domain with its volume, as
    # sm-local destroy lists it, and destroys again.
    def delete_domain(out: str) -> set[str]:
        app.expect("has dependencies and cannot be deleted" in out, f"destroy did not fail on the subnets:\n{out}")
        app.expect(f"delete-domain --domain-id {domain}" in out, "sm-local destroy did not list the kept domain")
        sm.delete_domain(DomainId=domain, RetentionPolicy={"HomeEfsFileSystem": "Delete"})
        return {domain}

    app.destroy_and_check(["StudioSummary"], unblock=delete_domain)
    app.settle()


def _model_file(app: UserApp, model_uri: str, member: str) -> bytes:
    bucket, key = model_uri.removeprefix("s3://").split("/", 1)
    with tarfile.open(fileobj=io.BytesIO(app.read(bucket, key))) as archive:
        extracted = archive.extractfile(member)
        assert extracted is not None
        return extracted.read()


@pytest.mark.xdist_group("example-notebook-training")
def test_notebook_training(user_app):
    app = user_app("notebook-training")
    printed = app.deploy("deploy")
    lake = app.physical_id("Lake", "AWS::S3::Bucket", "Lake")
    machine = app.physical_id("NotebookTraining", "AWS::StepFunctions::StateMachine", "Train")
    # DescribeStacks lists every output: the app's, and those the CDK adds to export Lake's bucket to
    # NotebookTraining (the CLI prints them all)
    lake_outputs = json.loads((app.dir / "cdk.out" / "Lake.template.json").read_text())["Outputs"]
    exports = {
        k: lake if "Ref" in o["Value"] else f"arn:aws:s3:::{lake}" for k, o in lake_outputs.items() if "Export" in o
    }
    assert len(exports) == 2
    app.expect_outputs("Lake", printed, {"LakeBucketName": lake, **exports})
    listed = {e["Name"]: e["Value"] for e in app.client("cloudformation").list_exports()["Exports"]}
    app.expect(set(exports.values()) <= set(listed.values()), f"Lake's exports are not listed: {listed}")
    app.expect_outputs("NotebookTraining", printed, {"TrainingStateMachineArn": machine})
    sm = app.client("sagemaker")
    (notebook,) = sm.list_notebook_instances()["NotebookInstances"]
    assert notebook["NotebookInstanceStatus"] == "InService"
    app.client("s3").upload_file(str(app.dir / "data" / "fuel.csv"), lake, "raw/fuel/fuel.csv")

    def train(phase: str) -> dict[str, Any]:
        job = app.run(phase, "fuel-training")["steps"]["Train"]
        described = sm.describe_training_job(TrainingJobName=job["TrainingJobName"])
        assert described["TrainingJobStatus"] == "Completed"
        model_uri = described["ModelArtifacts"]["S3ModelArtifacts"]
        assert model_uri.startswith(f"s3://{lake}/models/fuel/")
        metrics = {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}
        record = json.loads(_model_file(app, model_uri, "training.json"))
        assert record["rows"] == 150 and 0.5 < metrics["train:r2"] <= 1
        return {"uri": model_uri, **record}

    first = train("run")
    assert first["alpha"] == 1.0
    app.edit("app.py", 'hyperparameters={"alpha": "1.0"}', 'hyperparameters={"alpha": "25.0"}')
    app.deploy("redeploy")
    second = train("rerun")
    assert second["alpha"] == 25.0 and second["r2"] != first["r2"]
    assert app.read(lake, first["uri"].split("/", 3)[3])  # the first model is still there

    app.destroy_and_check(["NotebookTraining", "Lake"])
    app.settle()


def _invoke(app: UserApp, endpoint: str, body: str) -> list[float]:
    answer = app.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=endpoint, Body=body, ContentType="text/csv", Accept="application/json"
    )
    return [float(x) for x in json.loads(answer["Body"].read())]


@pytest.mark.xdist_group("example-byo-serverless")
def test_byo_serverless(user_app):
    app = user_app("byo-serverless")
    printed = app.deploy("deploy")
    bucket, endpoint = app.physical_id("ByoServerless", "AWS::S3::Bucket", "DataBucket"), "houses-prices"
    machine = app.physical_id("ByoServerless", "AWS::StepFunctions::StateMachine", "Pipeline")
    expected = {"PipelineArn": machine, "EndpointName": endpoint, "DataBucketName": bucket}
    app.expect_outputs("ByoServerless", printed, expected)
    for split in ("train", "validation"):
        app.client("s3").upload_file(str(app.dir / "data" / split / "houses.csv"), bucket, f"raw/{split}/houses.csv")
    sm = app.client("sagemaker")
    houses = "120,3,20\n60,2,50\n"

    def run(phase: str) -> tuple[dict[str, Any], list[float]]:
        result = app.run(phase, "houses-prices")
        tuning = sm.describe_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=result["steps"]["Tune"]["HyperParameterTuningJobName"]
        )
        trials = sm.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=tuning["HyperParameterTuningJobName"]
        )["TrainingJobSummaries"]
        assert len(trials) == 4 and all(t["TrainingJobStatus"] == "Completed" for t in trials)
        best = min(trials, key=lambda t: t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
        assert tuning["BestTrainingJob"]["TrainingJobName"] == best["TrainingJobName"]
        described = sm.describe_endpoint(EndpointName=endpoint)
        assert described["EndpointStatus"] == "InService"
        config = sm.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
        assert config["ProductionVariants"][0]["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 2}
        return tuning, _invoke(app, endpoint, houses)

    tuning, prices = run("run")
    assert len(prices) == 2 and 250 < prices[0] < 400 and prices[1] < prices[0]  # price in thousands
    app.edit(
        "container/inference.py",
        "    return model.predict(data).round(1)\n",
        "    return (model.predict(data) * 1000).round(0)\n",
    )
    app.deploy("redeploy")  # a new image asset: the trials of the next run use it
    tuning2, prices2 = run("rerun")
    image = tuning["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"]
    assert tuning2["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"] != image
    assert all(p == round(p) for p in prices2) and 250_000 < prices2[0] < 400_000
    assert sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=tuning["HyperParameterTuningJobName"])

    app.destroy_and_check(["ByoServerless"])
    app.settle()


@pytest.mark.xdist_group("example-lambda-check")
def test_lambda_check(user_app):
    app = user_app("lambda-check")
    printed = app.deploy("deploy")
    bucket = app.physical_id("LambdaCheck", "AWS::S3::Bucket", "DataBucket")
    machine = app.physical_id("LambdaCheck", "AWS::StepFunctions::StateMachine", "Pipeline")
    app.expect_outputs("LambdaCheck", printed, {"PipelineArn": machine, "DataBucketName": bucket})
    app.client("s3").upload_file(str(app.dir / "data" / "orders.csv"), bucket, "raw/orders.csv")

    first = app.run("run", "orders-clean")
    assert first["check"]["verdict"] == {"ok": True, "rows": 134, "minimum": 100}
    first_run = app.execution_name
    cleaned = app.read(bucket, f"processed/{first_run}/orders.csv").decode()
    assert len(cleaned.splitlines()) == 1 + 134 and ",0," not in cleaned

    app.edit(
        "check/check.py",
        '    return {"ok": report["rows_out"] >= minimum, "rows": report["rows_out"], "minimum": minimum}\n',
        '    dropped = report["rows_in"] - report["rows_out"]\n'
        '    return {"ok": report["rows_out"] >= minimum, "rows": report["rows_out"], "minimum": minimum, "dropped": dropped}\n',
    )
    app.deploy("redeploy")
    second = app.run("rerun", "orders-clean")
    assert second["check"]["verdict"] == {"ok": True, "rows": 134, "minimum": 100, "dropped": 66}
    assert app.read(bucket, f"processed/{first_run}/report.json")  # the first run's output is still there

    app.destroy_and_check(["LambdaCheck"])
    app.settle()


def _objects(app: UserApp, uri: str) -> dict[str, bytes]:
    """The objects under an ``s3://`` prefix (key after the prefix → body), without dot files (Spark's ``.crc``)."""
    bucket, prefix = uri.removeprefix("s3://").split("/", 1)
    listed = app.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    rest = [o["Key"][len(prefix) :] for o in listed]
    return {k: app.read(bucket, prefix + k) for k in rest if not k.rsplit("/", 1)[-1].startswith(".")}


def _watched_together(history: list[dict[str, Any]], *branches: str | tuple[str, ...]) -> bool:
    """At some point of the run ``sm-pipeline watch`` showed each branch running: a state of each of
    ``branches`` (a state's name, or the names its states start with) at once."""
    wanted = [(b,) if isinstance(b, str) else b for b in branches]
    for i in range(len(history)):
        running = cli._running(history[:i]).split(", ")
        if all(any(state.startswith(names) for state in running) for names in wanted):
            return True
    return False


@pytest.mark.xdist_group("example-any-shape")
def test_any_shape(user_app):
    app = user_app("any-shape")
    printed = app.deploy("deploy")
    bucket, endpoint = app.physical_id("AnyShape", "AWS::S3::Bucket", "DataBucket"), "shape-buyers"
    machine = app.physical_id("AnyShape", "AWS::StepFunctions::StateMachine", "Pipeline")
    app.expect_outputs(
        "AnyShape", printed, {"PipelineArn": machine, "EndpointName": endpoint, "DataBucketName": bucket}
    )
    # every step, whatever its kind or place in the graph, has the pipeline's guarantees
    template = json.loads((app.dir / "cdk.out" / "AnyShape.template.json").read_text())
    jobs = ("Sessionize", "Featurize", "Train", "Tune", "Model", "ServerlessConfig", "Score")
    prefixes = ("sessionize", "featurize", "train", "tune", "model", "serverless", "score")
    named = {job: f"shape-{p}" for job, p in zip(jobs, prefixes, strict=True)}
    assert_every_step_guaranteed(template, named, inputs=["eventsUri"])
    # a run-time input that is not an S3 URI stops the run before any step, naming the field
    refused = app.sh("run", "any-shape", "--input", '{"eventsUri": "raw/events/"}', fails=True)
    assert "InvalidInput" in refused and "eventsUri" in refused
    assert not app.client("sagemaker").list_processing_jobs()["ProcessingJobSummaries"]
    app.client("s3").upload_file(str(app.dir / "data" / "events.csv"), bucket, "raw/events/events.csv")
    sm = app.client("sagemaker")

    def run(phase: str) -> int:
        """One run, every step checked; the number of sessions Spark found."""
        steps = app.run(phase, "any-shape")["steps"]
        run_prefix = f"s3://{bucket}/processed/{app.execution_name}/"
        (sessions,) = [body for key, body in _objects(app, f"{run_prefix}sessions/").items() if key.endswith(".csv")]
        header, *rows = sessions.decode().splitlines()
        assert header == "session_id,started,views,products,carts,seconds,bought"
        # the featurizer (our own container) splits every session, in the XGBoost container's layout
        splits = {
            s: _objects(app, f"{run_prefix}{s}/")[f"{s}.csv"].decode().splitlines()
            for s in ("train", "validation", "batch")
        }
        assert sum(map(len, splits.values())) == len(rows)
        assert {len(r.split(",")) for r in splits["train"] + splits["validation"]} == {7}
        assert {len(r.split(",")) for r in splits["batch"]} == {6}
        # spot training beside the tuning job: neither reads the other
        train = sm.describe_training_job(TrainingJobName=steps["Train"]["TrainingJobName"])
        assert train["EnableManagedSpotTraining"] and train["StoppingCondition"]["MaxWaitTimeInSeconds"] == 7200
        assert train["CheckpointConfig"]["S3Uri"] == f"s3://{bucket}/checkpoints/{app.execution_name}/"
        execution = machine.replace(":stateMachine:", ":execution:") + f":{app.execution_name}"
        history = app.client("stepfunctions").get_execution_history(executionArn=execution, maxResults=1000)["events"]
        app.expect(_watched_together(history, "Train", "Tune"), f"{phase}: Train and Tune did not run side by side")
        tuning = steps["Tune"]["HyperParameterTuningJobName"]
        trials = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=tuning)
        trials = trials["TrainingJobSummaries"]
        assert len(trials) == 2 and all(t["TrainingJobStatus"] == "Completed" for t in trials)
        assert all(
            sm.describe_training_job(TrainingJobName=t["TrainingJobName"])["EnableManagedSpotTraining"] for t in trials
        )
        best = max(trials, key=lambda t: t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
        assert steps["Tune"]["BestTrainingJobName"] == best["TrainingJobName"]
        model = sm.describe_model(ModelName=steps["Model"]["ModelName"])
        assert best["TrainingJobName"] in model["PrimaryContainer"]["ModelDataUrl"]
        # the serverless endpoint beside the batch transform, both on the best trial's model
        app.expect(
            # the endpoint's branch: its config (one quick request), then the deployment's states (Endpoint...),
            # which wait for the endpoint while the transform runs
            _watched_together(history, ("ServerlessConfig", "Endpoint"), "Score"),
            f"{phase}: the endpoint and the transform did not run side by side",
        )
        config = sm.describe_endpoint_config(EndpointConfigName=steps["ServerlessConfig"]["EndpointConfigName"])
        assert config["ProductionVariants"][0]["ModelName"] == model["ModelName"]
        assert config["ProductionVariants"][0]["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 2}
        described = sm.describe_endpoint(EndpointName=endpoint)
        assert (described["EndpointStatus"], described["EndpointConfigName"]) == (
            "InService",
            config["EndpointConfigName"],
        )
        answer = app.client("sagemaker-runtime").invoke_endpoint(
            EndpointName=endpoint, Body="\n".join(splits["batch"][:3]), ContentType="text/csv"
        )
        predictions = [float(p) for p in answer["Body"].read().decode().split()]
        assert len(predictions) == 3 and all(0 <= p <= 1 for p in predictions)
        scores = _objects(app, steps["Score"]["OutputPath"])["batch.csv.out"].decode().split()
        assert len(scores) == len(splits["batch"]) and all(0 <= float(p) <= 1 for p in scores)
        return len(rows)

    first = run("run")
    # sessions end after 10 minutes without a page view instead of 30: a slow reader's visit is now two
    app.edit("scripts/sessionize.py", "GAP_MINUTES = 30\n", "GAP_MINUTES = 10\n")
    app.deploy("redeploy")
    second = run("rerun")
    assert first == 202 and second > first

    app.destroy_and_check(["AnyShape"])
    app.settle()
