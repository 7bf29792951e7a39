"""End to end, offline: the reference app deployed into the local emulator with the real CDK CLI, then run:
build → version pending approval → ``sm-pipeline approve`` → deployment run → endpoint InService, scaled.

One emulator and one deployment for the module (all its tests run on one xdist worker). Waits and
retry intervals run 20x faster (time scale 0.05); everything else is as the state machine says.
"""

import json
import time
from pathlib import Path

import numpy as np
import pytest
from sfn_requests import iter_states, state_machines
from sklearn.metrics import roc_auc_score

from sm_constructs import cli
from sm_constructs._lineage_read import start_actions
from sm_constructs.cost import actual_cost
from sm_constructs.local.cli.demo import (
    ACCOUNT_ID,
    REGION,
    LocalSession,
    deploy,
    emulator_env,
    stack_outputs,
    start_server,
    stop_server,
)
from sm_constructs.local.server import _free_port

pytestmark = pytest.mark.xdist_group("emulator")
STATE_MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:sm-constructs-churn"
DEPLOYMENT = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:sm-constructs-churn-deployment"
ROOT_DATA = "reference/data/churn.csv"


@pytest.fixture(scope="session")
def local(tmp_path_factory, reference_assembly):
    workdir = tmp_path_factory.mktemp("sm-local")
    proc, url = start_server(_free_port(), workdir, time_scale=0.05)
    try:
        deploy(emulator_env(url), workdir, assembly=reference_assembly)
        session = LocalSession(url)
        found = stack_outputs(session)
        session.client("s3").upload_file(ROOT_DATA, found["bucket"], "raw/churn/churn.csv")
        yield {"session": session, "workdir": workdir, **found}
    finally:
        stop_server(proc)


def _run(local, name, **input_fields):
    sfn = local["session"].client("stepfunctions")
    payload = {"inputDataUri": f"s3://{local['bucket']}/raw/churn/", **input_fields}
    arn = sfn.start_execution(stateMachineArn=STATE_MACHINE, name=name, input=json.dumps(payload))["executionArn"]
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            break
        time.sleep(0.5)
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return described, events


def _definition(reference_assembly, logical_prefix):
    """The synthesized definition of a state machine of the reference app."""
    template = json.loads((reference_assembly / "SmConstructsReference.template.json").read_text())
    (machine,) = [asl for k, asl in state_machines(template).items() if k.startswith(logical_prefix)]
    return machine


def _assert_cost_figures(reference_assembly, build_events, release_events):
    """docs/reference-app.md ("What a run costs") states these figures of the reference app and this run."""
    guide = " ".join((Path(__file__).resolve().parent.parent / "docs" / "reference-app.md").read_text().split())
    build = _definition(reference_assembly, "ChurnPipelineStateMachine")
    release = _definition(reference_assembly, "ChurnDeploymentStateMachine")

    def entered(events):
        return sum(e["type"].endswith("StateEntered") for e in events)

    figures = [
        f"has **{len(list(iter_states(build)))} states** ({len(build['States'])} at its top level",
        f"its release (`ModelDeployment`) **{len(list(iter_states(release)))}**",
        f"enters **{entered(build_events)} states**",
        f"the release it starts enters **{entered(release_events)}**",
    ]
    stale = [figure for figure in figures if figure not in guide]
    assert not stale, f"docs/reference-app.md does not say: {stale}"


def _keys(local, prefix):
    s3 = local["session"].client("s3")
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=local["bucket"], Prefix=prefix).get("Contents", []))


def _versions(local):
    listed = local["session"].client("s3").list_object_versions(Bucket=local["bucket"])
    return {(v["Key"], v["VersionId"], v["ETag"]) for v in listed.get("Versions", [])}


def _load_csv(local, key):
    body = local["session"].client("s3").get_object(Bucket=local["bucket"], Key=key)["Body"].read().decode()
    return np.loadtxt(body.splitlines(), delimiter=",", ndmin=2)


