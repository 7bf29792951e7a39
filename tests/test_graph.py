"""MlPipeline(steps=[...]): the graph's order, parallelism and rules, and every step's guarantees,
asserted on the synthesized template and definition (README's graph pipeline, synthesized once)."""

from __future__ import annotations

import json

import pytest
from asl_eval import lineage_plan, run_states
from aws_cdk import Aws, Stack, Validations
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from aws_cdk.assertions import Match, Template
from graph_app import build
from sfn_requests import assert_all_requests_valid, state_machines
from support import add_nag_packs, cfn_lint, new_app, new_stack

from sm_constructs import (
    Condition,
    FailStep,
    InputField,
    Metric,
    MlDataBucket,
    MlPipeline,
    ProcessingDefinition,
    ProcessingInput,
    ProcessingOutput,
    SageMakerExecutionRole,
    Step,
)
from sm_constructs._validation import ConstructValidationError
from sm_constructs.diagram import to_mermaid
from sm_constructs.graph import merge_results
from sm_constructs.jobs._base import RETRYABLE_ERRORS
from sm_constructs.lineage import UNRECORDED_WHY
from sm_constructs.nag import SageMakerChecks

PARALLEL = "Parallel_PrepareA_PrepareB"


@pytest.fixture(scope="module")
def synthesized():
    app = new_app()
    stack = new_stack(app)
    data = MlDataBucket(stack, "Data")
    role = SageMakerExecutionRole(stack, "Exec")
    for prefix in ("raw/", "processed/", "models/", "evaluation/", "scores/"):
        data.grant_read_write(role, prefix)
    pipeline = build(stack, data.bucket, role, key=data.encryption_key)
    add_nag_packs(app)
    Validations.of(app).add_plugins(SageMakerChecks(app))
    app.synth()  # any unacknowledged finding of the four packs or SageMakerChecks fails here
    template = Template.from_stack(stack)
    (asl,) = state_machines(template.to_json()).values()
    return {"template": template, "asl": asl, "pipeline": pipeline}


@pytest.fixture(scope="module")
def asl(synthesized):
    return synthesized["asl"]


def _chain(states: dict, start: str) -> list[str]:
    """State names from ``start`` following Next (and a Choice's Default); the run's lineage at the
    end (sm_constructs.lineage, tested with the reference app) is left out."""
    names, name = [], start
    while name:
        if "Lineage" not in name:
            names.append(name)
        state = states[name]
        name = state.get("Next") or state.get("Default")
    return names


def _top(asl: dict) -> list[str]:
    """The top-level states after input handling (a pipeline without a resumable step has no Resume)."""
    handling = {"LoadDefaults", "ApplyDefaults", "ValidateInput", "InputValid", "Resume"}
    return [n for n in _chain(asl["States"], asl["StartAt"]) if n not in handling]


# ---- order and parallelism -----------------------------------------------------------------------
def test_candidates_run_side_by_side_then_the_condition(asl):
    s = asl["States"]
    top = _top(asl)
    assert top[:4] == [PARALLEL, "PickBetterReport1", "PickBetterReport2", "PickBetter"]
    branches = s[PARALLEL]["Branches"]
    assert len(branches) == 2
    for name, branch in zip("AB", branches, strict=True):
        ran = _chain(branch["States"], branch["StartAt"])
        jobs = [n for n in ran if n in (f"Prepare{name}", f"Train{name}", f"Evaluate{name}")]
        # each job sits behind its cache lookup: the chain passes the cache states and the hit/miss choice
        assert ran[:2] == [f"ResumeBranch_Prepare{name}", f"Prepare{name}CacheKey"]
        assert f"Train{name}CacheKey" in ran and f"Evaluate{name}CacheKey" in ran
        assert set(jobs) <= {f"Prepare{name}", f"Train{name}", f"Evaluate{name}"}
        assert ran.index(f"Train{name}CacheKey") < ran.index(f"Evaluate{name}CacheKey")


