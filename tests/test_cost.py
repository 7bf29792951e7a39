"""Cost per run: the worst case at synth (MlPipeline.worst_case_cost, max_cost_per_run) and from a
deployed definition (``sm-pipeline cost``), priced from the repository's price table.

The actual cost of a run (``sm-pipeline watch``'s summary) is tested in the emulator: test_cache_emulator.py.
"""

from __future__ import annotations

import json

import boto3
import pytest
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
    MlPipeline,
    ProcessingDefinition,
    TrainingChannel,
    TrainingDefinition,
)
from sm_constructs._validation import ConstructValidationError
from sm_constructs.cli import main
from sm_constructs.cost import PriceTable, dollars, input_defaults, job_states, worst_case

PRICES = PriceTable.load()


def _build(stack, *, max_cost_per_run: float | None = None, training_type: str = "ml.m5.xlarge") -> MlPipeline:
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
    )


@pytest.fixture(scope="module")
def built():
    app = new_app()
    stack = new_stack(app)
    pipeline = _build(stack)
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
