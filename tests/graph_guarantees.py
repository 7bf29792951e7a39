"""The guarantees every job step of an ``MlPipeline`` graph has, whatever its kind or place, asserted on
the synthesized template: README's graph pipeline (tests/test_graph.py) and examples/any-shape
(tests/test_examples.py) both go through :func:`assert_every_step_guaranteed`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sfn_requests import assert_all_requests_valid, iter_states, state_machines

from sm_constructs.diagram import to_mermaid
from sm_constructs.jobs._base import RETRYABLE_ERRORS


def assert_every_step_guaranteed(
    template: dict[str, Any], jobs: dict[str, str], *, inputs: Sequence[str] = ()
) -> dict[str, Any]:
    """Each of ``jobs`` (state name → its name prefix) retries throttling, capacity and quota errors,
    catches into ``<step>Failed`` naming the step (and the notification), renders a name unique per
    run under its prefix, and is allowed by IAM only on its own prefix; every ``Parallel`` state
    catches into the notification too and is drawn by the diagram; each of ``inputs`` is checked
    before any step runs; every request fits botocore's model. Returns the definition."""
    (asl,) = state_machines(template).values()
    states = dict(iter_states(asl))
    top = asl["States"]
    checked = [choice["Next"] for choice in top["ValidateInput"]["Choices"]] if inputs else []
    assert checked == [f"InvalidInput_{name}" for name in inputs], checked
    for name in inputs:  # each ends the run with InvalidInput (with lineage: once the run's lineage is recorded)
        refused = top[f"InvalidInput_{name}"]
        if refused["Type"] == "Fail":
            assert refused["Error"] == "InvalidInput", refused
        else:
            ended = (refused["Type"], refused["Next"], refused["Parameters"]["Error"])
            assert ended == ("Pass", "LineageNames", "InvalidInput"), refused
    policies = json.dumps(
        [r for r in template["Resources"].values() if r["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")]
    )
    for job, prefix in jobs.items():
        state = states[job]
        retried = {error for retry in state["Retry"] for error in retry["ErrorEquals"]}
        assert set(RETRYABLE_ERRORS) <= retried, f"{job} does not retry {set(RETRYABLE_ERRORS) - retried}"
        (catch,) = state["Catch"]
        assert catch["Next"] == f"{job}Failed", job
        failed = states[f"{job}Failed"]
        if job in top:  # names the step, records the failed run's lineage, then notifies
            assert failed["Parameters"]["Step"] == job and failed["Next"] == "LineageNames", job
            assert top["LineageRecorded"]["Choices"][-1] == {
                "Variable": "$.error",
                "IsPresent": True,
                "Next": "NotifyFailure",
            }
        else:  # ends its branch naming the step; the Parallel state's catch notifies
            assert failed["CausePath"] == f"States.Format('{job} failed: {{}}', $.error.Cause)", job
        name = next(v for k, v in state["Parameters"].items() if k.endswith("Name.$"))
        # <prefix>-<run suffix>: the suffix is new per run (a UUID's part)
        assert name.startswith("States.Format(") and f"'{prefix}" in name and "States.UUID()" in name, (job, name)
        assert f"/{prefix}-*" in policies or f"/{prefix}*" in policies, f"{job}: no IAM scoped to {prefix}"
    parallels = [name for name, state in iter_states(asl) if state["Type"] == "Parallel"]
    mermaid = to_mermaid(asl)
    for name in parallels:
        if name in top:  # its catch names the step it runs (an endpoint step's Parallel is ``<step>Endpoint``)
            (catch,) = top[name]["Catch"]
            step = top[catch["Next"]]["Parameters"]["Step"]
            assert name.startswith(step), (name, catch["Next"], step)
        assert f'_sub["{name} (Parallel)"]' in mermaid, name  # a nested one's id is prefixed by its branch
    assert '"iam:PassedToService": "sagemaker.amazonaws.com"' in policies
    assert_all_requests_valid(template, expect_at_least=len(jobs) // 2)
    return asl
