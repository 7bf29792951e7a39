"""MlPipeline composition: input handling, failure path, gate, fan-out, triggers, observability."""

import json

import pytest
from asl_eval import run_states
from aws_cdk import Duration
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_stepfunctions as sfn
from sfn_requests import assert_all_requests_valid, state_machines
from support import add_nag_packs, cfn_lint, new_app, new_stack, template_of

from sm_constructs import (
    FanOut,
    InputField,
    MlDataBucket,
    MlPipeline,
    ProcessingDefinition,
    ProcessingInput,
    ProcessingOutput,
    QualityGate,
    S3Trigger,
    SageMakerExecutionRole,
)
from sm_constructs._validation import ConstructValidationError


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    path = tmp_path_factory.mktemp("code") / "job.py"
    path.write_text("print('job')\n")
    return path


def _job(stack, id, role, data, script, *, source=None):
    return ProcessingDefinition(
        stack,
        id,
        role=role,
        code=script,
        inputs=[ProcessingInput("data", source or sfn.JsonPath.string_at("$.input.inputDataUri"))],
        outputs=[
            ProcessingOutput(
                "out", sfn.JsonPath.format("s3://{}/processed/{}/", data.bucket_name, sfn.JsonPath.execution_name)
            )
        ],
        name_prefix=id.lower(),
    )


@pytest.fixture(scope="module")
def synthesized(script):
    app = new_app()
    stack = new_stack(app)
    data = MlDataBucket(stack, "Data")
    role = SageMakerExecutionRole(stack, "Exec")
    data.grant_read_write(role, "processed/")
    fan = _job(
        stack,
        "PerFile",
        role,
        data,
        script,
        source=sfn.JsonPath.format("s3://{}/{}", data.bucket_name, sfn.JsonPath.string_at("$.Key")),
    )
    prepare = _job(stack, "Prepare", role, data, script)
    evaluate = _job(stack, "Evaluate", role, data, script)
    pipeline = MlPipeline(
        stack,
        "Pipeline",
        preprocessing=[FanOut(fan, data.bucket, "raw/", max_concurrency=5), prepare],
        evaluation=evaluate,
        quality_gate=QualityGate(
            bucket=data.bucket,
            key=sfn.JsonPath.format("evaluation/{}/evaluation.json", sfn.JsonPath.execution_name),
            metric="metrics.auc",
            threshold=0.8,
            comparison=">",
        ),
        inputs=[
            InputField("inputDataUri", kind="s3_uri", description="raw data"),
            InputField("epochs", kind="number", default=3),
        ],
        dashboard=True,
        schedule=scheduler.ScheduleExpression.rate(Duration.days(1)),
        schedule_input={"inputDataUri": data.s3_uri("raw/")},
        s3_trigger=S3Trigger(data.bucket, "raw/incoming/"),
    )
    add_nag_packs(app)
    app.synth()  # four cdk-nag packs
    return pipeline, template_of(stack)


@pytest.fixture(scope="module")
def asl(synthesized):
    (definition,) = [a for a in state_machines(synthesized[1].to_json()).values() if "ValidateInput" in a["States"]]
    return definition


def test_requests_valid_and_lint_clean(synthesized):
    _, template = synthesized
    assert_all_requests_valid(template.to_json(), expect_at_least=3)
    assert cfn_lint(template.to_json()) == []


def test_defaults_merged_under_the_input(asl):
    s = asl["States"]
    assert asl["StartAt"] == "LoadDefaults"
    assert s["LoadDefaults"]["Result"] == {"defaults": {"epochs": 3, "threshold": 0.8}}
    assert s["ApplyDefaults"]["Parameters"]["input.$"] == "States.JsonMerge($.defaults, $$.Execution.Input, false)"


def _input_states(asl):
    """The pipeline's input handling, run on its own: a valid input ends in InputValid."""
    s = asl["States"]
    part = {name: state for name, state in s.items() if name.startswith(("InvalidInput_", "MissingInput_"))}
    part["LoadDefaults"] = s["LoadDefaults"]
    part["ApplyDefaults"] = s["ApplyDefaults"]
    part["ValidateInput"] = s["ValidateInput"]
    part["InputValid"] = {"Type": "Succeed"}
    # a refused input records the run's lineage (tested with the reference app), then fails with its error
    part["LineageNames"] = s["PipelineFailed"]
    return part