def test_build_then_approval_deploys_and_a_throttled_create_is_retried(local, monkeypatch, capsys, reference_assembly):
    (local["workdir"] / "faults.json").write_text(
        json.dumps({"CreateTrainingJob": {"error": "ThrottlingException", "times": 1}})
    )
    described, events = _run(local, "happy")
    assert described["status"] == "SUCCEEDED", described.get("cause")

    # the injected throttling failed the first CreateTrainingJob; the Retry policy made the second
    failed = {
        (e["taskFailedEventDetails"]["resource"], e["taskFailedEventDetails"]["error"])
        for e in events
        if e["type"] == "TaskFailed"
    }
    assert failed == {("createTrainingJob.sync", "SageMaker.AmazonSageMakerException")}
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
    assert entered.count("Train") == 1  # retried inside the state, not re-entered
    # the raw data was fingerprinted for the cache key: the listing is allowed by the derived, prefix-scoped IAM
    assert "PreprocessDataList" in entered and "PreprocessNotCached" not in entered

    # every stage wrote its outputs under the run's own prefix
    assert set(_keys(local, "processed/happy/")) == {
        "processed/happy/batch/batch.csv",
        "processed/happy/test/features.json",
        "processed/happy/test/test.csv",
        "processed/happy/train/train.csv",
        "processed/happy/validation/validation.csv",
    }
    (model,) = _keys(local, "models/happy/")
    assert model.endswith("/output/model.tar.gz")

    # approval="manual": the build ends with the version pending approval and nothing deployed
    # then records the run's lineage (sm_constructs.lineage) and succeeds
    assert entered[entered.index("Register") + 1] == "LineageNames" and entered[-1] == "PipelineSucceeded"
    sm = local["session"].client("sagemaker")
    (version,) = sm.list_model_packages(ModelPackageGroupName="churn-models")["ModelPackageSummaryList"]
    assert version["ModelApprovalStatus"] == "PendingManualApproval"
    with pytest.raises(sm.exceptions.ClientError):
        sm.describe_endpoint(EndpointName="sm-constructs-churn")

    # the deployment scores processed/latest/batch/: this run's batch split
    s3 = local["session"].client("s3")
    s3.copy_object(
        Bucket=local["bucket"],
        Key="processed/latest/batch/batch.csv",
        CopySource={"Bucket": local["bucket"], "Key": "processed/happy/batch/batch.csv"},
    )
    # a person approves it (the CLI, as on AWS); the registry's event starts the deployment
    for key, value in emulator_env(local["session"].endpoint_url).items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    assert cli.main(["approve", "churn-models"]) == 0
    out = capsys.readouterr().out
    assert "version 1: Approved" in out
    sfn = local["session"].client("stepfunctions")
    (deployment,) = sfn.list_executions(stateMachineArn=DEPLOYMENT)["executions"]
    assert f"release started: {deployment['executionArn']}" in out
    deadline = time.monotonic() + 120
    while sfn.describe_execution(executionArn=deployment["executionArn"])["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    deployed = sfn.describe_execution(executionArn=deployment["executionArn"])
    assert deployed["status"] == "SUCCEEDED", deployed.get("cause")
    run = deployment["name"]
    assert _keys(local, f"batch/{run}/") == [f"batch/{run}/batch.csv.out"]
    released = sfn.get_execution_history(executionArn=deployment["executionArn"], maxResults=1000)["events"]
    _assert_cost_figures(reference_assembly, events, released)

    # the metric is real: the batch predictions of the approved version, scored against the held-out
    # labels here, give the AUC the evaluation job reported (two jobs, one model, same test rows)
    # the report is under the model's training job (where a reused evaluation's report stays)
    trained = json.loads(described["output"])["steps"]["Train"]["TrainingJobName"]
    report = json.loads(
        local["session"]
        .client("s3")
        .get_object(Bucket=local["bucket"], Key=f"evaluation/{trained}/evaluation.json")["Body"]
        .read()
    )
    labels = _load_csv(local, "processed/happy/test/test.csv")[:, 0]
    scores = _load_csv(local, f"batch/{run}/batch.csv.out")[:, 0]
    assert report["metrics"]["auc"] == pytest.approx(roc_auc_score(labels, scores), abs=1e-4)
    assert 0.75 <= report["metrics"]["auc"] < 1.0

    # released: endpoint in service on a model made from the approved version, scaled
    endpoint = sm.describe_endpoint(EndpointName="sm-constructs-churn")
    assert endpoint["EndpointStatus"] == "InService"
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    served = sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert served["Containers"][0]["ModelPackageName"] == version["ModelPackageArn"]
    package = sm.describe_model_package(ModelPackageName=version["ModelPackageArn"])
    assert package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == f"s3://{local['bucket']}/{model}"
    scaling = local["session"].client("application-autoscaling")
    resource = "endpoint/sm-constructs-churn/variant/AllTraffic"
    (target,) = scaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource])[
        "ScalableTargets"
    ]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 4)
    (policy,) = scaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource)["ScalingPolicies"]
    assert policy["PolicyType"] == "TargetTrackingScaling"

    # monitored: the version carries its training data's baseline (the analyzer's substitute wrote it),
    # and the endpoint's schedule runs that version's job definition (recorded; never executed here)
    drift = package["DriftCheckBaselines"]["ModelDataQuality"]
    stats_bucket, stats_key = drift["Statistics"]["S3Uri"][len("s3://") :].split("/", 1)
    statistics = json.loads(s3.get_object(Bucket=stats_bucket, Key=stats_key)["Body"].read())
    assert statistics["dataset"]["item_count"] > 0 and statistics["features"][0]["name"] == "_c0"
    schedule = sm.describe_monitoring_schedule(MonitoringScheduleName="sm-constructs-churn-data-quality")
    job_definition = sm.describe_data_quality_job_definition(
        JobDefinitionName=schedule["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"]
    )
    assert job_definition["DataQualityBaselineConfig"]["StatisticsResource"]["S3Uri"] == drift["Statistics"]["S3Uri"]
    assert job_definition["DataQualityJobInput"]["EndpointInput"]["EndpointName"] == "sm-constructs-churn"

    _assert_lineage(local, capsys, described["executionArn"], version["ModelPackageArn"])

    # a release whose endpoint update fails is rolled back: the endpoint step's own Fail state fails its
    # Parallel state, whose catch names the step, records the endpoint Failed, and notifies
    (local["workdir"] / "faults.json").write_text(json.dumps({"EndpointFailure": {"error": "ping failed", "times": 1}}))
    detail = {
        "ModelPackageArn": version["ModelPackageArn"],
        "ModelPackageVersion": 1,
        "ModelPackageGroupName": "churn-models",
    }
    again = sfn.start_execution(stateMachineArn=DEPLOYMENT, name="rolled-back", input=json.dumps({"detail": detail}))
    while (rolled := sfn.describe_execution(executionArn=again["executionArn"]))["status"] == "RUNNING":
        assert time.monotonic() < deadline + 60
        time.sleep(0.5)
    assert rolled["error"] == "EndpointDeploymentRolledBack", rolled.get("cause")
    history = sfn.get_execution_history(executionArn=again["executionArn"], maxResults=1000)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")]
    assert entered.index("DeployRolledBack") < entered.index("DeployError") < entered.index("LineagePlan")
    assert entered[-2:] == ["NotifyFailure", "DeploymentFailed"], entered
    (action,) = [sm.describe_action(ActionName=a) for a in start_actions(sm, again["executionArn"])]
    assert (action["ActionType"], action["Status"]) == ("ModelDeployment", "Failed")
    assert action["Source"]["SourceUri"] == endpoint["EndpointArn"]
    assert (
        sm.describe_endpoint(EndpointName="sm-constructs-churn")["EndpointConfigName"] == config["EndpointConfigName"]
    )

    output = json.loads(described["output"])
    training = sm.describe_training_job(TrainingJobName=output["steps"]["Train"]["TrainingJobName"])
    metrics = {m["MetricName"]: m["Value"] for m in training["FinalMetricDataList"]}
    assert 0.5 < metrics["validation:auc"] <= 1.0


