"""The reference app (app.py) as `make synth` builds it: cdk-nag, cfn-lint, botocore, structure."""

import json
import re
from pathlib import Path

import pytest
from asl_eval import lineage_plan
from aws_cdk.assertions import Match, Template
from sfn_requests import assert_all_requests_valid, iter_states, state_machines
from support import cfn_lint

import app as reference
from sm_constructs._service_model import service_model
from sm_constructs.diagram import to_mermaid

pytestmark = pytest.mark.xdist_group("reference-app")  # conftest's reference_app, built once for the group


@pytest.fixture(scope="session")
def synthesized(reference_app):
    assembly = reference_app.node.root.synth()  # conftest's synthesis, with the four cdk-nag packs
    templates = {p.name: json.loads(p.read_text()) for p in Path(assembly.directory).glob("*.template.json")}
    return reference_app, templates


@pytest.fixture(scope="session")
def template(synthesized):
    return synthesized[1]["SmConstructsReference.template.json"]


@pytest.fixture(scope="session")
def pipeline(template):
    machines = state_machines(template)
    (asl,) = [a for a in machines.values() if "QualityGate" in a["States"]]
    return asl


def test_every_template_is_cfn_lint_clean(synthesized):
    _, templates = synthesized
    assert templates
    for name, body in templates.items():
        assert cfn_lint(body) == [], name


def test_every_sagemaker_request_is_valid(template):
    requests = assert_all_requests_valid(template, expect_at_least=10)
    operations = {r.operation.name for r in requests}
    # all five job kinds: processing, training, tuning, hosting, batch transform
    assert {
        "CreateProcessingJob",
        "CreateTrainingJob",
        "CreateHyperParameterTuningJob",
        "CreateModel",
        "CreateEndpointConfig",
        "CreateEndpoint",
        "UpdateEndpoint",
        "DescribeEndpoint",
        "CreateTransformJob",
        "CreateModelPackage",
    } <= operations


def test_env_agnostic(template):
    assert "SmConstructsImageRegistry" in template["Mappings"]
    assert '"us-east-1"' not in json.dumps(template["Resources"])


def test_no_lambda_functions(template):
    """The workflow and the infrastructure run without Lambda (the app also deploys into the local emulator)."""
    types = {r["Type"] for r in template["Resources"].values()}
    assert not {t for t in types if t.startswith(("AWS::Lambda::", "Custom::", "AWS::CloudFormation::CustomResource"))}


def test_no_role_gets_the_same_statement_twice(template):
    """Grants repeated by several jobs (PassRole, ECR pull, KMS, events rules) land once per role."""
    per_role: dict[str, list[str]] = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::IAM::ManagedPolicy":
            continue
        for role in resource["Properties"].get("Roles", []):
            statements = resource["Properties"]["PolicyDocument"]["Statement"]
            per_role.setdefault(json.dumps(role), []).extend(json.dumps(s, sort_keys=True) for s in statements)
    assert per_role
    for role, statements in per_role.items():
        assert len(statements) == len(set(statements)), role


def test_pipeline_has_the_gate_and_the_stages(pipeline):
    states = pipeline["States"]
    for name in (
        "ValidateInput",
        "Preprocess",
        "Baseline",
        "Train",
        "Evaluate",
        "ReadEvaluation",
        "QualityGate",
        "Register",
        "NotifyFailure",
        "PipelineFailed",
    ):
        assert name in states, name
    gate = states["QualityGate"]
    assert gate["Type"] == "Choice"
    # the AUC, read from the evaluation report, is compared with the run's threshold input
    auc = "$.steps.QualityGate.report.metrics.auc"
    passed = {"Variable": auc, "NumericGreaterThanEqualsPath": "$.input.threshold"}
    assert gate["Choices"][0]["And"] == [{"Variable": auc, "IsNumeric": True}, passed]
    assert gate["Choices"][0]["Next"] == "QualityGatePassed"
    assert gate["Default"] == "QualityGateNotMet"
    # approval="manual": the build ends with the version pending approval; nothing is deployed
    # (then records its lineage and writes its manifest)
    assert states["Register"]["Next"] == "LineageNames"
    assert states["Register"]["Parameters"]["ModelApprovalStatus"] == "PendingManualApproval"
    # registered with the Model Monitor baseline of its training data
    assert "ModelDataQuality" in states["Register"]["Parameters"]["DriftCheckBaselines"]
    assert not {"Model", "Release", "DeployDescribe", "BatchTransform"} & set(states)