def test_the_condition_picks_a_branch_and_each_branch_registers_then_releases(asl):
    s = asl["States"]
    choice = s["PickBetter"]
    missing, better = choice["Choices"]
    assert missing["Next"] == "PickBetterMetricMissing"
    assert better == {
        "Variable": "$.steps.PickBetterReport1.report.metrics.auc",
        "NumericGreaterThanEqualsPath": "$.steps.PickBetterReport2.report.metrics.auc",
        "Next": "RegisterANewest",
    }
    assert _chain(s, "RegisterANewest") == [
        "RegisterANewest",
        "RegisterAHasVersions",
        "RegisterA",
        "ModelA",
        "ScoreA",
        "PickBetterDone",
        "PipelineSucceeded",
    ]
    assert choice["Default"] == "RegisterBNewest"
    assert _chain(s, "RegisterB")[:4] == ["RegisterB", "ModelB", "ScoreB", "PickBetterDone"]


def test_the_lineage_records_the_steps_of_the_branch_that_ran(asl):
    """The lineage plan (a JSONata state, evaluated here as the emulator does) lists the steps of both
    branches and keeps those whose results the run has: B's branch ran, A's did not."""
    arn = "arn:aws:sagemaker:us-east-1:1"
    ran = {
        f"{kind}{c}": {"ProcessingJobArn": f"{arn}:processing-job/{kind}-{c}", "Outputs": []}
        for kind in ("Prepare", "Evaluate")
        for c in "AB"
    }
    ran |= {f"Train{c}": {"TrainingJobArn": f"{arn}:training-job/t-{c}", "ModelArtifacts": f"s3://b/{c}"} for c in "AB"}
    ran["RegisterB"] = {"ModelPackageArn": f"{arn}:model-package/graph-candidates/1"}
    ran["ScoreB"] = {"TransformJobArn": f"{arn}:transform-job/score-b", "OutputPath": "s3://b/scores/"}
    state = {"lineage": {"run": "r"}, "input": {"inputDataUri": "s3://b/raw/"}, "steps": ran}
    output = asl["States"]["LineagePlan"]["Output"]
    plan = lineage_plan(asl, state)
    names = [a["name"] for a in plan["actions"]]
    assert {"r-registerb", "r-scoreb"} <= set(names) and not {"r-registera", "r-scorea"} & set(names)
    assert len(names) == 8 and "RegisterA" in output and "ScoreA" in output
    assert "unrecorded" not in plan["outcome"]  # only a run that failed at a Parallel state has that list

    # a job that failed inside a Parallel branch: the branch's cause names it ("<id> failed: <cause>")
    cause = json.dumps({"TrainingJobArn": f"{arn}:training-job/t-a", "TrainingJobStatus": "Failed"})
    failed = {**state, "steps": {}, "error": {"Error": "States.TaskFailed", "Cause": f"TrainA failed: {cause}"}}
    failed["error"]["Step"] = PARALLEL
    plan = lineage_plan(asl, failed)
    assert [(a["name"], a["status"], a["source"]) for a in plan["actions"]] == [
        ("r-traina", "Failed", f"{arn}:training-job/t-a")
    ]
    # the Parallel state's other steps, which may have run, are not in the state: the outcome (the
    # manifest's) names them and says why
    assert plan["outcome"]["unrecorded"] == {
        "steps": ["PrepareA", "TrainA", "EvaluateA", "PrepareB", "TrainB", "EvaluateB"],
        "why": UNRECORDED_WHY,
    }


def test_a_model_is_registered_only_when_its_artifact_is_new(asl):
    s = asl["States"]
    newest = s["RegisterANewest"]
    assert newest["Resource"].endswith(":states:::aws-sdk:sagemaker:listModelPackages")
    assert newest["Parameters"] == {
        "ModelPackageGroupName": "graph-candidates",
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": 1,
    }
    assert s["RegisterAHasVersions"]["Choices"][0]["Next"] == "RegisterANewestArtifact"
    same = s["RegisterAIsNewModel"]["Choices"][0]
    assert {"Variable": "$.cache.RegisterA.artifacts[0]", "StringEqualsPath": "$.steps.TrainA.ModelArtifacts"} in same[
        "And"
    ]
    assert same["Next"] == "RegisterAReused" and s["RegisterAIsNewModel"]["Default"] == "RegisterA"
    # the reused version is this run's result, at the path later steps read
    assert s["RegisterAReused"]["Parameters"] == {"ModelPackageArn.$": "$.cache.RegisterA.arn"}
    assert s["RegisterAReused"]["ResultPath"] == "$.steps.RegisterA" and s["RegisterAReused"]["Next"] == "ModelA"


