"""The quality gate's comparisons, executed at, just below and just above the threshold.

Each comparison (and the default, written without ``comparison=``) is synthesized into its own
pipeline once per module; its Choice runs in moto's Step Functions interpreter, so the rule that
decides is the one Step Functions evaluates, and turning ``>=`` into ``>`` (or any other swap) fails.
"""

from typing import Any

import pytest
from asl_eval import run_each
from aws_cdk import aws_stepfunctions as sfn
from sfn_requests import state_machines
from support import new_app, new_stack, template_of

from sm_constructs import (
    MlDataBucket,
    MlPipeline,
    ProcessingDefinition,
    ProcessingInput,
    ProcessingOutput,
    QualityGate,
    SageMakerExecutionRole,
)

#: Exact in binary, so "at" is at, and the neighbours are the closest values a report plausibly holds.
THRESHOLD = 0.75
BELOW, AT, ABOVE = 0.7499, THRESHOLD, 0.7501
#: comparison as written (None: the default) -> (passes below, passes at, passes above)
EXPECTED: dict[str | None, tuple[bool, bool, bool]] = {
    None: (False, True, True),
    ">=": (False, True, True),
    ">": (False, False, True),
    "<=": (True, True, False),
    "<": (True, False, False),
}
_IDS = {None: "Default", ">=": "AtLeast", ">": "Above", "<=": "AtMost", "<": "Below"}


@pytest.fixture(scope="module")
def gates(tmp_path_factory) -> dict[str | None, dict[str, Any]]:
    """comparison -> the states of its pipeline's gate, fed by a Pass state standing in for the report."""
    script = tmp_path_factory.mktemp("code") / "evaluate.py"
    script.write_text("print('evaluate')\n")
    stack = new_stack(new_app())
    data = MlDataBucket(stack, "Data")
    role = SageMakerExecutionRole(stack, "Exec")
    pipelines = {}
    for comparison, id in _IDS.items():
        evaluate = ProcessingDefinition(
            stack,
            f"{id}Evaluate",
            role=role,
            code=script,
            inputs=[ProcessingInput("data", data.s3_uri("raw/"))],
            outputs=[ProcessingOutput("report", data.s3_uri(f"evaluation/{id}/"))],
            name_prefix=f"{id.lower()}-evaluate",
        )
        extra = {} if comparison is None else {"comparison": comparison}
        pipelines[comparison] = MlPipeline(
            stack,
            id,
            evaluation=evaluate,
            quality_gate=QualityGate(
                bucket=data.bucket,
                key=f"evaluation/{id}/evaluation.json",
                metric="metrics.auc",
                threshold=THRESHOLD,
                **extra,
            ),
        )
    machines = state_machines(template_of(stack).to_json())
    out = {}
    for comparison, pipeline in pipelines.items():
        (machine,) = [c for c in pipeline.node.find_all() if isinstance(c, sfn.CfnStateMachine)]
        asl = machines[stack.get_logical_id(machine)]
        s = asl["States"]
        part = {name: s[name] for name in ("QualityGate", "QualityGateNotMet", "QualityGateMetricMissing")}
        part["Report"] = {
            "Type": "Pass",
            "InputPath": "$.report",
            "ResultPath": "$.steps.QualityGate.report",
            "Next": "QualityGate",
        }
        part["QualityGatePassed"] = {"Type": "Succeed"}
        part["LineageNames"] = s["PipelineFailed"]  # the run's lineage (tested with the reference app), then its error
        out[comparison] = part
    return out


@pytest.mark.parametrize("comparison", list(EXPECTED), ids=lambda c: _IDS[c])
def test_gate_at_just_below_and_just_above_the_threshold(gates, comparison):
    """The threshold as the merged execution input holds it (the gate reads $.input.threshold)."""
    values = (BELOW, AT, ABOVE)
    inputs = [{"input": {"threshold": THRESHOLD}, "report": {"metrics": {"auc": v}}} for v in values]
    described = run_each(gates[comparison], "Report", inputs)
    passed = tuple(d["status"] == "SUCCEEDED" for d in described)
    assert passed == EXPECTED[comparison], list(zip(values, described, strict=True))
    for d in described:
        assert d["status"] == "SUCCEEDED" or d.get("error") == "QualityGateNotMet", d
