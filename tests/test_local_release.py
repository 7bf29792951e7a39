"""End to end, offline: approval-gated releases in the local emulator.

One emulator and one deployment (``tests/apps/release``, real CDK CLI) for the module: a build
pipeline with ``approval="auto"`` and a :class:`ModelDeployment` started by the registry's approval
events, as EventBridge delivers them. Waits and retry intervals run 20x faster (time scale 0.05).
"""

import contextlib
import importlib.util
import io
import json
import time
from pathlib import Path

import pytest

from sm_constructs import cli
from sm_constructs.local.cli.demo import ACCOUNT_ID, REGION, LocalSession, cdk, emulator_env, start_server, stop_server
from sm_constructs.local.server import _free_port

pytestmark = pytest.mark.xdist_group("emulator-release")
APP = Path(__file__).parent / "apps" / "release"
STACK = "SmConstructsRelease"
AUTO_BUILD = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:release-auto-build"
MANUAL_DEPLOY = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:release-manual-deployment"
MANUAL_GROUP = "release-manual-models"
needs_update_endpoint = pytest.mark.skipif(
    importlib.util.find_spec("sm_constructs.local.aws.sagemaker_runtime") is None,
    reason="this emulator has no UpdateEndpoint (moto does not implement it)",
)
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


@pytest.fixture(scope="session")
def local(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("sm-release")
    proc, url = start_server(_free_port(), workdir, time_scale=0.05)
    try:
        env = emulator_env(url)
        log = workdir / "cdk.log"
        cdk(env, "bootstrap", f"aws://{ACCOUNT_ID}/{REGION}", log=log, cwd=workdir)
        out = workdir / "cdk.out"
        cdk(env, "deploy", STACK, "--output", str(out), "--require-approval", "never", log=log, cwd=APP)
        session = LocalSession(url)
        resources = session.client("cloudformation").list_stack_resources(StackName=STACK)["StackResourceSummaries"]
        (bucket,) = [
            r["PhysicalResourceId"]
            for r in resources
            if r["ResourceType"] == "AWS::S3::Bucket" and r["LogicalResourceId"].startswith("DataBucket")
        ]
        s3 = session.client("s3")
        for version in (1, 2, 3):  # stand-ins for model artifacts (the endpoint does not load them here)
            s3.put_object(Bucket=bucket, Key=f"models/v{version}/model.tar.gz", Body=f"model {version}".encode())
        yield {"session": session, "url": url, "bucket": bucket, "workdir": workdir}
    finally:
        stop_server(proc)


def _wait(sfn, arn, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.3)
    raise AssertionError(f"{arn} still running after {timeout}s")


def _executions(local, machine):
    return local["session"].client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]


def _new_executions(local, machine, before, count=1, timeout=20):
    """Executions started after ``before`` (EventBridge starts them asynchronously)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = [e for e in _executions(local, machine) if e["executionArn"] not in before]
        if len(new) >= count:
            return sorted(new, key=lambda e: e["startDate"])
        time.sleep(0.2)
    return [e for e in _executions(local, machine) if e["executionArn"] not in before]


def _entered(sfn, arn):
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def _outputs(sfn, arn):
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return [
        (e["stateExitedEventDetails"]["name"], e["stateExitedEventDetails"]["output"][:400])
        for e in events
        if "stateExitedEventDetails" in e
    ]


def _served_artifact(local, endpoint):
    """The model artifact the endpoint serves: endpoint → config → model → registered version."""
    sm = local["session"].client("sagemaker")
    described = sm.describe_endpoint(EndpointName=endpoint)
    assert described["EndpointStatus"] == "InService"
    config = sm.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    model = sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    (container,) = model["Containers"]
    package = sm.describe_model_package(ModelPackageName=container["ModelPackageName"])
    (served,) = package["InferenceSpecification"]["Containers"]
    return package, served["ModelDataUrl"]


def _register(local, version):
    sm = local["session"].client("sagemaker")
    return sm.create_model_package(
        ModelPackageGroupName=MANUAL_GROUP,
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://{local['bucket']}/models/v{version}/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        # the Model Monitor baseline the deployment's monitoring schedule uses for this version
        DriftCheckBaselines={
            "ModelDataQuality": {
                kind: {"ContentType": "application/json", "S3Uri": f"{_baseline(local, version)}{kind.lower()}.json"}
                for kind in ("Statistics", "Constraints")
            }
        },
    )["ModelPackageArn"]


def _baseline(local, version):
    return f"s3://{local['bucket']}/monitoring/baseline/v{version}/"


def _schedule(local):
    """The manual deployment's schedule and the job definition it runs."""
    sm = local["session"].client("sagemaker")
    schedule = sm.describe_monitoring_schedule(MonitoringScheduleName="release-manual-data-quality")
    name = schedule["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"]
    return name, sm.describe_data_quality_job_definition(JobDefinitionName=name)


