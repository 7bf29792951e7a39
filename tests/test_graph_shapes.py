"""Unusual but legal graph shapes of ``MlPipeline(steps=[...])``: each synthesizes (every SageMaker
request valid against botocore's model) and runs as its graph says in moto's ASL interpreter
(job tasks stood in for by Pass states), or fails at synth with a clear error. One app for the module."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asl_eval import run_each, run_states
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template
from sfn_requests import assert_all_requests_valid, state_machines
from support import new_app, new_stack

from sm_constructs import (
    Condition,
    FailStep,
    Metric,
    MlDataBucket,
    MlPipeline,
    ProcessingDefinition,
    ProcessingInput,
    ProcessingOutput,
    SageMakerExecutionRole,
    Step,
)
from sm_constructs._validation import ConstructValidationError, Problems
from sm_constructs.graph import format_text
from sm_constructs.manifest import RunManifest


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    script = tmp_path_factory.mktemp("shapes") / "job.py"
    script.write_text("print('job')\n")
    app = new_app()
    stack = new_stack(app)
    data = MlDataBucket(stack, "Data")
    role = SageMakerExecutionRole(stack, "Exec")
    data.grant_read_write(role, "raw/")

    def job(id: str) -> ProcessingDefinition:
        out = sfn.JsonPath.format(f"s3://{{}}/raw/{id}/{{}}/", data.bucket_name, sfn.JsonPath.execution_name)
        return ProcessingDefinition(
            stack,
            id,
            role=role,
            code=script,
            inputs=[ProcessingInput("data", data.s3_uri("raw/"))],
            outputs=[ProcessingOutput("out", out)],
            name_prefix=id.lower(),
        )

    pipelines: dict[str, MlPipeline] = {}
    # two independent jobs in each branch of a condition, and a condition nested in a branch
    a = job("A")
    inner = Condition("Inner", when=Metric.result(a, "Score") >= 2, then=[job("T1"), job("T2")])
    branches = Condition("Pick", when=Metric.result(a, "Score") >= 1, then=[inner], otherwise=[job("O1"), job("O2")])
    pipelines["Branches"] = MlPipeline(stack, "Branches", steps=[a, branches], alarms=False)
    # a FailStep that runs after a job, last: with and without the run's lineage
    b = job("B")
    pipelines["FailLast"] = MlPipeline(
        stack, "FailLast", steps=[b, Step(FailStep("Stop", "B ran: stop here"), depends_on=[b])], alarms=False
    )
    # without lineage, after a gate whose metric's path holds braces (text of the gate's cause)
    c = job("C")
    braces = Condition("Braces", when=Metric.result(c, "scores['auc{val}']") >= 0.5)
    halt = Step(FailStep("Halt", "C passed: stop here"), depends_on=[braces])
    pipelines["NoLineage"] = MlPipeline(stack, "NoLineage", steps=[c, braces, halt], lineage=False, alarms=False)
    template = Template.from_stack(stack).to_json()
    by_pipeline = {}
    for asl in state_machines(template).values():
        (name,) = [n for n in pipelines if asl["Comment"].endswith(f"/{n}")]
        by_pipeline[name] = asl
    return {"template": template, "asl": by_pipeline, "stack": stack, "job": job}


def _part(states: dict[str, Any], start: str, ends: dict[str, Any]) -> dict[str, Any]:
    """The states reachable from ``start``, up to ``ends`` (each replaced by the state given), every Task
    a Pass that writes ``{"ran": <state>}`` where the task writes its result (a job's result stands in),
    in Parallel branches too."""
    out: dict[str, Any] = {}
    todo = [start]
    while todo:
        name = todo.pop()
        if name in out:
            continue
        if name in ends:
            out[name] = ends[name]
            continue
        state = states[name]
        if state["Type"] == "Task":
            kept = {k: state[k] for k in ("Next", "End", "Catch") if k in state}
            state = {"Type": "Pass", "Result": {"ran": name}, "ResultPath": state.get("ResultPath", "$"), **kept}
            state.pop("Catch", None)
        elif state["Type"] == "Parallel":
            branches = [{**b, "States": _part(b["States"], b["StartAt"], {})} for b in state["Branches"]]
            state = {**state, "Branches": branches}
        out[name] = state
        todo += [state[k] for k in ("Next", "Default") if k in state]
        todo += [c["Next"] for c in state.get("Choices", []) + state.get("Catch", [])]
    return out


def _ran(output: dict[str, Any]) -> set[str]:
    return {k for k, v in output.get("steps", {}).items() if isinstance(v, dict) and "ran" in v}


# ---- a condition's branch of independent steps ------------------------------------------------------
def test_independent_steps_in_a_condition_s_branch_run_side_by_side(built):
    """``then=[T1, T2]`` (nested in another condition) and ``otherwise=[O1, O2]``: each pair runs in a
    Parallel state, whole whenever its branch is taken (a re-run starts at top-level steps only)."""
    s = built["asl"]["Branches"]["States"]
    assert s["Inner"]["Choices"][1]["Next"] == "Parallel_T1_T2"
    assert s["Pick"]["Default"] == "Parallel_O1_O2"
    for name in ("Parallel_T1_T2", "Parallel_O1_O2"):
        assert [b["StartAt"] for b in s[name]["Branches"]] == [name.split("_")[1], name.split("_")[2]]
    states = _part(s, "Pick", {"PickDone": {"Type": "Succeed"}, "LineageNames": s["PipelineFailed"]})
    runs = dict(enumerate(run_each(states, "Pick", [{"input": {}, "steps": {"A": {"Score": n}}} for n in (0, 1, 2)])))
    assert [runs[score]["status"] for score in (0, 2)] == ["SUCCEEDED", "SUCCEEDED"]
    assert _ran(json.loads(runs[0]["output"])) == {"O1", "O2"}
    assert _ran(json.loads(runs[2]["output"])) == {"T1", "T2"}
    assert (runs[1]["status"], runs[1]["error"]) == ("FAILED", "ConditionNotMet")  # Inner is a gate
    assert_all_requests_valid(built["template"], expect_at_least=9)


# ---- a FailStep after a step, last -----------------------------------------------------------------
def test_a_fail_step_after_a_step_ends_the_run_with_its_error(built):
    """With the run's lineage, the FailStep records the run first (its Pass keeps the error, the lineage
    ends the run with it); without, it is the Fail state itself. Either way the job runs first."""
    s = built["asl"]["FailLast"]["States"]
    assert s["B"]["Next"] == "Stop" and s["Stop"]["Next"] == "LineageNames"
    # the run's lineage (tested with the reference app), then its error
    states = _part(s, "B", {"LineageNames": s["PipelineFailed"]})
    run = run_states(states, "B", {"input": {}, "steps": {}})
    assert (run["status"], run["error"], run["cause"]) == ("FAILED", "PipelineStopped", "B ran: stop here")
    s = built["asl"]["NoLineage"]["States"]
    assert s["BracesDone"]["Next"] == "Halt" and s["Halt"]["Type"] == "Fail"
    run = run_states(_part(s, "BracesDone", {}), "BracesDone", {"input": {}, "steps": {}})
    assert (run["status"], run["error"], run["cause"]) == ("FAILED", "PipelineStopped", "C passed: stop here")


# ---- braces in the text of a cause --------------------------------------------------------------------
def test_braces_in_a_condition_s_text_are_escaped_in_its_cause(built):
    """A brace is a ``States.Format`` placeholder: the text's own are escaped (``\\{``), CDK's escaping of
    ``'`` and ``\\`` kept."""
    assert format_text("a {b} \\c it's") == "a \\{b\\} \\c it's"
    assert format_text("${Token[AWS.AccountId.4]} {") == "${Token[AWS.AccountId.4]} \\{"  # CDK's own braces
    # a backslash ending the manifest's key prefix would escape the execution name's placeholder after it
    problems = Problems.at("MlPipeline", built["stack"])
    RunManifest(built["stack"].node.find_child("Data"), key_prefix="runs\\").check(problems, "manifest")
    with pytest.raises(ConstructValidationError, match=r"manifest.key_prefix='runs\\\\' is invalid: the execution"):
        problems.raise_if_any()
    cause = built["asl"]["NoLineage"]["States"]["BracesNotMet"]["CausePath"]
    assert cause.startswith(
        "States.Format('Condition Braces not met: C scores[\\'auc\\{val\\}\\'] >= 0.5 does not hold "
        "(C scores[\\'auc\\{val\\}\\'] is {})', States.JsonToString("
    )