def test_parallel_merges_every_branch_result_back_into_steps(asl):
    par = asl["States"][PARALLEL]
    assert par["ResultPath"] == "$" and par["ResultSelector"] == merge_results(2, ["steps", "cache"])
    # run the same ResultSelector in moto's interpreter over two branches that each add a step and a cache entry
    branch = lambda n: {  # noqa: E731
        "StartAt": n,
        "States": {
            n: {
                "Type": "Pass",
                "Parameters": {
                    "input.$": "$.input",
                    "steps.$": f"States.JsonMerge($.steps, States.StringToJson('{{\"{n}\": 1}}'), false)",
                    "cache.$": "$.cache",
                },
                "End": True,
            }
        },
    }
    states = {
        "P": {
            **{k: par[k] for k in ("Type", "ResultSelector", "ResultPath")},
            "Branches": [branch("A"), branch("B")],
            "End": True,
        }
    }
    described = run_states(states, "P", {"input": {"x": 1}, "steps": {"Before": 0}, "cache": {}})
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert json.loads(described["output"]) == {"input": {"x": 1}, "steps": {"Before": 0, "A": 1, "B": 1}, "cache": {}}


# ---- guarantees ------------------------------------------------------------------------------------
def _all_states(asl: dict) -> dict[str, dict]:
    found = {}
    for name, state in asl["States"].items():
        found[name] = state
        for branch in state.get("Branches", []):
            found.update(_all_states(branch))
    return found


def test_every_job_retries_and_a_failure_names_its_step(asl):
    s = asl["States"]
    everything = _all_states(asl)
    jobs = [f"{k}{n}" for n in "AB" for k in ("Prepare", "Train", "Evaluate", "Register", "Model", "Score")]
    for job in jobs:
        state = everything[job]
        retried = {e for r in state["Retry"] for e in r["ErrorEquals"]}
        assert set(RETRYABLE_ERRORS) <= retried, job
        (catch,) = state["Catch"]
        assert catch["Next"] == f"{job}Failed", job
    # inside a Parallel branch the step's failure ends the branch, naming the step in the cause ...
    inner = s[PARALLEL]["Branches"][0]["States"]["TrainAFailed"]
    assert inner == {
        "Type": "Fail",
        "ErrorPath": "$.error.Error",
        "CausePath": "States.Format('TrainA failed: {}', $.error.Cause)",
    }
    # ... and the Parallel state's catch notifies; at the top level the step's own Pass names it, then
    # the failed run's lineage is recorded (sm_constructs.lineage) before the notification
    assert s[PARALLEL]["Catch"][0]["Next"] == f"{PARALLEL}Failed"
    for step in (PARALLEL, "RegisterA", "PickBetter"):
        assert s[f"{step}Failed"]["Parameters"]["Step"] == step
        assert s[f"{step}Failed"]["Next"] == "LineageNames"
    assert s["LineageRecorded"]["Choices"][-1] == {"Variable": "$.error", "IsPresent": True, "Next": "NotifyFailure"}
    assert s["PickBetterReport1"]["Catch"][0]["Next"] == "PickBetterFailed"


def test_job_names_are_unique_per_run_and_requests_pass_the_api_model(synthesized):
    requests = assert_all_requests_valid(synthesized["template"].to_json(), expect_at_least=10)
    assert {r.operation.name for r in requests} >= {"CreateProcessingJob", "CreateTrainingJob", "CreateTransformJob"}
    everything = _all_states(synthesized["asl"])
    for job in ("TrainA", "TrainB", "ModelA", "ScoreB"):
        params = everything[job]["Parameters"]
        name = next(v for k, v in params.items() if k.endswith("Name.$"))
        assert "States.UUID()" in name or "States.Format" in name, (job, name)


