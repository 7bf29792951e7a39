"""Training warm pools: keep_alive → ResourceConfig.KeepAlivePeriodInSeconds, its range from botocore."""

from __future__ import annotations

import pytest
from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from sfn_requests import assert_all_requests_valid, state_named
from support import new_app, new_stack

from sm_constructs import TrainingDefinition
from sm_constructs._service_model import service_model
from sm_constructs._validation import ConstructValidationError

_LIMITS = service_model("sagemaker").shape_for("ResourceConfig")
_MAX = _LIMITS.members["KeepAlivePeriodInSeconds"].metadata["max"]


def _role(stack):
    return iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::123456789012:role/sm-exec", mutable=False)


def test_keep_alive_is_sent_and_valid():
    app = new_app()
    stack = new_stack(app)
    train = TrainingDefinition(
        stack, "Train", role=_role(stack), output_path="s3://bucket/m", keep_alive=Duration.minutes(10)
    )
    train.to_state_machine()
    template = app.synth().get_stack_by_name(stack.stack_name).template
    assert state_named(template, "Train")["Parameters"]["ResourceConfig"]["KeepAlivePeriodInSeconds"] == 600
    assert_all_requests_valid(template)


def test_keep_alive_limit_comes_from_botocore():
    stack = new_stack(new_app())
    role = _role(stack)
    TrainingDefinition(stack, "AtLimit", role=role, output_path="s3://bucket/m", keep_alive=Duration.seconds(_MAX))
    with pytest.raises(ConstructValidationError, match="KeepAlivePeriodInSeconds"):
        TrainingDefinition(
            stack, "OverLimit", role=role, output_path="s3://bucket/m", keep_alive=Duration.seconds(_MAX + 1)
        )


def test_keep_alive_refused_with_spot_training():
    stack = new_stack(new_app())
    with pytest.raises(
        ConstructValidationError, match=r"keep_alive.*use_spot_instances|use_spot_instances.*keep_alive"
    ):
        TrainingDefinition(
            stack,
            "Spot",
            role=_role(stack),
            output_path="s3://bucket/m",
            use_spot_instances=True,
            max_wait=Duration.hours(2),
            checkpoint_s3_uri="s3://bucket/c",
            keep_alive=Duration.minutes(5),
        )
