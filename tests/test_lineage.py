"""Lineage names (sm_constructs.lineage) against botocore's SageMaker model: whatever the construct path
and step ids, every context and action name the state machine builds fits ContextName / ActionName."""

import re

import botocore.session
import pytest

from sm_constructs.lineage import MAX_NAME, LineageStep, RunLineage, lineage_prefix

_MODEL = botocore.session.get_session().get_service_model("sagemaker")
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