def test_least_privilege_iam_and_cfn_lint(synthesized):
    template: Template = synthesized["template"]
    # each report read is scoped to the evaluation/ prefix; each job kind to its own name prefixes
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "s3:GetObject",
                                "Resource": Match.object_like(
                                    {
                                        "Fn::Join": Match.array_with(
                                            [Match.array_with([Match.string_like_regexp("evaluation/\\*")])]
                                        )
                                    }
                                ),
                            }
                        )
                    ]
                )
            }
        },
    )
    policies = json.dumps(template.find_resources("AWS::IAM::ManagedPolicy"))
    for prefix in ("graph-prepare-a", "graph-train-b", "graph-evaluate-a", "graph-model-b", "graph-score-a"):
        assert f"/{prefix}-*" in policies, prefix
    assert '"iam:PassedToService": "sagemaker.amazonaws.com"' in policies
    assert cfn_lint(template.to_json()) == []


def test_inputs_are_validated_at_run_time(asl):
    s = asl["States"]
    assert s["ValidateInput"]["Choices"][0]["Next"] == "InvalidInput_inputDataUri"


def test_the_diagram_draws_the_parallel_branches_and_the_condition(asl):
    mermaid = to_mermaid(asl)
    assert f'subgraph {PARALLEL}_sub["{PARALLEL} (Parallel)"]' in mermaid
    assert "PickBetter -->|when| RegisterA" in mermaid and "PickBetter -->|otherwise| RegisterB" in mermaid


# ---- the rules of the graph (constructs only, no synth) -------------------------------------------
@pytest.fixture
def parts(tmp_path):
    script = tmp_path / "job.py"
    script.write_text("print('job')\n")
    stack = new_stack()
    data = MlDataBucket(stack, "Data")
    role = SageMakerExecutionRole(stack, "Exec")

    def job(id: str, source: str | None = None) -> ProcessingDefinition:
        return ProcessingDefinition(
            stack,
            id,
            role=role,
            code=script,
            inputs=[ProcessingInput("data", source or data.s3_uri("raw/"))],
            outputs=[
                ProcessingOutput(
                    "out", sfn.JsonPath.format(f"s3://{{}}/{id}/{{}}/", data.bucket_name, sfn.JsonPath.execution_name)
                )
            ],
            name_prefix=id.lower(),
        )

    return stack, job


def _error(make) -> str:
    with pytest.raises(ConstructValidationError) as caught:
        make()
    return str(caught.value)


def test_a_cycle_fails_naming_the_steps(parts):
    stack, job = parts
    a, b = job("A"), job("B")
    message = _error(lambda: MlPipeline(stack, "P", steps=[Step(a, depends_on=[b]), Step(b, depends_on=[a])]))
    assert "A -> B -> A" in message or "B -> A -> B" in message
    assert "cycle" in message


def test_a_read_of_a_step_not_in_the_pipeline_is_dangling(parts):
    stack, job = parts
    a = job("A")
    b = job("B", source=a.output_uri("out"))
    message = _error(lambda: MlPipeline(stack, "P", steps=[b]))
    assert "steps[0]" in message and "$.steps.A" in message and "dangling" in message
    message = _error(lambda: MlPipeline(stack, "P2", steps=[Step(b, depends_on=[job("C")]), a]))
    assert "depends on C" in message