@pytest.mark.parametrize(
    ("execution_input", "cause"),
    [
        (
            {"epochs": 3},
            "Execution input has no field inputDataUri: it is required, expected s3_uri (a string that starts with s3://)",
        ),
        (
            {"inputDataUri": "bucket/raw/"},
            'Execution input field inputDataUri is "bucket/raw/": expected s3_uri (a string that starts with s3://)',
        ),
        (
            {"inputDataUri": "s3://bucket-a/raw/", "epochs": "three"},
            'Execution input field epochs is "three": expected number (a number)',
        ),
        (
            {"inputDataUri": {"uri": "s3://bucket-a/raw/"}},
            'Execution input field inputDataUri is {"uri":"s3://bucket-a/raw/"}: expected s3_uri',
        ),
    ],
)
def test_invalid_input_names_the_field_its_value_and_the_kind(asl, execution_input, cause):
    """Run in moto's ASL interpreter: the cause names the one wrong field, its value and what was expected."""
    described = run_states(_input_states(asl), "LoadDefaults", execution_input)
    assert described["status"] == "FAILED", described
    assert described["error"] == "InvalidInput"
    assert described["cause"].startswith(cause), described["cause"]


def test_valid_input_passes(asl):
    described = run_states(_input_states(asl), "LoadDefaults", {"inputDataUri": "s3://bucket-a/raw/", "epochs": 5})
    assert described["status"] == "SUCCEEDED", described


def _gate_states(asl, report):
    s = asl["States"]
    part = {name: s[name] for name in ("QualityGate", "QualityGateNotMet", "QualityGateMetricMissing")}
    part["Report"] = {
        "Type": "Pass",
        "Result": {"report": report},
        "ResultPath": "$.steps.QualityGate",
        "Next": "QualityGate",
    }
    part["QualityGatePassed"] = {"Type": "Succeed"}
    part["LineageNames"] = s["PipelineFailed"]  # the lineage (tested with the reference app), then the error
    return part


@pytest.mark.parametrize(
    ("report", "status", "cause"),
    [
        ({"metrics": {"auc": 0.9}}, "SUCCEEDED", None),
        (
            {"metrics": {"auc": 0.61}},
            "FAILED",
            "metrics.auc is 0.61, which does not pass > 0.8 (the threshold, input field threshold); nothing was deployed",
        ),
        (
            {"metrics": {"auc": "high"}},
            "FAILED",
            'metrics.auc is "high", which does not pass > 0.8 (the threshold, input field threshold)',
        ),
        ({"metrics": {}}, "FAILED", "The evaluation report has no metrics.auc"),
    ],
)
def test_quality_gate_cause_names_metric_value_comparison_and_threshold(asl, report, status, cause):
    """Run in moto's ASL interpreter with the threshold from the input defaults (0.8)."""
    described = run_states(_gate_states(asl, report), "Report", {"input": {"threshold": 0.8}})
    assert described["status"] == status, described
    if cause is not None:
        assert described["error"] == "QualityGateNotMet"
        assert described["cause"].startswith(cause), described["cause"]


def test_failure_path_notifies_then_fails(asl):
    s = asl["States"]
    assert (
        s["NotifyFailure"]["Resource"].endswith(":states:::sns:publish")
        and s["NotifyFailure"]["Next"] == "PipelineFailed"
    )
    assert s["PipelineFailed"] == {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}
    # each step's catch names the step in the error, records the failed run's lineage, then notifies
    # (the message carries the step as "step")
    assert s["NotifyFailure"]["Parameters"]["Message"]["step.$"] == "$.error.Step"
    for name, step in (
        ("PerFileFanOut", "PerFileFanOut"),
        ("Prepare", "Prepare"),
        ("Evaluate", "Evaluate"),
        ("ReadEvaluation", "QualityGate"),
    ):
        assert s[name]["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": f"{step}Failed"}]
        assert s[f"{step}Failed"] == {
            "Type": "Pass",
            "Parameters": {"Error.$": "$.error.Error", "Cause.$": "$.error.Cause", "Step": step},
            "ResultPath": "$.error",
            "Next": "LineageNames",
        }
    # a run the pipeline's own rule ended (the gate, an invalid input) fails with its error, not notified
    assert s["LineageRecorded"]["Choices"] == [
        {"Variable": "$.error.Rejected", "IsPresent": True, "Next": "PipelineFailed"},
        {"Variable": "$.error", "IsPresent": True, "Next": "NotifyFailure"},
    ]


