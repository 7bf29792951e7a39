"""Lineage names (sm_constructs.lineage) against botocore's SageMaker model: whatever the construct path
and step ids, every context and action name the state machine builds fits ContextName / ActionName."""

import re

import pytest

from sm_constructs._service_model import service_model
from sm_constructs.lineage import MAX_NAME, LineageStep, RunLineage, lineage_prefix

_MODEL = service_model("sagemaker")
CONTEXT = _MODEL.shape_for("ContextName").metadata
ACTION = _MODEL.shape_for("ExperimentEntityName").metadata
MD5 = "0123456789abcdef0123456789abcdef"  # States.Hash(..., 'MD5'): 32 hex digits


def _fits(name: str, shape: dict) -> bool:
    return shape["min"] <= len(name) <= shape["max"] and re.fullmatch(shape["pattern"], name) is not None


@pytest.mark.parametrize("path", ["Stack/Churn/Pipeline", "S/" + "Very_Long-Construct.Id" * 8, "S/__", "S/Ünïcode Ïd"])
def test_names_fit_botocores_patterns_whatever_the_path(path):
    prefix = lineage_prefix(path)
    run = f"{prefix}-{MD5}"
    assert _fits(run, CONTEXT) and _fits(run, ACTION)
    steps = [LineageStep(id, "ProcessingJob", "$.x") for id in ("Prepare", "prepare", "A_B" * 40, "X" * 80)]
    for step in RunLineage._step_names(prefix, steps):
        assert _fits(f"{run}-{step}", ACTION), step
    assert MAX_NAME == ACTION["max"] == CONTEXT["max"]


def test_step_names_are_distinct_within_a_run():
    steps = [LineageStep(id, "ProcessingJob", "$.x") for id in ("Prepare", "prepare", "PREPARE", "Train")]
    names = RunLineage._step_names("p-12345678", steps)
    assert len(set(names)) == 4 and names[0] == "prepare" and names[3] == "train"


def test_two_workflows_never_share_a_prefix():
    assert lineage_prefix("Stack/A/Pipeline") != lineage_prefix("Stack/B/Pipeline")
    assert lineage_prefix("Stack/A/Pipeline").startswith("pipeline-")


def _evaluate(expression: str, state: dict) -> object:
    """A JSONata expression over ``$i`` (the state) as the plan evaluates it (jsonata-python)."""
    import json

    from sm_constructs.local.aws.stepfunctions_jsonata import evaluate

    context = {"Execution": {"Name": "run-1"}}
    bound = json.dumps({"input": state, "context": context})
    return evaluate(f"($states := {bound}; $i := $states.input; {expression})")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("$.steps.Prep.Outputs[1]", "s3://b/out/1/"),
        ("$.steps.my-step.Uri", "s3://b/dashed/"),
        ("States.Format('s3://{}/runs/{}/', $.input.bucket, $$.Execution.Name)", "s3://b/runs/run-1/"),
        ("States.ArrayGetItem($.steps.Prep.Outputs, 0)", "s3://b/out/0/"),
        ("States.Format('{}x', States.ArrayGetItem($.steps.Prep.Outputs, 1))", "s3://b/out/1/x"),
        ("s3://it's/a\\literal", "s3://it's/a\\literal"),
    ],
)
def test_the_plan_reads_what_a_jsonpath_state_would(value, expected):
    from sm_constructs.lineage import jsonata_of

    state = {
        "input": {"bucket": "b"},
        "steps": {"Prep": {"Outputs": ["s3://b/out/0/", "s3://b/out/1/"]}, "my-step": {"Uri": "s3://b/dashed/"}},
    }
    assert _evaluate(jsonata_of(value), state) == expected
    # a path the state lacks (a step that did not run) is undefined, where JSONPath fails the state
    assert _evaluate(f"$exists({jsonata_of('$.steps.Other.Outputs[0]')})", state) is False


def test_a_uri_built_with_another_intrinsic_is_named_not_guessed():
    from sm_constructs.lineage import LineageArtifact, jsonata_of, plan_expression

    with pytest.raises(ValueError, match="not an expression"):
        jsonata_of("States.UUID()")
    unread: list[str] = []
    step = LineageStep("P", "ProcessingJob", "$.steps.P.Arn", inputs=[LineageArtifact("DataSet", "States.UUID()")])
    assert "UUID" not in plan_expression([step], ["p"], unread) and unread == ["States.UUID()"]