def test_a_fail_step_s_message_is_text_whatever_it_holds(parts):
    """A FailStep's message is the run's cause as written: one that starts with ``$.``, holds an intrinsic's
    text or a CDK token (the account, resolved at deploy time) is never read as a path, whether the run
    records its lineage first (at the top level: a Pass keeps the error, its ``Result`` literal) or the
    state ends a Parallel branch (a Fail: ``Cause``, never ``CausePath``). Run in moto's ASL interpreter,
    the token as CloudFormation resolves it."""
    stack, job = parts
    message = f"$.metrics.auc stayed low; States.Format('{{}}') and {{braces}} are text; ask {Aws.ACCOUNT_ID}"
    text = message.replace(Aws.ACCOUNT_ID, "123456789012")
    first = job("First")
    # Halt depends on nothing: it runs beside Noted, in a Parallel branch; Stop is at the top level
    then = [sfn.Pass(stack, "Noted"), FailStep("Halt", message)]
    gate = Condition("Gate", when=Metric.result(first, "Score") >= 1, then=then, otherwise=[FailStep("Stop", message)])
    pipeline = MlPipeline(stack, "P", steps=[first, gate], alarms=False)

    def rendered(id):
        state = Stack.of(stack).resolve(pipeline.node.find_child(id).to_state_json())
        return json.loads(json.dumps(state).replace('{"Ref": "AWS::AccountId"}', '"123456789012"'), object_hook=_join)

    stop = rendered("Stop")
    assert stop["Result"] == {"Error": "PipelineStopped", "Cause": text, "Step": "Stop", "Rejected": True}
    assert "Parameters" not in stop and stop["Next"] == "LineageNames"
    part = {"Stop": {**stop, "Next": "Done"}, "Done": {"Type": "Succeed"}}
    assert json.loads(run_states(part, "Stop", {"steps": {}})["output"])["error"]["Cause"] == text
    halt = rendered("Halt")
    assert halt == {"Type": "Fail", "Error": "PipelineStopped", "Cause": text}
    described = run_states({"Halt": halt}, "Halt", {"metrics": {"auc": 0.5}})
    assert (described["error"], described["cause"]) == ("PipelineStopped", text)


def _join(value: dict) -> object:
    """``Fn::Join`` of strings, as CloudFormation resolves it."""
    if set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(parts)
    return value


def test_steps_that_can_never_run_are_unreachable(parts):
    stack, job = parts
    a, b = job("A"), job("B")
    stop = FailStep("Stop", "no good model")
    message = _error(lambda: MlPipeline(stack, "P", steps=[a, stop, Step(b, depends_on=[stop])]))
    assert "B" in message and "Stop" in message and "unreachable" in message
    c = job("C", source=b.output_uri("out"))
    gate = Condition("Gate", when=Metric.result(a, "Score") >= 1, then=[b])
    message = _error(lambda: MlPipeline(stack, "P2", steps=[a, gate, c]))
    assert "reads B" in message and "unreachable" in message


def test_independent_steps_run_in_parallel_groups_of_at_most_max_concurrency(parts):
    stack, job = parts
    jobs = [job(f"J{i}") for i in range(5)]
    pipeline = MlPipeline(stack, "P", steps=jobs, max_concurrency=2, alarms=False)
    (asl,) = state_machines(Template.from_stack(stack).to_json()).values()
    top = _top(asl)
    assert top == ["Parallel_J0_J1", "Parallel_J2_J3", "J4", "PipelineSucceeded"]
    assert [n.id for n in pipeline.graph.order()] == [f"J{i}" for i in range(5)]
    assert _error(lambda: MlPipeline(stack, "Q", steps=jobs, max_concurrency=11))  # intrinsics nest at most 10 deep


def test_steps_and_stage_arguments_do_not_mix_and_inputs_must_be_declared(parts):
    stack, job = parts
    a = job("A")
    assert "give the steps as a graph" in _error(lambda: MlPipeline(stack, "P", steps=[a], training=job("T")))
    b = job("B", source=sfn.JsonPath.string_at("$.input.rawUri"))
    message = _error(lambda: MlPipeline(stack, "P2", steps=[b]))
    assert "$.input.rawUri" in message and "InputField('rawUri'" in message
    MlPipeline(stack, "P3", steps=[b], inputs=[InputField("rawUri", kind="s3_uri")], alarms=False)


def test_a_custom_sdk_step_brings_its_iam_and_gets_retries_and_the_catch(parts):
    stack, job = parts
    latest = tasks.CallAwsService(
        stack,
        "Latest",
        service="sagemaker",
        action="listModelPackages",
        parameters={"ModelPackageGroupName": "churn-models", "MaxResults": 1},
        iam_resources=["*"],
        result_path="$.steps.Latest",
    )
    after = job("After", source=sfn.JsonPath.string_at("$.steps.Latest.ModelPackageSummaryList[0].ModelPackageArn"))
    pipeline = MlPipeline(stack, "P", steps=[after, latest], alarms=False)
    assert [n.id for n in pipeline.graph.order()] == ["Latest", "After"]
    template = Template.from_stack(stack)
    (asl,) = state_machines(template.to_json()).values()
    state = asl["States"]["Latest"]
    assert state["Retry"] and state["Catch"][0]["Next"] == "LatestFailed"
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Action": Match.array_with(["sagemaker:listModelPackages"])})]
                )
            }
        },
    )