def test_approved_versions_deploy_with_autoscaling_then_batch_transform(template):
    machines = state_machines(template)
    (deploy,) = [a for a in machines.values() if "ReadApproval" in a["States"]]
    states = dict(iter_states(deploy))  # the endpoint's states are in its Parallel state's branch
    assert states["Model"]["Parameters"]["Containers"] == [{"ModelPackageName.$": "$.package.ModelPackageArn"}]
    assert states["DeployInService"]["Next"] == "DeployRegisterScaling"
    assert states["DeployScalingPolicy"]["End"] is True and states["DeployEndpoint"]["Next"] == "BatchTransform"
    # then the endpoint is monitored against the approved version's baseline
    assert states["BatchTransform"]["Next"] == "LineageNames"  # the deployment's lineage, then monitoring
    assert states["LineageRecorded"]["Default"] == "ReadVersionBeforeMonitoring"
    assert states["CurrentBeforeMonitoring"]["Next"] == "MonitorBaseline"
    assert states["MonitorScheduleDone"]["Next"] == "Deployed"
    on_approval = {"EventPattern": {"detail": Match.object_like({"ModelPackageGroupName": Match.any_value()})}}
    (rule,) = [
        r["Properties"]
        for r in Template.from_json(template)
        .find_resources("AWS::Events::Rule", {"Properties": Match.object_like(on_approval)})
        .values()
    ]
    assert rule["EventPattern"]["detail"] == {
        "ModelPackageGroupName": ["churn-models"],
        "ModelApprovalStatus": ["Approved"],
    }


def test_every_task_retries_and_is_caught(pipeline):
    top = pipeline["States"]
    for name, state in top.items():
        if state["Type"] in ("Task", "Parallel", "Map") and name != "NotifyFailure":
            assert state.get("Catch"), name
            # the catch of any error names the step (<step>Failed adds it to the error), then records the
            # run's lineage (sm_constructs.lineage) and notifies; the lineage's own errors (on a run that
            # already failed, the run's error is kept) and the manifest's, written after it, notify at once
            assert any(c["ErrorEquals"] == ["States.ALL"] for c in state["Catch"]), name
            for catch in [c for c in state["Catch"] if c["ErrorEquals"] == ["States.ALL"]]:
                if name.startswith("Lineage"):
                    assert catch["Next"] == "LineageError", name
                    continue
                named = top[catch["Next"]]
                then = "NotifyFailure" if name == "WriteManifest" else "LineageNames"
                assert named["Type"] == "Pass" and named["Next"] == then, name
                assert named["Parameters"]["Step"] == catch["Next"].removesuffix("Failed"), name
    for name, state in iter_states(pipeline):
        if state.get("Type") == "Task" and ":sagemaker:create" in state["Resource"]:
            assert state.get("Retry"), name
            if state["Resource"].endswith(".sync"):
                assert state["TimeoutSeconds"] >= 3600, name


def test_state_machine_timeout_covers_the_jobs(template, pipeline):
    sm = next(
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::StepFunctions::StateMachine"
        and r["Properties"].get("StateMachineName") == "sm-constructs-churn"
    )
    total = json.loads(json.dumps(pipeline)).get("TimeoutSeconds")
    jobs = sum(s.get("TimeoutSeconds", 0) for _, s in iter_states(pipeline))
    assert total and total >= jobs
    assert sm["Properties"]["TracingConfiguration"] == {"Enabled": True}


