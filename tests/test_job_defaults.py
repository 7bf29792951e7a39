"""The job definitions' secure defaults: the stack's job key, network isolation, the one-step failure path.

Each default is read back from the synthesized template (requests validated by botocore, grants by
the IAM policies CloudFormation deploys), with the opt-outs beside them.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template
from sfn_requests import assert_all_requests_valid, state_named
from support import new_app, new_stack, template_of

from sm_constructs import (
    ClusterConfig,
    ContainerImage,
    EndpointConfigDefinition,
    ModelDefinition,
    NetworkConfig,
    ProcessingDefinition,
    ProcessingOutput,
    SageMakerExecutionRole,
    ServerlessConfig,
    TrainingDefinition,
    TransformDefinition,
)
from sm_constructs._kms import JOB_KEY_ID

DATA = "s3://ml-data"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    script = tmp_path_factory.mktemp("code") / "job.py"
    script.write_text("print('job')\n")
    app = new_app()
    stack = new_stack(app)
    role = SageMakerExecutionRole(stack, "Role")
    serving = SageMakerExecutionRole(stack, "ServingRole")
    prep = ProcessingDefinition(stack, "Prep", role=role, code=script, outputs=[ProcessingOutput("out", f"{DATA}/o/")])
    plain = ProcessingDefinition(
        stack,
        "Plain",
        role=role,
        code=script,
        outputs=[ProcessingOutput("out", f"{DATA}/p/")],
        output_kms_key=None,
        cluster=ClusterConfig(volume_kms_key=None),
        network=NetworkConfig(enable_network_isolation=False),
    )
    train = TrainingDefinition(stack, "Train", role=role, output_path=f"{DATA}/models/")
    script_mode = TrainingDefinition(
        stack, "Script", role=role, output_path=f"{DATA}/models/", image=ContainerImage.sklearn(), entry_point=script
    )
    model = ModelDefinition(stack, "Model", role=serving, training=train)
    script_model = ModelDefinition(stack, "ScriptModel", role=serving, training=script_mode)
    batch = TransformDefinition(stack, "Batch", model=model, input_uri=f"{DATA}/b/", output_path=f"{DATA}/pred/")
    config = EndpointConfigDefinition(stack, "Config", model=model)
    serverless = EndpointConfigDefinition(
        stack, "Serverless", model=model, serverless=ServerlessConfig(memory_size_mb=2048, max_concurrency=1)
    )
    topic = sns.Topic(stack, "Alerts", enforce_ssl=True)
    for definition in (prep, plain, script_mode, model, script_model, batch, config, serverless):
        definition.to_state_machine()
    train.to_state_machine(notification_topic=topic)
    template = template_of(stack)
    return {"stack": stack, "t": template.to_json(), "template": template}


def _request(built: dict[str, Any], state: str) -> dict[str, Any]:
    return state_named(built["t"], state)["Parameters"]


def _key_ref(built: dict[str, Any]) -> dict[str, Any]:
    keys = [k for k in built["t"]["Resources"] if k.startswith(JOB_KEY_ID)]
    assert len(keys) == 1, keys  # one key per stack, shared by every definition
    return {"Fn::GetAtt": [keys[0], "Arn"]}


def test_requests_are_valid(built: dict[str, Any]) -> None:
    assert_all_requests_valid(built["t"], expect_at_least=9)


def _fields_with_job_key(built: dict[str, Any], machine: str) -> list[str]:
    """The request fields of state machine ``<machine>StateMachine`` set to the job key's ARN, in order."""
    key = _key_ref(built)
    (definition,) = (
        r["Properties"]["DefinitionString"]
        for k, r in built["t"]["Resources"].items()
        if r["Type"] == "AWS::StepFunctions::StateMachine" and k.startswith(f"{machine}StateMachine")
    )
    parts = definition["Fn::Join"][1]
    return [parts[i - 1].rsplit('"', 3)[-3] for i, part in enumerate(parts) if part == key]