def test_a_gate_condition_fails_naming_each_value_the_comparison_and_the_threshold(parts):
    stack, job = parts
    a = job("A")
    gate = Condition("Gate", when=Metric.result(a, "Score") >= Metric.input("threshold"))
    MlPipeline(stack, "P", steps=[a, gate], inputs=[InputField("threshold", kind="number", default=0.7)], alarms=False)
    (asl,) = state_machines(Template.from_stack(stack).to_json()).values()
    s = asl["States"]
    part = {n: s[n] for n in ("Gate", "GateMetricMissing", "GateNotMet", "GateMet", "GateDone")}
    part["GateDone"] = {"Type": "Succeed"}
    part["LineageNames"] = s["PipelineFailed"]  # the run's lineage (tested with the reference app), then its error
    low = run_states(part, "Gate", {"steps": {"A": {"Score": 0.61}}, "input": {"threshold": 0.7}})
    assert (low["status"], low["error"]) == ("FAILED", "ConditionNotMet")
    assert low["cause"] == (
        "Condition Gate not met: A Score >= input threshold does not hold (A Score is 0.61; input threshold is 0.7)"
    )
    missing = run_states(part, "Gate", {"steps": {"A": {}}, "input": {"threshold": 0.7}})
    assert (missing["status"], missing["error"]) == ("FAILED", "ConditionMetricMissing")
    high = run_states(part, "Gate", {"steps": {"A": {"Score": 0.9}}, "input": {"threshold": 0.7}})
    assert high["status"] == "SUCCEEDED"