def test_diagram_shows_every_state(pipeline):
    mermaid = to_mermaid(pipeline)
    for name, _ in iter_states(pipeline):
        assert re.sub(r"[^A-Za-z0-9_]", "_", name) in mermaid
    assert "-->|otherwise| QualityGateNotMet" in mermaid


def test_guides_draw_the_synthesized_state_machines(template):
    import scripts.update_diagrams as diagrams

    pipeline_guide = diagrams.PIPELINE_GUIDE.read_text()
    assert diagrams.BLOCK.search(pipeline_guide), "docs/reference-app.md has no diagram block"
    assert diagrams.pipeline_diagram(template) in pipeline_guide, "run `make diagram` to refresh the picture"
    deployment_guide = diagrams.DEPLOYMENT_GUIDE.read_text()
    assert diagrams.DEPLOYMENT_BLOCK.search(deployment_guide), "docs/releases.md has no deployment diagram block"
    assert diagrams.deployment_diagram(template) in deployment_guide, "run `make diagram` to refresh the picture"


def test_standalone_tuning_has_a_timeout(template):
    machines = state_machines(template)
    (tuning,) = [a for a in machines.values() if "Tune" in a["States"]]
    assert tuning["TimeoutSeconds"] > tuning["States"]["Tune"]["TimeoutSeconds"]


def test_the_app_s_feature_flags_do_not_change_our_templates(template):
    """A bare cdk.json (no feature flags) renders the same template as the recommended flags: our
    constructs pin the flags that shape them (sm_constructs/_flags.py)."""
    from aws_cdk import App

    bare = App(context={})  # what `cdk synth` builds from {"app": "python app.py"}
    stack = reference.ReferenceStack(bare, "SmConstructsReference")
    assert bare.synth().get_stack_by_name(stack.stack_name).template == template


def test_pinned_flags_are_aws_cdk_lib_s_recommended_values():
    import tarfile

    import aws_cdk

    from sm_constructs._flags import PINNED_FLAGS

    (tgz,) = (Path(aws_cdk.__file__).parent / "_jsii").glob("aws-cdk-lib@*.tgz")
    # read as a stream up to the file (a tenth of the 38 MB package): finding a member by name reads it all
    with tarfile.open(tgz, "r|gz") as archive:
        member = next(m for m in archive if m.name == "package/recommended-feature-flags.json")
        recommended = json.load(archive.extractfile(member))
    assert {flag: recommended[flag] for flag in PINNED_FLAGS} == PINNED_FLAGS


_ARN = "arn:aws:sagemaker:us-east-1:1"
_RAN = {
    "Preprocess": {"ProcessingJobArn": f"{_ARN}:processing-job/p", "Outputs": [f"s3://b/out/{i}/" for i in range(4)]},
    "Baseline": {"ProcessingJobArn": f"{_ARN}:processing-job/b", "Outputs": ["s3://b/baseline/"]},
    "Train": {"TrainingJobArn": f"{_ARN}:training-job/t", "Image": "xgboost", "ModelArtifacts": "s3://b/m.tar.gz"},
    "Evaluate": {"ProcessingJobArn": f"{_ARN}:processing-job/e", "Outputs": ["s3://b/evaluation/"]},
    "Register": {"ModelPackageArn": f"{_ARN}:model-package/churn-models/1"},
}


def _edges(plan, step):
    return {(a["edge"], a["type"], a["uri"]) for a in plan["artifacts"] if a["step"] == step}


