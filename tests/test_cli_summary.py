"""The summary that ends ``sm-pipeline run --watch`` / ``watch``, read from an execution's history.

The history below has the shape Step Functions' GetExecutionHistory gives (event ids, ``previousEventId``
back to the state's entered event, timestamps, task outputs as JSON text) for a build pipeline with a
cached preprocessing step, a training job, the quality gate and a registration.
"""

import json
from datetime import UTC, datetime, timedelta

import pytest

from sm_constructs._run_summary import summary

T0 = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
GATE_RULE = {
    "And": [
        {"Variable": "$.steps.QualityGate.report.metrics.auc", "IsNumeric": True},
        {"Variable": "$.steps.QualityGate.report.metrics.auc", "NumericGreaterThanEqualsPath": "$.input.threshold"},
    ],
    "Next": "QualityGatePassed",
}
DEFINITION = {
    "StartAt": "PreprocessCacheKey",
    "States": {
        "PreprocessCacheKey": {"Type": "Pass", "Next": "PreprocessCacheLookup"},
        "PreprocessCacheLookup": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sagemaker:listProcessingJobs"},
        "PreprocessCacheHit": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sagemaker:describeProcessingJob"},
        "Train": {"Type": "Task", "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync"},
        "ReadEvaluation": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject"},
        "QualityGate": {"Type": "Choice", "Choices": [GATE_RULE], "Default": "QualityGateNotMet"},
        "QualityGatePassed": {"Type": "Pass", "Next": "Register"},
        "QualityGateNotMet": {"Type": "Fail"},
        "Register": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sagemaker:createModelPackage"},
        "PipelineSucceeded": {"Type": "Succeed"},
    },
}
PREPROCESS = {
    "ProcessingJobName": "churn-preprocess-abc",
    "ProcessingJobStatus": "Completed",
    "ProcessingOutputConfig": {
        "Outputs": [{"OutputName": "train", "S3Output": {"S3Uri": "s3://data/processed/r1/train/"}}]
    },
}
TRAIN = {
    "TrainingJobName": "churn-train-def",
    "TrainingJobStatus": "Completed",
    "ModelArtifacts": {"S3ModelArtifacts": "s3://data/models/r1/churn-train-def/output/model.tar.gz"},
    "FinalMetricDataList": [{"MetricName": "validation:auc", "Value": 0.91, "Timestamp": "x"}],
}
REGISTER = {"ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/3"}


def history(auc: float, threshold: float, verdict: str) -> list[dict]:
    events: list[dict] = []

    def add(kind: str, previous: int | None, seconds: float, **details) -> int:
        event = {"id": len(events) + 1, "type": kind, "timestamp": T0 + timedelta(seconds=seconds), **details}
        if previous is not None:
            event["previousEventId"] = previous
        events.append(event)
        return event["id"]

    def task(name: str, start: float, took: float, output: dict, state_input: dict | None = None) -> None:
        entered = add(
            "TaskStateEntered", None, start, stateEnteredEventDetails={"name": name, "input": json.dumps(state_input)}
        )
        scheduled = add("TaskScheduled", entered, start)
        add("TaskSucceeded", scheduled, start + took, taskSucceededEventDetails={"output": json.dumps(output)})
        add("TaskStateExited", None, start + took, stateExitedEventDetails={"name": name, "output": "{}"})

    add("ExecutionStarted", None, 0)
    add("PassStateEntered", None, 0, stateEnteredEventDetails={"name": "PreprocessCacheKey"})
    task("PreprocessCacheLookup", 0.1, 0.2, {"ProcessingJobSummaries": []})
    entered = add("TaskStateEntered", None, 0.4, stateEnteredEventDetails={"name": "PreprocessCacheHit"})
    done = add("TaskSucceeded", entered, 0.5, taskSucceededEventDetails={"output": json.dumps(PREPROCESS)})
    add(
        "TaskStateExited",
        done,
        0.5,
        stateExitedEventDetails={
            "name": "PreprocessCacheHit",
            "output": json.dumps({"steps": {"Preprocess": PREPROCESS}}),
        },
    )
    task("Train", 1.0, 12.5, TRAIN)
    gate_input = {"input": {"threshold": threshold}, "steps": {"QualityGate": {"report": {"metrics": {"auc": auc}}}}}
    task("ReadEvaluation", 14.0, 0.3, {"report": {"metrics": {"auc": auc}}})
    add(
        "ChoiceStateEntered",
        None,
        14.4,
        stateEnteredEventDetails={"name": "QualityGate", "input": json.dumps(gate_input)},
    )
    add("ChoiceStateExited", None, 14.4, stateExitedEventDetails={"name": "QualityGate", "output": "{}"})
    add("PassStateEntered", None, 14.5, stateEnteredEventDetails={"name": verdict})
    if verdict == "QualityGatePassed":
        task("Register", 14.6, 0.4, REGISTER)
    return events