def test_a_twelve_step_graph_stays_far_below_the_size_limits(parts):
    stack, job = parts
    steps = []
    for i in range(6):
        first = job(f"First{i}")
        steps += [first, job(f"Second{i}", source=first.output_uri("out"))]
    MlPipeline(stack, "P", steps=steps, alarms=False)
    template = Template.from_stack(stack).to_json()
    (machine,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    definition = len(json.dumps(machine["Properties"]["DefinitionString"]))
    whole = len(json.dumps(template))
    print(f"12-step graph: definition {definition} bytes, template {whole} bytes")
    # Step Functions: 1 MiB per definition; CloudFormation: 1 MB per template (from S3)
    assert definition < 1024 * 1024 // 10 and whole < 1_000_000 // 5


def test_watch_shows_the_running_state_of_each_parallel_branch():
    from sm_constructs.cli import _running

    def entered(kind, name):
        return {"type": f"{kind}StateEntered", "stateEnteredEventDetails": {"name": name}}

    def exited(kind, name):
        return {"type": f"{kind}StateExited", "stateExitedEventDetails": {"name": name}}

    events = [entered("Parallel", PARALLEL), entered("Task", "PrepareA"), entered("Task", "PrepareB")]
    assert _running(events) == "PrepareA, PrepareB"
    assert _running([*events, exited("Task", "PrepareA"), entered("Task", "TrainA")]) == "PrepareB, TrainA"


def test_spark_then_byo_then_training_tuning_model_and_serverless_beside_transform_is_one_graph(parts, tmp_path):
    """The issue's workflow, none of which fits the stage arguments, as one graph."""
    from pathlib import Path

    from sm_constructs import (
        ContainerImage,
        ContinuousRange,
        EndpointConfigDefinition,
        ModelDefinition,
        ServerlessConfig,
        TrainingChannel,
        TrainingDefinition,
        TransformDefinition,
        TuningDefinition,
    )

    stack, _job = parts
    role = stack.node.find_child("Exec")
    data = stack.node.find_child("Data")
    run = sfn.JsonPath.execution_name
    script = tmp_path / "sessionize.py"
    script.write_text("print('spark')\n")
    out = lambda name: sfn.JsonPath.format(f"s3://{{}}/{name}/{{}}/", data.bucket_name, run)  # noqa: E731
    spark = ProcessingDefinition(
        stack,
        "Sessionize",
        role=role,
        image=ContainerImage.spark_processing("3.5"),
        code=script,
        inputs=[ProcessingInput("raw", data.s3_uri("raw/"))],
        outputs=[ProcessingOutput("sessions", out("sessions"))],
        name_prefix="sessionize",
    )
    container = Path(__file__).resolve().parents[1] / "examples" / "byo-serverless" / "container"
    featurize = ProcessingDefinition(
        stack,
        "Featurize",
        role=role,
        image=ContainerImage.from_asset(str(container)),
        entrypoint=["python3", "/opt/program/train"],
        inputs=[ProcessingInput("sessions", spark.output_uri("sessions"))],
        outputs=[ProcessingOutput("features", out("features"))],
        name_prefix="featurize",
    )
    train = TrainingDefinition(
        stack,
        "Train",
        role=role,
        image=ContainerImage.xgboost("1.7-1"),
        output_path=out("models"),
        channels=[TrainingChannel("train", featurize.output_uri("features"), content_type="text/csv")],
        hyperparameters={"objective": "binary:logistic", "num_round": "10"},
        name_prefix="spot-train",
    )
    tune = TuningDefinition(
        stack,
        "Tune",
        training=train,
        objective_metric="train:logloss",
        objective_type="Minimize",
        ranges=[ContinuousRange("eta", 0.05, 0.5)],
        max_training_jobs=4,
        max_parallel_jobs=2,
        name_prefix="tune",
    )
    model = ModelDefinition(stack, "Model", role=role, training=tune, name_prefix="best-model")
    serverless = EndpointConfigDefinition(
        stack, "Serverless", model=model, serverless=ServerlessConfig(memory_size_mb=2048), name_prefix="serverless"
    )
    score = TransformDefinition(
        stack,
        "Score",
        model=model,
        input_uri=featurize.output_uri("features"),
        output_path=out("scores"),
        name_prefix="score",
    )
    pipeline = MlPipeline(stack, "P", steps=[spark, featurize, train, tune, model, serverless, score], alarms=False)
    (asl,) = state_machines(Template.from_stack(stack).to_json()).values()
    # the spot training and the tuning job both read the features and nothing of each other: they run side by
    # side; the endpoint config and the batch transform both read the model: side by side too
    assert [n.id for n in pipeline.graph.order()][:2] == ["Sessionize", "Featurize"]
    assert _top(asl) == ["Sessionize", "Featurize", "Parallel_Train_Tune", "PipelineSucceeded"]
    train_branch, tune_branch = asl["States"]["Parallel_Train_Tune"]["Branches"]
    assert _chain(train_branch["States"], train_branch["StartAt"]) == ["ResumeBranch_Train", "Train"]
    assert _chain(tune_branch["States"], tune_branch["StartAt"]) == [
        "ResumeBranch_Tune",
        "Tune",
        "Model",
        "Parallel_Serverless_Score",
    ]
    # a re-run from a step in a branch starts at its Parallel state, whose branches skip to it (or skip)
    resume = {c["And"][1]["StringEquals"]: c["Next"] for c in asl["States"]["Resume"]["Choices"]}
    assert list(resume) == ["Sessionize", "Featurize", "Train", "Tune", "Model", "Serverless", "Score"]
    assert asl["States"]["ResumeAtScore"]["Next"] == "Parallel_Train_Tune"
    train_resume = train_branch["States"]["ResumeBranch_Train"]
    assert [(c["And"][1], c["Next"]) for c in train_resume["Choices"]] == [
        ({"Variable": "$.input.resume.from", "StringEquals": "Train"}, "Train"),
        (
            {
                "Or": [
                    {"Variable": "$.input.resume.from", "StringEquals": s}
                    for s in ("Tune", "Model", "Serverless", "Score")
                ]
            },
            "SkipBranch_Train",
        ),
    ]
    assert train_resume["Default"] == "Train"
    tune_resume = tune_branch["States"]["ResumeBranch_Tune"]
    assert [c["Next"] for c in tune_resume["Choices"]] == ["Tune", "Model", "Parallel_Serverless_Score"]


def test_the_stage_arguments_keep_their_release_state(parts):
    """deployment ‖ batch_transform is still the Parallel state ``Release`` (its construct id is kept)."""
    from sm_constructs import (
        ContainerImage,
        EndpointConfigDefinition,
        ModelDefinition,
        ServerlessConfig,
        TransformDefinition,
    )

    stack, _ = parts
    role = stack.node.find_child("Exec")
    data = stack.node.find_child("Data")
    model = ModelDefinition(
        stack, "Model", role=role, image=ContainerImage.xgboost("1.7-1"), model_data_url=data.s3_uri("m/model.tar.gz")
    )
    config = EndpointConfigDefinition(stack, "Config", model=model, serverless=ServerlessConfig(memory_size_mb=2048))
    score = TransformDefinition(
        stack, "Score", model=model, input_uri=data.s3_uri("batch/"), output_path=data.s3_uri("scores/")
    )
    MlPipeline(stack, "P", model=model, deployment=[config], batch_transform=score, alarms=False)
    (asl,) = state_machines(Template.from_stack(stack).to_json()).values()
    assert _top(asl) == ["Model", "Release", "PipelineSucceeded"]
    assert [b["StartAt"] for b in asl["States"]["Release"]["Branches"]] == ["Config", "Score"]


def test_a_quality_gate_among_the_steps_declares_its_threshold(parts):
    from sm_constructs import QualityGate

    stack, job = parts
    a = job("A")
    data = stack.node.find_child("Data")
    gate = QualityGate(bucket=data.bucket, key="evaluation/report.json", metric="metrics.auc", threshold=0.8)
    pipeline = MlPipeline(stack, "P", steps=[a, Step(gate, depends_on=[a])], alarms=False)
    assert [(f.name, f.default) for f in pipeline.inputs] == [("threshold", 0.8)]
    assert [n.id for n in pipeline.graph.order()] == ["A", "QualityGate"]


def test_a_quality_gate_among_the_steps_gets_the_checks_of_quality_gate(parts):
    from sm_constructs import QualityGate

    stack, job = parts
    a = job("A")
    data = stack.node.find_child("Data")
    bad = QualityGate(
        bucket=data.bucket,
        key=sfn.JsonPath.string_at("$.input.reportKey"),
        metric="metrics..auc",
        threshold=0.8,
        comparison="=>",  # type: ignore[arg-type]
    )
    message = _error(lambda: MlPipeline(stack, "P", steps=[a, bad], alarms=False))
    assert "steps[1].metric" in message and "metrics..auc" in message and "dotted path" in message
    assert "steps[1].comparison" in message and "=>" in message
    assert "steps[1].key_prefix" in message and "no fixed prefix" in message
    # nothing orders it after the step writing its report
    assert "steps[1]" in message and "Step(gate, depends_on=[<that step>])" in message
    # the same gate as the stage argument: the same messages, named quality_gate
    slot = _error(lambda: MlPipeline(stack, "Q", evaluation=a, quality_gate=bad, alarms=False))
    assert "quality_gate.metric" in slot and "quality_gate.comparison" in slot and "quality_gate.key_prefix" in slot


def test_every_step_of_the_graph_has_the_guarantees(synthesized):
    from graph_guarantees import assert_every_step_guaranteed

    jobs = {
        f"{kind}{n}": f"graph-{prefix}-{n.lower()}"
        for n in "AB"
        for kind, prefix in (("Prepare", "prepare"), ("Train", "train"), ("Evaluate", "evaluate"))
    }
    jobs |= {f"Model{n}": f"graph-model-{n.lower()}" for n in "AB"} | {
        f"Score{n}": f"graph-score-{n.lower()}" for n in "AB"
    }
    assert_every_step_guaranteed(synthesized["template"].to_json(), jobs, inputs=["inputDataUri"])