def test_lineage_records_each_step_its_data_with_versions_and_the_version_it_registers(pipeline):
    run = {"lineage": {"run": "r"}, "input": {"inputDataUri": "s3://b/raw/"}, "steps": _RAN}
    fingerprinted = {**run, "cache": {"Preprocess": {"data": [{"uri": "s3://b/raw/", "fingerprint": "5f0c"}]}}}
    plan = lineage_plan(pipeline, fingerprinted)
    assert [(a["type"], a["source"], a["name"], a["status"]) for a in plan["actions"]] == [
        ("ProcessingJob", _RAN["Preprocess"]["ProcessingJobArn"], "r-preprocess", "Completed"),
        ("ProcessingJob", _RAN["Baseline"]["ProcessingJobArn"], "r-baseline", "Completed"),
        ("TrainingJob", _RAN["Train"]["TrainingJobArn"], "r-train", "Completed"),
        ("ProcessingJob", _RAN["Evaluate"]["ProcessingJobArn"], "r-evaluate", "Completed"),
        ("ModelRegistration", _RAN["Register"]["ModelPackageArn"], "r-register", "Completed"),
    ]
    # the raw data with the fingerprint its cache lookup listed, when it did (else the plain URI)
    assert ("ContributedTo", "DataSet", "s3://b/raw/#sha256=5f0c") in _edges(plan, 0)
    assert ("ContributedTo", "DataSet", "s3://b/raw/") in _edges(lineage_plan(pipeline, run), 0)
    assert {("ContributedTo", "Image", "xgboost"), ("Produced", "Model", "s3://b/m.tar.gz")} <= _edges(plan, 2)
    assert _edges(plan, 4) == {
        ("ContributedTo", "Model", "s3://b/m.tar.gz"),
        ("Produced", "ModelPackage", _RAN["Register"]["ModelPackageArn"]),
    }
    assert len(plan["artifacts"]) == 21
    # the statuses an action is created with are SageMaker's (botocore's ActionStatus)
    statuses = service_model("sagemaker").shape_for("ActionStatus").enum
    assert {"Completed", "Failed"} <= set(statuses)
    # the lineage comes last, before the manifest, and a failure of it is notified as the step "Lineage"
    states = pipeline["States"]
    assert states["LineageArtifacts"]["Next"] == "LineageRecorded"
    assert states["LineageRecorded"]["Default"] == "ManifestCost"
    assert states["LineageFailed"]["Parameters"]["Step"] == "Lineage"


def test_a_failed_run_records_its_lineage_then_notifies_with_its_own_error(pipeline):
    """Every top-level catch leads through the run's lineage: the steps that ran, and the job the run
    failed at (its description is the failure's cause), then the failure path with the run's error."""
    states = pipeline["States"]
    for step in ("Preprocess", "Train", "Register"):
        assert states[f"{step}Failed"]["Next"] == "LineageNames", step
    assert states["LineageRecorded"]["Choices"][1:] == [
        {"Variable": "$.error", "IsPresent": True, "Next": "NotifyFailure"}
    ]
    # a lineage error on a failed run keeps the run's error; on a successful one (or one the pipeline's
    # own rule ended) it is the step Lineage's
    assert states["LineageError"]["Choices"] == [
        {"Variable": "$.error.Rejected", "IsPresent": True, "Next": "LineageFailed"},
        {"Variable": "$.error", "IsPresent": True, "Next": "NotifyFailure"},
    ]
    assert states["LineageError"]["Default"] == "LineageFailed"
    assert states["LineageRun"]["Catch"][-1]["ResultPath"] == "$.lineage.error"
    # the manifest is written after the lineage: its failure goes straight to the notification
    assert states["ManifestFailed"]["Next"] == "NotifyFailure"

    cause = json.dumps({"TrainingJobArn": f"{_ARN}:training-job/failed", "TrainingJobStatus": "Failed"})
    failed = {
        "lineage": {"run": "r"},
        "input": {"inputDataUri": "s3://b/raw/"},
        "steps": {k: _RAN[k] for k in ("Preprocess", "Baseline")},
        "error": {"Error": "States.TaskFailed", "Cause": cause, "Step": "Train"},
    }
    plan = lineage_plan(pipeline, failed)
    assert plan["properties"] == {
        "ExecutionName": "run-1",
        "Outcome": "Failed",
        "Error": "States.TaskFailed",
        "Step": "Train",
    }
    assert [(a["name"], a["status"], a["source"]) for a in plan["actions"]] == [
        ("r-preprocess", "Completed", _RAN["Preprocess"]["ProcessingJobArn"]),
        ("r-baseline", "Completed", _RAN["Baseline"]["ProcessingJobArn"]),
        ("r-train", "Failed", f"{_ARN}:training-job/failed"),
    ]
    # the failed job read the prepared data; it wrote nothing, and its image is in the result it has not
    assert _edges(plan, 2) == {
        ("ContributedTo", "DataSet", "s3://b/out/0/"),
        ("ContributedTo", "DataSet", "s3://b/out/1/"),
    }
    # a cause that is not a job's description (a refused request): the job is not recorded
    refused = {**failed, "error": {"Error": "SageMaker.ValidationException", "Cause": "bad request", "Step": "Train"}}
    assert [a["name"] for a in lineage_plan(pipeline, refused)["actions"]] == ["r-preprocess", "r-baseline"]