@pytest.fixture(scope="module")
def passed() -> list[str]:
    return summary(DEFINITION, {"status": "SUCCEEDED"}, history(0.91, 0.75, "QualityGatePassed"))


def test_steps_have_their_status_time_and_jobs(passed):
    steps = passed[passed.index("steps:") + 1 : passed.index("cache hits:")]
    assert [line.split()[0] for line in steps] == ["PreprocessCacheHit", "Train", "ReadEvaluation", "Register"]
    train = next(line for line in steps if line.split()[0] == "Train")
    assert train.split()[1:] == ["succeeded", "12.5s", "churn-train-def", "(Completed)"]
    assert "PreprocessCacheLookup" not in "\n".join(passed), "the cache's own lookups are not steps"


def test_cache_hits_metrics_and_outputs_are_named(passed):
    assert passed[passed.index("cache hits:") + 1] == "  Preprocess: cache hit, reused churn-preprocess-abc"
    assert "  Train validation:auc = 0.91" in passed
    assert "  metrics.auc = 0.91" in passed[passed.index("evaluation:") :]
    outputs = passed[passed.index("outputs:") + 1 :]
    assert outputs == [
        "  PreprocessCacheHit train: s3://data/processed/r1/train/",
        "  Train model: s3://data/models/r1/churn-train-def/output/model.tar.gz",
        f"  Register model version: {REGISTER['ModelPackageArn']}",
    ]


@pytest.mark.parametrize(
    "auc,verdict,expected",
    [
        (0.75, "QualityGatePassed", "passed: metrics.auc = 0.75 >= 0.75"),  # at the threshold
        (0.7499, "QualityGateNotMet", "not met: metrics.auc = 0.7499 >= 0.75"),  # just below
        (0.7501, "QualityGatePassed", "passed: metrics.auc = 0.7501 >= 0.75"),  # just above
    ],
)
def test_the_gate_verdict_names_metric_value_comparison_and_threshold(auc, verdict, expected):
    lines = summary(DEFINITION, {"status": "SUCCEEDED"}, history(auc, 0.75, verdict))
    (gate,) = [line for line in lines if line.startswith("quality gate: ")]
    assert gate == f"quality gate: {expected} (threshold: $.input.threshold)"


def test_every_line_is_short(passed):
    assert all(len(line) < 160 for line in passed), max(passed, key=len)


def test_a_failure_a_catch_handled_is_caught_and_each_location_is_listed_once():
    """A deployment's first DescribeEndpoint fails (no endpoint yet) and its Catch creates the endpoint;
    two reads of the same model version name one location."""
    definition = {
        "States": {
            name: {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sagemaker:x"}
            for name in ("ReadVersion", "DeployDescribe", "ReadVersionAgain")
        }
    }
    events = [
        {"id": 1, "type": "TaskStateEntered", "timestamp": T0, "stateEnteredEventDetails": {"name": "ReadVersion"}},
        {
            "id": 2,
            "type": "TaskSucceeded",
            "previousEventId": 1,
            "timestamp": T0,
            "taskSucceededEventDetails": {"output": json.dumps(REGISTER)},
        },
        {"id": 3, "type": "TaskStateExited", "timestamp": T0, "stateExitedEventDetails": {"name": "ReadVersion"}},
        {"id": 4, "type": "TaskStateEntered", "timestamp": T0, "stateEnteredEventDetails": {"name": "DeployDescribe"}},
        {
            "id": 5,
            "type": "TaskFailed",
            "previousEventId": 4,
            "timestamp": T0 + timedelta(seconds=0.5),
            "taskFailedEventDetails": {"error": "SageMaker.SageMakerException", "cause": "Could not find endpoint"},
        },
        {
            "id": 6,
            "type": "TaskStateExited",
            "timestamp": T0 + timedelta(seconds=0.5),
            "stateExitedEventDetails": {"name": "DeployDescribe"},
        },
        {
            "id": 7,
            "type": "TaskStateEntered",
            "timestamp": T0,
            "stateEnteredEventDetails": {"name": "ReadVersionAgain"},
        },
        {
            "id": 8,
            "type": "TaskSucceeded",
            "previousEventId": 7,
            "timestamp": T0,
            "taskSucceededEventDetails": {"output": json.dumps(REGISTER)},
        },
    ]
    lines = summary(definition, {"status": "RUNNING"}, events)
    (describe,) = [line for line in lines if line.split()[0] == "DeployDescribe"]
    assert describe.split()[1:] == ["caught:", "SageMaker.SageMakerException", "0.5s"]
    (again,) = [line for line in lines if line.split()[0] == "ReadVersionAgain"]
    assert again.split()[1:] == ["succeeded"], "entered and succeeded, not yet left: no time"
    assert lines[lines.index("outputs:") + 1 :] == [f"  ReadVersion model version: {REGISTER['ModelPackageArn']}"]