def test_a_failing_script_takes_the_failure_path_and_keeps_the_data(local, monkeypatch, capsys):
    session = local["session"]
    sqs, sns = session.client("sqs"), session.client("sns")
    queue = sqs.create_queue(QueueName="failures")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=local["topic"], Protocol="sqs", Endpoint=queue_arn)
    # under raw/, the only input prefix the execution role may read (the emulator enforces IAM)
    session.client("s3").put_object(Bucket=local["bucket"], Key="raw/broken/churn.csv", Body=b"not,the,schema\n1,2,3\n")
    before = _versions(local)

    described, events = _run(local, "broken", inputDataUri=f"s3://{local['bucket']}/raw/broken/")

    assert described["status"] == "FAILED"
    assert described["error"] == "States.TaskFailed"
    assert "AlgorithmError" in described["cause"] and "churn-preprocess-" in described["cause"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
    assert entered[-2:] == ["NotifyFailure", "PipelineFailed"] and "Train" not in entered
    # the failed run's lineage, recorded before the notification (IAM enforced): the job it failed
    # at, Failed, with the data it read by the fingerprint its cache lookup listed
    assert entered.index("LineagePlan") < entered.index("NotifyFailure")
    for key, value in emulator_env(local["session"].endpoint_url).items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    assert cli.main(["lineage", described["executionArn"]]) == 0
    out = capsys.readouterr().out
    assert "ProcessingJob (Failed): arn:aws:sagemaker:" in out and ":processing-job/churn-preprocess-" in out, out
    assert f"read  DataSet s3://{local['bucket']}/raw/broken/#sha256=" in out, out
    assert "TrainingJob" not in out, out

    messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=2).get("Messages", [])
    assert len(messages) == 1
    assert "AlgorithmError" in json.loads(messages[0]["Body"])["Message"]

    after = _versions(local)
    assert before <= after  # nothing deleted or replaced
    assert not _keys(local, "processed/broken/") and not _keys(local, "models/broken/")


