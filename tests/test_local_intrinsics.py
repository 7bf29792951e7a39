"""The emulator's reading of intrinsic functions' string literals (stepfunctions_intrinsics), run in moto's
in-process interpreter with the plug-in installed: templates as CDK renders them (``sfn.JsonPath.format``)."""

from __future__ import annotations

import json

import pytest
from asl_eval import run_each
from aws_cdk import aws_stepfunctions as sfn

from sm_constructs.graph import format_text
from sm_constructs.local.aws import stepfunctions_intrinsics


@pytest.fixture(scope="module", autouse=True)
def _installed():
    stepfunctions_intrinsics.install()


def _runs(*fields: dict) -> list[dict]:
    """Each field (rendered by CDK) as the Parameters of a one-state machine, run with ``{"v": "V"}``."""
    states = [{"P": {"Type": "Pass", "Parameters": sfn.FieldUtils.render_object(f), "End": True}} for f in fields]
    out = []
    for part in states:
        (described,) = run_each(part, "P", [{"v": "V", "n": 0.61}])
        out.append(described)
    return out


def test_escaped_braces_quotes_and_backslashes_stand_for_themselves():
    value = sfn.JsonPath.string_at("$.v")
    runs = _runs(
        {"x": sfn.JsonPath.format(format_text("{b} it's a\\b ") + "{}", value)},
        {"x": sfn.JsonPath.format("{}|{}", "it's {x} a\\b", value)},
        {
            "x": sfn.JsonPath.format(
                format_text("C scores['auc{val}'] is ") + "{}",
                sfn.JsonPath.json_to_string(sfn.JsonPath.number_at("$.n")),
            )
        },
    )
    assert [json.loads(r["output"])["x"] for r in runs] == [
        "{b} it's a\\b V",
        "it's {x} a\\b|V",
        "C scores['auc{val}'] is 0.61",
    ]


def test_a_bare_brace_in_a_template_fails_the_run():
    (run,) = _runs({"x": sfn.JsonPath.format("a { b {}", sfn.JsonPath.string_at("$.v"))})
    assert run["status"] == "FAILED" and "Invalid template in States.Format" in run["cause"]