def _cli(local, *argv):
    """``sm-pipeline <argv>`` against the emulator: its standard output (the command must succeed)."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as env, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        for key, value in emulator_env(local["url"]).items():
            if key.startswith("AWS_"):
                env.setenv(key, value)
        code = cli.main(list(argv))
    assert code == 0, err.getvalue()
    return out.getvalue()


def _scaling(local, endpoint):
    client = local["session"].client("application-autoscaling")
    resource = f"endpoint/{endpoint}/variant/AllTraffic"
    targets = client.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource])
    policies = client.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource)
    return targets["ScalableTargets"], policies["ScalingPolicies"]


def test_auto_approval_deploys_from_the_approved_version(local):
    sfn = local["session"].client("stepfunctions")
    before = {e["executionArn"] for e in _executions(local, MANUAL_DEPLOY)}
    artifact = f"s3://{local['bucket']}/models/v1/model.tar.gz"
    arn = sfn.start_execution(stateMachineArn=AUTO_BUILD, name="auto-1", input=json.dumps({"modelDataUri": artifact}))[
        "executionArn"
    ]
    described = _wait(sfn, arn)
    assert described["status"] == "SUCCEEDED", described.get("cause")
    entered = _entered(sfn, arn)
    assert entered.index("QualityGatePassed") < entered.index("Register") < entered.index("Approve")
    assert entered.index("Approve") < entered.index("Model")

    sm = local["session"].client("sagemaker")
    (version,) = sm.list_model_packages(ModelPackageGroupName="release-auto-models")["ModelPackageSummaryList"]
    assert version["ModelApprovalStatus"] == "Approved"
    package, served = _served_artifact(local, "release-auto")
    assert package["ModelPackageArn"] == version["ModelPackageArn"]
    assert served == artifact

    # scaling registered once InService, with the construct's capacities and target tracking
    (target,), (policy,) = _scaling(local, "release-auto")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 3)
    assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    config = policy["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 50
    assert config["PredefinedMetricSpecification"]["PredefinedMetricType"] == "SageMakerVariantInvocationsPerInstance"
    assert (
        entered.index("DeployInService") < entered.index("DeployRegisterScaling") < entered.index("DeployScalingPolicy")
    )

    # an approval in another group starts no deployment of the manual group
    assert _new_executions(local, MANUAL_DEPLOY, before, timeout=2) == []


def test_gate_not_met_registers_and_approves_nothing(local):
    sfn = local["session"].client("stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=AUTO_BUILD,
        name="auto-low",
        input=json.dumps({"auc": "0.5", "modelDataUri": f"s3://{local['bucket']}/models/v2/model.tar.gz"}),
    )["executionArn"]
    described = _wait(sfn, arn)
    assert described["status"] == "FAILED"
    assert described["error"] == "QualityGateNotMet"
    entered = _entered(sfn, arn)
    assert "Register" not in entered and "Approve" not in entered


# ---- the manual group's release history ---------------------------------------------------------
# Each release moves the one endpoint on, so the history is played by fixtures in order (each stage
# needs the one before), whichever test asks first; each records what its tests assert on.
@pytest.fixture(scope="module")
def first_release(local):
    """Versions 1 and 2 registered, version 1 approved and deployed, then version 2 rejected."""
    sfn = local["session"].client("stepfunctions")
    seen = {"first": _register(local, 1), "second": _register(local, 2)}
    seen["listed"] = _cli(local, "models", MANUAL_GROUP)
    seen["executions_after_registering"] = _executions(local, MANUAL_DEPLOY)
    seen["approved"] = _cli(local, "approve", MANUAL_GROUP, "--version", "1")
    (execution,) = _new_executions(local, MANUAL_DEPLOY, set())
    seen["execution"] = execution["executionArn"]
    seen["described"] = _wait(sfn, execution["executionArn"])
    seen["entered"] = _entered(sfn, execution["executionArn"])
    seen["outputs"] = _outputs(sfn, execution["executionArn"])
    seen["served"] = _served_artifact(local, "release-manual")
    seen["scaling"] = _scaling(local, "release-manual")
    seen["schedule"] = _schedule(local)
    before = {e["executionArn"] for e in _executions(local, MANUAL_DEPLOY)}
    _cli(local, "approve", MANUAL_GROUP, "--version", "2", "--reject")
    seen["after_rejection"] = _new_executions(local, MANUAL_DEPLOY, before, timeout=2)
    seen["served_after_rejection"] = _served_artifact(local, "release-manual")
    return seen


@pytest.fixture(scope="module")
def later_approval(local, first_release):
    """The rejected version 2 approved after all: the endpoint is updated to it."""
    sfn = local["session"].client("stepfunctions")
    before = {e["executionArn"] for e in _executions(local, MANUAL_DEPLOY)}
    replaced, _ = _schedule(local)
    _cli(local, "approve", MANUAL_GROUP, "--version", "2")
    (update,) = _new_executions(local, MANUAL_DEPLOY, before)
    seen = {"replaced": replaced, "described": _wait(sfn, update["executionArn"])}
    seen["entered"] = _entered(sfn, update["executionArn"])
    seen["served"] = _served_artifact(local, "release-manual")
    seen["scaling"] = _scaling(local, "release-manual")
    seen["schedule"] = _schedule(local)
    sm = local["session"].client("sagemaker")
    try:
        sm.describe_data_quality_job_definition(JobDefinitionName=replaced)
        seen["replaced_left"] = True
    except sm.exceptions.ClientError:
        seen["replaced_left"] = False
    return seen


@pytest.fixture(scope="module")
def two_in_a_row(local, later_approval):
    """Versions 3 and 4 (a re-registration of version 1's artifact) approved one right after the other."""
    sfn = local["session"].client("stepfunctions")
    before = {e["executionArn"] for e in _executions(local, MANUAL_DEPLOY)}
    third = _register(local, 3)
    fourth = _register(local, 1)  # a re-registration of an older artifact, approved last
    sm = local["session"].client("sagemaker")
    deadline = time.monotonic() + 30  # both versions listed before a person approves them
    while {third, fourth} - {
        v["ModelPackageArn"]
        for v in sm.list_model_packages(ModelPackageGroupName=MANUAL_GROUP)["ModelPackageSummaryList"]
    }:
        assert time.monotonic() < deadline, "the registered versions never appeared in ListModelPackages"
        time.sleep(0.5)
    _cli(local, "approve", MANUAL_GROUP, "--version", "3")
    _cli(local, "approve", MANUAL_GROUP, "--version", "4")
    earlier, later = _new_executions(local, MANUAL_DEPLOY, before, count=2)
    seen = {"third": third, "fourth": fourth}
    seen["described"] = [_wait(sfn, e["executionArn"]) for e in (earlier, later)]
    seen["entered"] = [_entered(sfn, e["executionArn"]) for e in (earlier, later)]
    seen["served"] = _served_artifact(local, "release-manual")
    return seen


def test_manual_approval_deploys_the_approved_older_version_then_rejection_starts_nothing(local, first_release):
    seen = first_release
    assert "1\tPendingManualApproval" in seen["listed"] and "2\tPendingManualApproval" in seen["listed"]
    assert seen["executions_after_registering"] == []  # registering deploys nothing

    # approving the older version deploys that version's artifact, not the newest registered
    assert "version 1: Approved" in seen["approved"]
    assert f"release started: {seen['execution']}" in seen["approved"]  # the CLI names the release it started
    assert seen["described"]["status"] == "SUCCEEDED", seen["described"].get("cause")
    assert "Deployed" in seen["entered"], seen["outputs"]
    package, served = seen["served"]
    assert package["ModelPackageArn"] == seen["first"]
    assert served == f"s3://{local['bucket']}/models/v1/model.tar.gz"
    (target,), (_policy,) = seen["scaling"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 2)
    # monitored against version 1's baseline (the first release creates the schedule)
    _, definition = seen["schedule"]
    assert definition["DataQualityBaselineConfig"]["StatisticsResource"]["S3Uri"] == (
        f"{_baseline(local, 1)}statistics.json"
    )
    assert "MonitorScheduleCreate" in seen["entered"]

    # rejecting a version starts nothing
    assert seen["after_rejection"] == []
    assert seen["served_after_rejection"][0]["ModelPackageArn"] == seen["first"]


@needs_update_endpoint
def test_a_later_approval_updates_the_endpoint_and_scaling_follows(local, first_release, later_approval):
    seen = later_approval
    assert seen["described"]["status"] == "SUCCEEDED", seen["described"].get("cause")
    # approving the rejected version after all updates the endpoint; scaling is deregistered for the
    # update and registered again on the new fleet
    entered = seen["entered"]
    assert (
        entered.index("DeployDeregisterScaling")
        < entered.index("DeployUpdate")
        < entered.index("DeployRegisterScaling")
    )
    assert seen["served"][0]["ModelPackageArn"] == first_release["second"]
    (target,), (_policy,) = seen["scaling"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 2)
    # the schedule now runs version 2's baseline; the job definition it replaced is deleted
    current, definition = seen["schedule"]
    assert current != seen["replaced"]
    assert definition["DataQualityBaselineConfig"]["ConstraintsResource"]["S3Uri"] == (
        f"{_baseline(local, 2)}constraints.json"
    )
    assert entered.index("MonitorScheduleUpdate") < entered.index("MonitorScheduleDeleteReplaced")
    assert seen["replaced_left"] is False


@needs_update_endpoint
def test_two_approvals_in_a_row_the_later_one_wins(local, two_in_a_row):
    seen = two_in_a_row
    for described in seen["described"]:
        assert described["status"] == "SUCCEEDED", described.get("cause")
    earlier_states, later_states = seen["entered"]
    assert "Deployed" in later_states
    # the earlier one either saw the later one start and stood down, or finished before it updated
    assert "Superseded" in earlier_states or "Deployed" in earlier_states
    package, served = seen["served"]
    assert package["ModelPackageArn"] == seen["fourth"] != seen["third"]
    assert served == f"s3://{local['bucket']}/models/v1/model.tar.gz"