def test_a_run_the_gate_rejected_records_its_lineage_and_manifest_then_fails_unnotified(pipeline):
    """The pipeline's own Fail states (the gate, an invalid input) are Pass states of the same name that
    keep their error as a failure path would, with ``Rejected``: the run records the steps that ran and
    writes its manifest, as a successful run does, then fails with that error, without notifying."""
    states = pipeline["States"]
    ended = ["QualityGateNotMet", "QualityGateMetricMissing", "InvalidInput_threshold", "InvalidInput_inputDataUri"]
    for name in ended:
        assert states[name]["Type"] == "Pass" and states[name]["Next"] == "LineageNames", name
        # a cause read at run time is a Parameters path; a text cause is a literal Result
        fields = states[name].get("Parameters") or states[name]["Result"]
        assert states[name]["ResultPath"] == "$.error" and fields["Rejected"] is True, name
    assert states["QualityGateNotMet"]["Parameters"] == {
        "Error": "QualityGateNotMet",
        "Cause.$": states["QualityGateNotMet"]["Parameters"]["Cause.$"],
        "Step": "QualityGate",
        "Rejected": True,
    }
    assert states["QualityGateNotMet"]["Parameters"]["Cause.$"].startswith("States.Format('metrics.auc is {}")
    assert states["InvalidInput_inputDataUri"]["Parameters"]["Step"] == "ValidateInput"
    assert states["LineageRecorded"]["Choices"][0] == {
        "Variable": "$.error.Rejected",
        "IsPresent": True,
        "Next": "ManifestCost",
    }
    assert states["WriteManifest"]["Next"] == "RunEnded"
    assert states["RunEnded"]["Choices"] == [
        {"Variable": "$.error.Rejected", "IsPresent": True, "Next": "PipelineFailed"}
    ]
    assert states["RunEnded"]["Default"] == "PipelineSucceeded"
    assert states["PipelineFailed"] == {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}
    # what it records: every step that ran, Completed; the context and the manifest say how it ended
    rejected = {
        "lineage": {"run": "r"},
        "input": {"inputDataUri": "s3://b/raw/"},
        "steps": {k: _RAN[k] for k in ("Preprocess", "Baseline", "Train", "Evaluate")},
        "error": {
            "Error": "QualityGateNotMet",
            "Cause": "auc is 0.61",
            "Step": "QualityGate",
            "Rejected": True,
        },
    }
    plan = lineage_plan(pipeline, rejected)
    assert [(a["name"], a["status"]) for a in plan["actions"]] == [
        (f"r-{step}", "Completed") for step in ("preprocess", "baseline", "train", "evaluate")
    ]
    assert ("Produced", "Model", "s3://b/m.tar.gz") in _edges(plan, 2)  # the model the gate rejected
    assert plan["properties"] == {
        "ExecutionName": "run-1",
        "Outcome": "Rejected",
        "Error": "QualityGateNotMet",
        "Step": "QualityGate",
    }
    assert plan["outcome"] == {
        "status": "Rejected",
        "error": "QualityGateNotMet",
        "step": "QualityGate",
        "cause": "auc is 0.61",
    }
    assert states["LineageRun"]["Parameters"]["Properties.$"] == "$.lineage.plan.properties"
    assert states["Manifest"]["Parameters"]["outcome.$"] == "$.lineage.plan.outcome"
    # a successful run's
    succeeded = lineage_plan(pipeline, {"lineage": {"run": "r"}, "input": rejected["input"], "steps": _RAN})
    assert succeeded["outcome"] == {"status": "Succeeded"} and succeeded["properties"]["Outcome"] == "Succeeded"