def test_fan_out_is_a_distributed_map_over_the_prefix(asl):
    m = asl["States"]["PerFileFanOut"]
    assert m["Type"] == "Map" and m["MaxConcurrency"] == 5
    assert m["ItemReader"]["Resource"].endswith(":states:::s3:listObjectsV2")
    assert m["ItemReader"]["Parameters"]["Prefix"] == "raw/"
    assert m["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    inner = m["ItemProcessor"]["States"]["PerFile"]
    assert inner["Retry"] and "Catch" not in inner  # the Map state catches


def test_gate_compares_against_the_runtime_threshold(asl):
    gate = asl["States"]["QualityGate"]
    choice, missing = gate["Choices"]
    assert missing["Next"] == "QualityGateMetricMissing"
    assert {
        "Variable": "$.steps.QualityGate.report.metrics.auc",
        "NumericGreaterThanPath": "$.input.threshold",
    } in choice["And"]
    read = asl["States"]["ReadEvaluation"]
    assert read["ResultSelector"] == {"report.$": "States.StringToJson($.Body)"}


def test_observability_and_triggers(synthesized):
    _, template = synthesized
    template.resource_count_is("AWS::CloudWatch::Alarm", 2)
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    template.resource_count_is("AWS::Scheduler::Schedule", 1)
    template.has_resource_properties(
        "AWS::Events::Rule", {"EventPattern": {"detail": {"object": {"key": [{"prefix": "raw/incoming/"}]}}}}
    )
    bucket = next(
        r for r in template.find_resources("AWS::S3::Bucket").values() if "NotificationConfiguration" in r["Properties"]
    )
    assert bucket["Properties"]["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }
    template.resource_count_is("AWS::Lambda::Function", 0)
    # every role's permissions are managed policies, except aws-cdk's own Distributed Map policy
    inline = template.find_resources("AWS::IAM::Policy")
    assert len(inline) == 1 and next(iter(inline)).startswith("PipelineStateMachineDistributedMapPolicy")


def test_timeout_is_the_sum_of_job_timeouts(asl):
    jobs = 3 * (3600 + 3600)
    assert asl["TimeoutSeconds"] == jobs + 3600


def test_input_documentation(synthesized):
    pipeline, _ = synthesized
    doc = pipeline.input_documentation()
    assert "| `inputDataUri` | s3_uri | *required* | raw data |" in doc and "| `threshold` | number | `0.8` |" in doc


def test_bad_pipelines_are_rejected(script):
    stack = new_stack()
    data = MlDataBucket(stack, "Data")
    role = SageMakerExecutionRole(stack, "Exec")
    with pytest.raises(ConstructValidationError, match="give at least one of"):
        MlPipeline(stack, "Empty")
    job = _job(stack, "Job", role, data, script)
    with pytest.raises(ConstructValidationError) as err:
        MlPipeline(
            stack,
            "Bad",
            preprocessing=[job, FanOut(job, data.bucket, "/raw", max_concurrency=0)],
            quality_gate=QualityGate(bucket=data.bucket, key="k", metric="metrics.2auc", threshold=0.5),
            inputs=[InputField("a"), InputField("a")],
            retry_attempts=20,
        )
    text = str(err.value)
    for expected in (
        "quality_gate and evaluation conflict",
        "inputs='a' is invalid: input field names must be unique",
        "quality_gate.metric='metrics.2auc'",
        "retry_attempts=20",
        "preprocessing[1].max_concurrency=0",
        "preprocessing[1].prefix='/raw'",
    ):
        assert expected in text, expected


# ---- triggers and dashboard added after construction ------------------------------------------
def test_add_schedule_s3_trigger_and_dashboard(script):
    stack = new_stack()
    data = MlDataBucket(stack, "Data")
    role = SageMakerExecutionRole(stack, "Exec")
    pipeline = MlPipeline(stack, "Pipeline", preprocessing=[_job(stack, "Prep", role, data, script)])
    daily = pipeline.add_schedule(scheduler.ScheduleExpression.rate(Duration.days(1)), input={"threshold": 0.8})
    weekly = pipeline.add_schedule(scheduler.ScheduleExpression.rate(Duration.days(7)))
    assert (daily.node.id, weekly.node.id) == ("Schedule", "Schedule2")
    rule = pipeline.add_s3_trigger(S3Trigger(data, "raw/incoming/"))
    assert rule.node.id == "OnNewData"
    board = pipeline.add_dashboard()
    assert pipeline.add_dashboard() is board
    with pytest.raises(ConstructValidationError, match=r"s3_trigger\.prefix='/raw' is invalid"):
        pipeline.add_s3_trigger(S3Trigger(data, "/raw"))
    template = template_of(stack)
    template.resource_count_is("AWS::Scheduler::Schedule", 2)
    template.has_resource_properties(
        "AWS::Scheduler::Schedule", {"ScheduleExpression": "rate(1 day)", "Target": {"Input": '{"threshold":0.8}'}}
    )
    # the data bucket itself turned on EventBridge (no Lambda-backed custom resource)
    template.has_resource_properties(
        "AWS::S3::Bucket", {"NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}}
    )
    template.resource_count_is("AWS::Lambda::Function", 0)
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert "ServiceIntegrationRunTime" in body and "createProcessingJob.sync" in body
