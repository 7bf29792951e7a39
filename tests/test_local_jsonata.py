"""JSONata states in the emulator's Step Functions interpreter (sm_constructs.local.aws.stepfunctions_jsonata).

moto's in-process interpreter with the emulator's evaluator installed: each expected value is the
AWS docs' ("Transforming data with JSONata in Step Functions", "Intrinsic functions") or JSONata's.
"""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from asl_eval import run_states

from sm_constructs.local.aws import stepfunctions_jsonata


@pytest.fixture(scope="module", autouse=True)
def _installed():
    stepfunctions_jsonata.install()


def _jsonata(expression: str, execution_input: object = None) -> dict:
    states = {"Eval": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% " + expression + " %}", "End": True}}
    return run_states(states, "Eval", execution_input or {})


def _value(expression: str, execution_input: object = None) -> object:
    described = _jsonata(expression, execution_input)
    assert described["status"] == "SUCCEEDED", described
    return json.loads(described["output"])


def test_a_jsonata_state_reads_its_input_and_context_and_a_jsonpath_state_reads_its_output():
    states = {
        "Cost": {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Output": "{% $merge([$states.input, {'usd': $states.input.hourly * $states.input.seconds / 3600, "
            "'region': $split($states.context.Execution.Id, ':')[3], "
            "'ms': $toMillis('2026-12-07T08:00:00.250Z') - $toMillis('2026-12-07T08:00:00Z')}]) %}",
            "Next": "Read",
        },
        "Read": {"Type": "Pass", "Parameters": {"usd.$": "$.usd", "region.$": "$.region", "ms.$": "$.ms"}, "End": True},
    }
    described = run_states(states, "Cost", {"hourly": 0.23, "seconds": 90})
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"usd": 0.23 * 90 / 3600, "region": "us-east-1", "ms": 250}


def test_the_functions_step_functions_adds_follow_their_intrinsics():
    out = _value(
        "{'partition': $partition([1,2,3,4,5,6,7,8,9,10,11], 3), 'range': $range(0, 10, 2), "
        "'down': $range(5, 1, -2), 'hash': $hash('a', 'SHA-256'), 'md5': $hash('a', 'MD5'), "
        "'seeded': $random(7) = $random(7), 'random': $random(), 'uuid': $uuid(), 'parse': $parse('{\"a\": [1]}')}"
    )
    assert out["partition"] == [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11]]
    assert out["range"] == [0, 2, 4, 6, 8, 10] and out["down"] == [5, 3, 1]
    assert out["hash"] == hashlib.sha256(b"a").hexdigest() and out["md5"] == hashlib.md5(b"a").hexdigest()
    assert out["seeded"] is True and 0 <= out["random"] < 1
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", out["uuid"])
    assert out["parse"] == {"a": [1]}


@pytest.mark.parametrize(
    ("expression", "cause"),
    [
        ("$hash('a', 'SHA-2')", 'algorithm "SHA-2" is not one of MD5, SHA-1, SHA-256, SHA-384, SHA-512'),
        ("$partition([1, 2], 0)", "the chunk size must be a positive integer"),
        ("$range(0, 5000, 1)", "5001 elements; at most 1000"),
        ("$parse('{')", "$parse: not JSON"),
        ("$states.input.missing.field", "returned nothing (undefined)"),
        ("1 +", "failed"),
    ],
)
def test_a_failed_evaluation_is_a_query_evaluation_error(expression, cause):
    described = _jsonata(expression)
    assert described["status"] == "FAILED" and described["error"] == "States.QueryEvaluationError"
    assert cause in described["cause"]
