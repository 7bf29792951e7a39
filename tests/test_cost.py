"""Cost per run: the worst case at synth (MlPipeline.worst_case_cost, max_cost_per_run) and from a
deployed definition (``sm-pipeline cost``), priced from the repository's price table.

The actual cost of a run (``sm-pipeline watch``'s summary) is tested in the emulator: test_cache_emulator.py;
the run manifest's (a JSONata state) here against it in moto's interpreter, and after a run of the reference
pipeline in test_local_e2e.py.
"""

from __future__ import annotations

import datetime
import itertools
import json

import boto3
import pytest
from asl_eval import run_states
from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from cache_harness import resolve
from moto import mock_aws
from sfn_requests import state_machines
from support import new_app, new_stack

from sm_constructs import (
    ClusterConfig,
    ContainerImage,
    InputField,
    MlDataBucket,
    MlPipeline,
    ProcessingDefinition,
    TrainingChannel,
    TrainingDefinition,
)
from sm_constructs._validation import ConstructValidationError
from sm_constructs.cli import main
from sm_constructs.cost import PriceTable, actual_cost, dollars, input_defaults, job_states, worst_case
from sm_constructs.local.aws import stepfunctions_jsonata
from sm_constructs.manifest import RunManifest

PRICES = PriceTable.load()


def _build(
    stack, *, max_cost_per_run: float | None = None, training_type: str = "ml.m5.xlarge", manifest: bool = False
) -> MlPipeline:
    role = iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::123456789012:role/sm-exec", mutable=False)
    prepare = ProcessingDefinition(
        stack,
        "Prepare",
        role=role,
        entrypoint=["python3", "-c", "pass"],
        cluster=ClusterConfig(instance_type=sfn.JsonPath.string_at("$.input.processingInstanceType")),
        max_runtime=Duration.hours(1),
    )
    train = TrainingDefinition(
        stack,
        "Train",
        role=role,
        image=ContainerImage.xgboost("1.7-1"),
        output_path="s3://data/models/",
        channels=[TrainingChannel("train", "s3://data/train/", content_type="text/csv")],
        hyperparameters={"objective": "binary:logistic", "num_round": "10"},
        cluster=ClusterConfig(instance_type=training_type, instance_count=2),
        max_runtime=Duration.hours(3),
    )
    return MlPipeline(
        stack,
        "Pipeline",
        preprocessing=[prepare],
        training=train,
        inputs=[InputField("processingInstanceType", kind="instance_type", default="ml.m5.large")],
        alarms=False,
        max_cost_per_run=max_cost_per_run,
        manifest=RunManifest(bucket=MlDataBucket(stack, "Data")) if manifest else None,
    )


@pytest.fixture(scope="module")
def built():
    app = new_app()
    stack = new_stack(app)
    pipeline = _build(stack, manifest=True)
    template = app.synth().get_stack_by_name(stack.stack_name).template
    (asl,) = state_machines(template).values()
    return {"pipeline": pipeline, "asl": asl, "template": template}


def _expected() -> tuple[float, float]:
    prepare = PRICES.hourly(None, "processing", "ml.m5.large") * 1 * 1  # 1 instance, 1 hour, the input's default
    train = PRICES.hourly(None, "training", "ml.m5.xlarge") * 2 * 3  # 2 instances, 3 hours
    return prepare, train


def test_the_worst_case_is_max_runtime_times_instances_times_the_price(built):
    costs = {c.step: c for c in built["pipeline"].worst_case_cost()}
    prepare, train = _expected()
    assert costs["Prepare"].usd == pytest.approx(prepare) and costs["Train"].usd == pytest.approx(train)
    assert costs["Prepare"].instance_type == "ml.m5.large"  # read from $.input, priced at the field's default
    assert costs["Train"].line() == (
        f"Train: {dollars(train)} = 2 × ml.m5.xlarge × 3.00 h (MaxRuntimeInSeconds) × "
        f"${PRICES.hourly(None, 'training', 'ml.m5.xlarge')}/h"
    )