def test_a_gate_below_the_threshold_changes_no_endpoint(local, monkeypatch, capsys):
    sm = local["session"].client("sagemaker")

    def endpoint_state():
        try:
            return sm.describe_endpoint(EndpointName="sm-constructs-churn")["EndpointConfigName"]
        except sm.exceptions.ClientError:
            return None

    def packages():
        return len(sm.list_model_packages(ModelPackageGroupName="churn-models")["ModelPackageSummaryList"])

    before, registered = endpoint_state(), packages()
    described, events = _run(local, "strict", threshold=0.99)

    assert described["status"] == "FAILED"
    assert described["error"] == "QualityGateNotMet"
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
    assert "QualityGate" in entered and not {"Register", "Model", "EndpointConfig", "BatchTransform"} & set(entered)
    assert endpoint_state() == before
    assert packages() == registered
    # the rejected run records what made the model it rejected and writes its manifest, then fails with
    # its own error, unnotified (IAM enforced)
    assert entered[-4:] == ["Manifest", "WriteManifest", "RunEnded", "PipelineFailed"], entered
    assert "QualityGateNotMet" in entered and "NotifyFailure" not in entered
    for key, value in emulator_env(local["session"].endpoint_url).items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    assert cli.main(["lineage", described["executionArn"]]) == 0
    out = capsys.readouterr().out
    assert out.startswith("run: Rejected: QualityGateNotMet at QualityGate\n"), out
    # this run's steps (the walk goes on to other runs that share its jobs: cache hits)
    recorded = [sm.describe_action(ActionName=arn) for arn in start_actions(sm, described["executionArn"])]
    assert sorted(a["ActionType"] for a in recorded) == ["ProcessingJob"] * 3 + ["TrainingJob"], recorded
    assert {a["Status"] for a in recorded} == {"Completed"}  # Preprocess, Baseline, Train, Evaluate
    written = local["session"].client("s3").get_object(Bucket=local["bucket"], Key="runs/strict/manifest.json")
    manifest = json.loads(written["Body"].read())
    assert manifest["outcome"] == {
        "status": "Rejected",
        "error": "QualityGateNotMet",
        "step": "QualityGate",
        "cause": described["cause"],
    }
    assert len(manifest["lineage"]["actions"]) == 4 and "Register" not in manifest["steps"]