# ---- shapes that cannot run fail at synth, naming the step -----------------------------------------
@pytest.mark.parametrize(
    "terminal",
    [lambda stack: sfn.Succeed(stack, "Done"), lambda stack: sfn.Fail(stack, "Boom", error="E", cause="c")],
)
def test_a_custom_step_that_ends_the_run_fails_at_synth(built, terminal):
    stack, job = built["stack"], built["job"]
    first = job(f"First{len(stack.node.children)}")
    end = terminal(stack)
    for steps in (
        [first, Step(end, depends_on=[first])],
        [first, Condition("G", when=Metric.result(first, "S") >= 1, then=[end])],
    ):
        with pytest.raises(ConstructValidationError) as caught:
            MlPipeline(stack, "Bad", steps=steps, alarms=False)
        message = str(caught.value)
        assert f"='{end.state_id}' is invalid: ends the execution itself" in message and "FailStep" in message


def test_waiting_for_a_step_of_a_condition_s_branch_fails_naming_where_it_runs(built):
    """A step that waits for a step of another branch, or a condition that compares a step of its own
    branch, could never run: named as unreachable, with where that step runs (not as a dangling one)."""
    stack, job = built["stack"], built["job"]
    first, other, mine = job("Before"), job("Other"), job("Mine")
    then = [Step(job("Waits"), depends_on=[other])]
    gate = Condition("Split", when=Metric.result(first, "S") >= 1, then=then, otherwise=[other])
    with pytest.raises(ConstructValidationError) as caught:
        MlPipeline(stack, "Bad", steps=[first, gate], alarms=False)
    assert "steps[1].then[0]='Waits' is invalid: depends on Other, which runs only in a branch of a condition " in (
        str(caught.value)
    )
    assert "(steps[1].otherwise[0]), so Waits could never run" in str(caught.value)
    own = Condition("Own", when=Metric.result(mine, "S") >= 1, then=[mine])
    with pytest.raises(ConstructValidationError) as caught:
        MlPipeline(stack, "Bad", steps=[first, own], alarms=False)
    assert "steps[1]='Own' is invalid: depends on Mine, which runs in Own's own branch (steps[1].then[0])" in (
        str(caught.value)
    )
    assert "dangling" not in str(caught.value)