def test_the_deployed_definition_prices_the_same(built):
    costs = worst_case(job_states(built["asl"]), input_defaults(built["asl"]), region="us-east-1")
    assert {c.step: round(c.usd, 6) for c in costs} == {
        c.step: round(c.usd, 6) for c in built["pipeline"].worst_case_cost()
    }


def test_a_budget_below_the_worst_case_fails_synth_naming_the_steps():
    prepare, train = _expected()
    with pytest.raises(ConstructValidationError) as raised:
        _build(new_stack(), max_cost_per_run=1.0)
    message = str(raised.value)
    assert "'Test/Pipeline': max_cost_per_run=1.0 is invalid" in message
    assert f"a run's worst case is {dollars(prepare + train)} (Train: {dollars(train)}" in message
    assert "Prepare: $" in message and "as of" in message
    _build(new_stack(), max_cost_per_run=round(prepare + train + 0.01, 2))  # within budget: synthesizes


def test_an_unpriced_instance_type_cannot_be_budgeted():
    with pytest.raises(ConstructValidationError, match=r"cannot be bounded: Train: not priced: no training price for"):
        _build(new_stack(), max_cost_per_run=100.0, training_type="ml.r5.large")


def test_sm_pipeline_cost_prints_the_worst_case_per_step(built, capsys, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    resources = {k: k for k in built["template"]["Resources"]}
    (machine,) = [r for r in built["template"]["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    definition = resolve(machine["Properties"]["DefinitionString"], built["template"], resources)
    with mock_aws():
        boto3.client("stepfunctions").create_state_machine(
            name="costed", definition=str(definition), roleArn="arn:aws:iam::123456789012:role/r"
        )
        assert main(["cost", "costed"]) == 0
    out = capsys.readouterr().out.splitlines()
    prepare, train = _expected()
    assert out[0].startswith(f"Prepare: {dollars(prepare)} = 1 × ml.m5.large × 1.00 h")
    assert out[1].startswith(f"Train: {dollars(train)} = 2 × ml.m5.xlarge × 3.00 h")
    assert out[2] == f"worst case per run: {dollars(prepare + train)} ({PRICES.describe()})"
    assert json.loads(json.dumps(PRICES.source))["as_of"] in out[2]


# ---- the actual cost in the run manifest -------------------------------------------------------
START = datetime.datetime(2026, 12, 7, 8, 0, 0, 250000, tzinfo=datetime.UTC)


def _described(prepare_type: str = "ml.m5.large") -> dict[str, dict]:
    """DescribeProcessingJob and DescribeTrainingJob of two Completed jobs (the fields the selectors read)."""
    prepare = {
        "ProcessingJobName": "prepare-1",
        "ProcessingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:processing-job/prepare-1",
        "ProcessingJobStatus": "Completed",
        "ProcessingResources": {"ClusterConfig": {"InstanceType": prepare_type, "InstanceCount": 1}},
        "ProcessingStartTime": START,
        "ProcessingEndTime": START + datetime.timedelta(seconds=754, milliseconds=500),
    }
    train = {
        "TrainingJobName": "train-1",
        "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/train-1",
        "TrainingJobStatus": "Completed",
        "ModelArtifacts": {"S3ModelArtifacts": "s3://data/models/train-1/output/model.tar.gz"},
        "AlgorithmSpecification": {"TrainingImage": "xgboost:1.7-1"},
        "FinalMetricDataList": [],
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 30},
        "BillableTimeInSeconds": 1801,
    }
    return {"Prepare": prepare, "Train": train}


def _as_step_functions_returns(value):
    """A ``.sync`` task's result: timestamps as epoch milliseconds."""
    if isinstance(value, dict):
        return {k: _as_step_functions_returns(v) for k, v in value.items()}
    if isinstance(value, datetime.datetime):
        return int(value.timestamp() * 1000)
    return value


class _SageMaker:
    def __init__(self, described):
        self.described = described

    def describe_processing_job(self, ProcessingJobName):
        return self.described["Prepare"]

    def describe_training_job(self, TrainingJobName):
        return self.described["Train"]


def _manifest_cost(asl, described, execution_input=None, reused=()):
    """The ManifestCost state of the pipeline in moto's interpreter, after each step's result was selected
    from ``described`` by the step's own ResultSelector (a cache hit's marked Reused, as its state marks it)."""
    stepfunctions_jsonata.install()
    states = {}
    for step in described:
        selector = dict(asl["States"][step]["ResultSelector"])
        if step in reused:
            selector = {**{k: v for k, v in selector.items() if k != "Billing"}, "Reused": True}
        states[f"Select{step}"] = {
            "Type": "Pass",
            "InputPath": f"$.described.{step}",
            "Parameters": selector,
            "ResultPath": f"$.steps.{step}",
        }
    names = list(states)
    for name, following in itertools.pairwise(names):
        states[name]["Next"] = following
    states[names[-1]]["Next"] = "ManifestCost"
    states["ManifestCost"] = {**{k: v for k, v in asl["States"]["ManifestCost"].items() if k != "Next"}, "End": True}
    payload = {"input": execution_input or {}, "described": _as_step_functions_returns(described)}
    ended = run_states(states, names[0], payload)
    assert ended["status"] == "SUCCEEDED", ended
    return json.loads(ended["output"])


def test_the_manifest_prices_each_job_as_actual_cost_does(built):
    asl = built["asl"]
    state = asl["States"]["ManifestCost"]
    assert state["QueryLanguage"] == "JSONata" and state["Next"] == "Manifest"
    assert asl["States"]["Manifest"]["Parameters"]["cost.$"] == "$.cost"
    described = _described()
    output = _manifest_cost(asl, described)
    cost = output["cost"]
    assert set(cost["steps"]) == {"Prepare", "Train"} and cost["region"] == "us-east-1"
    sagemaker = _SageMaker(described)
    for step, figure in cost["steps"].items():
        expected = actual_cost(sagemaker, step, output["steps"][step], region="us-east-1")
        assert expected is not None and expected.problem is None
        assert figure == {
            "use": expected.use,
            "instanceType": expected.instance_type,
            "instanceCount": expected.instance_count,
            "seconds": expected.seconds,
            "basis": expected.basis,
            "hourlyUsd": expected.hourly,
            "usd": pytest.approx(expected.usd, rel=1e-12),
            "priceSource": PRICES.describe(),
        }
    assert cost["steps"]["Train"]["seconds"] == 1801 and cost["steps"]["Prepare"]["seconds"] == 754.5
    assert cost["usd"] == pytest.approx(sum(c["usd"] for c in cost["steps"].values()))
    assert cost["prices"] == PRICES.describe()


def test_a_reused_job_costs_nothing_in_this_run(built):
    described = _described()
    hit = _manifest_cost(built["asl"], described, reused={"Prepare"})["cost"]
    assert hit["steps"]["Prepare"] == {"reused": True, "usd": 0} and hit["steps"]["Train"]["usd"] > 0
    # a selective re-run's earlier results (input.resume.steps) ran no job either
    resumed = _manifest_cost(
        built["asl"], described, execution_input={"resume": {"from": "Train", "steps": {"Prepare": {}}}}
    )
    assert resumed["cost"]["steps"]["Prepare"] == {"reused": True, "usd": 0}
    assert resumed["cost"]["usd"] == resumed["cost"]["steps"]["Train"]["usd"]


def test_an_instance_type_the_table_lacks_is_not_priced_saying_why(built):
    described = _described(prepare_type="ml.r5.large")
    cost = _manifest_cost(built["asl"], described)["cost"]
    expected = actual_cost(_SageMaker(described), "Prepare", {"ProcessingJobName": "prepare-1"}, region="us-east-1")
    assert expected is not None and cost["steps"]["Prepare"] == {
        "use": "processing",
        "instanceType": "ml.r5.large",
        "problem": expected.problem,
        "usd": 0,
    }