def test_a_failed_deployment_records_the_step_it_failed_at_then_notifies(local):
    """A release of a version the registry does not have: its first read fails, is caught under its step
    (StillCurrentStartError), and the run records its lineage (IAM enforced) before the notification."""
    sfn, sm = local["session"].client("stepfunctions"), local["session"].client("sagemaker")
    missing = f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:model-package/churn-models/999"
    detail = {"ModelPackageArn": missing, "ModelPackageVersion": 999, "ModelPackageGroupName": "churn-models"}
    arn = sfn.start_execution(stateMachineArn=DEPLOYMENT, name="missing", input=json.dumps({"detail": detail}))[
        "executionArn"
    ]
    deadline = time.monotonic() + 60
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, arn
        time.sleep(0.2)
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
    assert described["status"] == "FAILED" and entered[-2:] == ["NotifyFailure", "DeploymentFailed"], entered
    assert entered.index("StillCurrentStartError") < entered.index("LineagePlan") < entered.index("NotifyFailure")
    (context,) = sm.list_contexts(SourceUri=arn)["ContextSummaries"]
    properties = sm.describe_context(ContextName=context["ContextName"])["Properties"]
    assert (properties["Outcome"], properties["Step"], properties["Error"]) == (
        "Failed",
        "StillCurrentStart",
        described["error"],
    )


def _assert_lineage(local, capsys, execution_arn, version_arn):
    """``sm-pipeline lineage`` from the version, the endpoint and the build's execution: the chain from the
    raw data (with the fingerprint its cache lookup listed) through the jobs and the version to the endpoint."""
    bucket = local["bucket"]
    for target in (version_arn, "sm-constructs-churn", execution_arn):
        assert cli.main(["lineage", target]) == 0, target
        out = capsys.readouterr().out
        assert f"data: DataSet s3://{bucket}/raw/churn/#sha256=" in out, out
        kinds = out.strip().splitlines()[-1].removeprefix("chain: data → ").split(" → ")
        order = [kinds.index(k) for k in ("ProcessingJob", "TrainingJob", "ModelRegistration", "ModelDeployment")]
        assert order == sorted(order), kinds
        assert f"ModelRegistration: {version_arn}" in out
        assert "ModelDeployment: arn:aws:sagemaker:" in out and ":endpoint/sm-constructs-churn" in out
        assert f"wrote ModelPackage {version_arn}" in out
    # the run's manifest beside its outputs, encrypted with the bucket's key: the same facts
    s3 = local["session"].client("s3")
    run = execution_arn.rsplit(":", 1)[-1]
    written = s3.get_object(Bucket=bucket, Key=f"runs/{run}/manifest.json")
    assert written["ServerSideEncryption"] == "aws:kms"
    manifest = json.loads(written["Body"].read())
    assert manifest["execution"] == execution_arn and manifest["steps"]["Register"]["ModelPackageArn"] == version_arn
    assert manifest["cache"]["Preprocess"]["data"][0]["fingerprint"] in out
    assert manifest["lineage"]["context"].endswith(":context/" + manifest["lineage"]["context"].split("/")[-1])
    assert len(manifest["lineage"]["actions"]) == 5
    # what each job cost, computed in-state: the figure the run summary prints (cost.actual_cost)
    sm = local["session"].client("sagemaker")
    priced = {step: c for step, c in manifest["cost"]["steps"].items() if "seconds" in c}
    assert {"processing", "training"} <= {c["use"] for c in priced.values()}, manifest["cost"]
    for step, figure in priced.items():
        expected = actual_cost(sm, step, manifest["steps"][step], region=sm.meta.region_name)
        assert expected is not None and expected.problem is None, step
        assert (figure["instanceType"], figure["instanceCount"], figure["hourlyUsd"], figure["basis"]) == (
            expected.instance_type,
            expected.instance_count,
            expected.hourly,
            expected.basis,
        )
        assert figure["seconds"] == pytest.approx(expected.seconds, abs=0.001), step
        assert figure["usd"] == pytest.approx(expected.usd, abs=1e-6), step
    assert manifest["cost"]["usd"] == pytest.approx(sum(c["usd"] for c in manifest["cost"]["steps"].values()))
    # the version reused the artifact SageMaker knows by its URI: one artifact per source
    sm = local["session"].client("sagemaker")
    assert len(sm.list_artifacts(SourceUri=version_arn)["ArtifactSummaries"]) == 1