def test_a_tuning_step_records_the_tuning_job_and_its_best_training_job(template):
    (asl,) = [a for a in state_machines(template).values() if "Tune" in a["States"]]
    selected = asl["States"]["Tune"]["ResultSelector"]
    assert selected["HyperParameterTuningJobArn.$"] == "$.HyperParameterTuningJobArn"
    assert selected["BestTrainingJobArn.$"] == "$.BestTrainingJob.TrainingJobArn"
    tuned = {
        "HyperParameterTuningJobArn": f"{_ARN}:hyper-parameter-tuning-job/tune",
        "BestTrainingJobArn": f"{_ARN}:training-job/tune-003",
        "ModelArtifacts": "s3://b/models/tune-003/output/model.tar.gz",
        "Image": "xgboost",
    }
    plan = lineage_plan(asl, {"lineage": {"run": "r"}, "input": {}, "steps": {"Tune": tuned}})
    assert [(a["type"], a["source"]) for a in plan["actions"]] == [
        ("HyperParameterTuningJob", tuned["HyperParameterTuningJobArn"]),
        ("TrainingJob", tuned["BestTrainingJobArn"]),
    ]
    assert ("Produced", "Model", tuned["ModelArtifacts"]) in _edges(plan, 1)
    assert ("ContributedTo", "Image", "xgboost") in _edges(plan, 0) & _edges(plan, 1)


def test_lineage_deployment_records_the_endpoint_and_the_batch_transform(template):
    (asl,) = [a for a in state_machines(template).values() if "ReadApproval" in a["States"]]
    version = f"{_ARN}:model-package/churn-models/1"
    state = {
        "lineage": {"run": "r"},
        "package": {"ModelPackageArn": version},
        "steps": {
            "Deploy": {"Busy": {"Count": 0}},
            "BatchTransform": {"TransformJobArn": f"{_ARN}:transform-job/t", "OutputPath": "s3://b/scores/"},
        },
    }
    plan = lineage_plan(asl, state)
    assert [a["type"] for a in plan["actions"]] == ["ModelDeployment", "TransformJob"]
    assert ("ContributedTo", "ModelPackage", version) in _edges(plan, 0) & _edges(plan, 1)
    assert plan["properties"]["Outcome"] == "Succeeded"
    assert asl["States"]["LineageArtifacts"]["Next"] != "Deployed" or "SmokeTest" not in asl["States"]