def test_outputs_and_volumes_use_the_stacks_job_key(built: dict[str, Any]) -> None:
    assert _fields_with_job_key(built, "Prep") == ["VolumeKmsKeyId", "KmsKeyId"]
    assert _fields_with_job_key(built, "Train") == ["KmsKeyId", "VolumeKmsKeyId"]
    assert _fields_with_job_key(built, "Batch") == ["KmsKeyId", "VolumeKmsKeyId"]
    assert _fields_with_job_key(built, "Config") == ["KmsKeyId"]


def test_the_job_key_rotates_and_denies_grants_to_non_aws_callers(built: dict[str, Any]) -> None:
    (key,) = (r for k, r in built["t"]["Resources"].items() if k.startswith(JOB_KEY_ID))
    assert key["Properties"]["EnableKeyRotation"] is True
    deny = Match.object_like({"Effect": "Deny", "Action": "kms:CreateGrant", "Resource": "*"})
    Template.from_json({"Resources": {"Key": key}}).has_resource_properties(
        "AWS::KMS::Key", {"KeyPolicy": {"Statement": Match.array_with([deny])}}
    )


def test_none_opts_out_and_serverless_has_no_volume_key(built: dict[str, Any]) -> None:
    plain = _request(built, "Plain")
    assert "KmsKeyId" not in plain["ProcessingOutputConfig"]
    assert "VolumeKmsKeyId" not in plain["ProcessingResources"]["ClusterConfig"]
    assert plain["NetworkConfig"]["EnableNetworkIsolation"] is False
    assert "KmsKeyId" not in _request(built, "Serverless")


def test_network_isolation_is_on_unless_the_job_needs_the_network(built: dict[str, Any]) -> None:
    assert _request(built, "Prep")["NetworkConfig"]["EnableNetworkIsolation"] is True
    assert _request(built, "Train")["EnableNetworkIsolation"] is True
    assert _request(built, "Model")["EnableNetworkIsolation"] is True
    # Script mode downloads the code from S3 (training) and serves with it (the model).
    assert _request(built, "Script")["EnableNetworkIsolation"] is False
    assert _request(built, "ScriptModel")["EnableNetworkIsolation"] is False


def _role_allows(built: dict[str, Any], role_prefix: str, statement: Any) -> bool:
    """Some policy of the role whose logical id starts with ``role_prefix`` holds ``statement`` (a pattern)."""
    pattern = {
        "Properties": {
            "Roles": Match.array_with([{"Ref": Match.string_like_regexp(f"^{role_prefix}")}]),
            "PolicyDocument": {"Statement": Match.array_with([statement])},
        }
    }
    template = Template.from_json(built["t"])
    return any(template.find_resources(kind, pattern) for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"))


def _grants_the_key(built: dict[str, Any], role_prefix: str) -> bool:
    """The role may decrypt and encrypt with the job key."""
    key_use = {"Action": Match.array_with(["kms:Decrypt", "kms:GenerateDataKey*"]), "Resource": _key_ref(built)}
    return _role_allows(built, role_prefix, Match.object_like(key_use))


def test_roles_that_use_the_job_key_are_granted_it(built: dict[str, Any]) -> None:
    # The execution role of the jobs, and the serving role: it reads the artifact the training job
    # encrypted and runs the transform job, which writes with the key.
    for role in ("Role", "ServingRole"):
        assert _grants_the_key(built, role), role


def test_one_step_state_machines_catch_failures(built: dict[str, Any]) -> None:
    prep = state_named(built["t"], "Prep")
    (catch,) = prep["Catch"]
    assert catch == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "StateMachineFailed"}
    failed = state_named(built["t"], "StateMachineFailed")
    assert failed == {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}
    train = state_named(built["t"], "Train")
    assert train["Catch"][0]["Next"] == "StateMachineNotifyFailure"
    notify = state_named(built["t"], "StateMachineNotifyFailure")
    assert notify["Resource"].endswith(":states:::sns:publish"), notify["Resource"]
    assert notify["Next"] == "StateMachineFailed"


def test_a_one_step_state_machine_may_publish_to_the_topic(built: dict[str, Any]) -> None:
    publish = Match.object_like({"Action": "sns:Publish", "Resource": {"Ref": Match.string_like_regexp("^Alerts")}})
    assert _role_allows(built, "TrainStateMachineRole", publish)