def test_a_failed_deployment_records_what_ran_and_the_step_it_failed_at(template):
    """Each catch before the deployment's lineage names its step (``<step>Error``), then the lineage records
    the endpoint it deployed and the transform job it failed at (its description is the failure's cause),
    then the notification; the monitoring after the lineage notifies at once."""
    (asl,) = [a for a in state_machines(template).values() if "ReadApproval" in a["States"]]
    states = asl["States"]
    for task, step in (("Model", "Model"), ("DeployEndpoint", "Deploy"), ("BatchTransform", "BatchTransform")):
        assert states[task]["Catch"][-1]["Next"] == f"{step}Error", task
        assert states[f"{step}Error"]["Parameters"]["Step"] == step and states[f"{step}Error"]["Next"] == "LineageNames"
    assert states["LineageRecorded"]["Choices"] == [{"Variable": "$.error", "IsPresent": True, "Next": "NotifyFailure"}]
    assert states["MonitorBaseline"]["Catch"][-1]["Next"] == "NotifyFailure"
    version, job = f"{_ARN}:model-package/churn-models/1", f"{_ARN}:transform-job/t"
    cause = json.dumps({"TransformJobArn": job, "TransformJobStatus": "Failed", "FailureReason": "bad input"})
    state = {
        "lineage": {"run": "r"},
        "package": {"ModelPackageArn": version},
        "steps": {"Deploy": {"Busy": {"Count": 0}}},
        "error": {"Error": "States.TaskFailed", "Cause": cause, "Step": "BatchTransform"},
    }
    plan = lineage_plan(asl, state)
    source = plan["actions"][0]["source"]
    assert source.endswith(":endpoint/sm-constructs-churn"), source
    assert [(a["type"], a["status"], a["source"]) for a in plan["actions"]] == [
        ("ModelDeployment", "Completed", source),
        ("TransformJob", "Failed", job),
    ]
    assert _edges(plan, 1) == {
        ("ContributedTo", "ModelPackage", version),
        ("ContributedTo", "DataSet", next(a["uri"] for a in plan["artifacts"] if a["type"] == "DataSet")),
    }
    assert plan["properties"] | {"ExecutionName": None} == {
        "ExecutionName": None,
        "Outcome": "Failed",
        "Error": "States.TaskFailed",
        "Step": "BatchTransform",
    }
    # the endpoint that failed (its step's Fail state, or a task of it: the Parallel state's catch keeps its
    # input only, without $.steps.Deploy): its action Failed, by the endpoint's ARN
    failed = {**state, "steps": {}, "error": {"Error": "EndpointDeploymentRolledBack", "Cause": "x", "Step": "Deploy"}}
    (endpoint,) = lineage_plan(asl, failed)["actions"]
    assert (endpoint["type"], endpoint["status"], endpoint["source"]) == ("ModelDeployment", "Failed", source)
    assert _edges(lineage_plan(asl, failed), 0) == {("ContributedTo", "ModelPackage", version)}


def test_lineage_iam_is_scoped_to_the_workflow_s_names(template):
    def statements(action):
        for resource in template["Resources"].values():
            for st in resource.get("Properties", {}).get("PolicyDocument", {}).get("Statement", []):
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                if action in actions:
                    yield json.dumps(st["Resource"])

    for action in ("sagemaker:CreateContext", "sagemaker:CreateAction", "sagemaker:AddAssociation"):
        found = list(statements(action))
        assert found, action
        for resource in found:
            assert "*" not in re.sub(
                r":(context|action)/[a-z0-9-]+-[0-9a-f]{8}-\*", "", re.sub(r":artifact/\*", "", resource)
            ), resource
    assert all('":artifact/*"' in r or "artifact/*" in r for r in statements("sagemaker:CreateArtifact"))


def test_each_run_writes_its_manifest_encrypted_under_runs(template, pipeline):
    build, put = pipeline["States"]["Manifest"], pipeline["States"]["WriteManifest"]
    assert pipeline["States"]["ManifestCost"]["Next"] == "Manifest"
    assert build["Next"] == "WriteManifest" and put["Next"] == "RunEnded"  # then PipelineSucceeded (or Failed)
    assert {"input.$", "steps.$", "cache.$", "lineage", "cost.$", "outcome.$"} <= set(build["Parameters"])
    assert put["Parameters"]["Key.$"] == "States.Format('runs/{}/manifest.json', $$.Execution.Name)"
    assert put["Parameters"]["ServerSideEncryption"] == "aws:kms" and put["Parameters"]["SSEKMSKeyId"]
    assert put["Retry"][0]["ErrorEquals"] == ["S3.S3Exception"]
