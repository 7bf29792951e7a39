"""The shared definition machinery, exercised through a minimal CreateModel definition."""

import re
from typing import Any

import pytest
from asl_eval import evaluate_parameters
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from botocore.exceptions import ParamValidationError
from iam_match import assert_allows, get_att_arn, role_ref, sagemaker_arn, service_arn
from sfn_requests import assert_all_requests_valid, sagemaker_requests, state_machines, validate_request
from support import cfn_lint, new_app, new_stack, template_of

from sm_constructs._iam_facts import MODEL, PROCESSING
from sm_constructs._validation import ConstructValidationError
from sm_constructs.jobs import SageMakerDefinition, add_default_retry


class _Model(SageMakerDefinition):
    api = MODEL

    def __init__(self, scope, id, *, role, image, name_prefix=None, extra=None):
        problems = self._start_validation("Model", scope, id)
        super().__init__(scope, id, name_prefix=name_prefix, role=role, problems=problems)
        self.image = image
        self.extra = extra or {}

    def render_request(self) -> dict[str, Any]:
        return {
            "ModelName": self._name(),
            "ExecutionRoleArn": self.role.role_arn,
            "PrimaryContainer": {"Image": self.image, **self.extra},
            "Tags": self._tags(),
        }


class _Processing(_Model):
    api = PROCESSING

    def render_request(self) -> dict[str, Any]:
        return {
            "ProcessingJobName": self._name(),
            "RoleArn": self.role.role_arn,
            "AppSpecification": {"ImageUri": self.image},
            "ProcessingResources": {
                "ClusterConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1}
            },
            "Tags": self._tags(),
        }


@pytest.fixture(scope="module")
def synthesized():
    app = new_app()
    stack = new_stack(app)
    role = iam.Role(stack, "Exec", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    model = _Model(stack, "Model", role=role, image=sfn.JsonPath.string_at("$.image"), name_prefix="churn-model")
    sm = model.to_state_machine()
    return stack, template_of(stack), sm


def test_request_is_valid_against_botocore(synthesized):
    _, template, _ = synthesized
    requests = assert_all_requests_valid(template.to_json())
    assert [r.operation.name for r in requests] == ["CreateModel"]
    params = requests[0].parameters
    assert params["ModelName"] == "placeholder"  # a run-time field, filled by type
    assert {"Key": "sm-constructs:execution", "Value": "placeholder"} in params["Tags"]


def test_a_wrong_key_or_type_fails_validation(synthesized):
    _, template, _ = synthesized
    (request,) = sagemaker_requests(template.to_json())
    request.parameters["PrimaryContainer"]["Bogus"] = 1
    with pytest.raises(ParamValidationError, match="Bogus"):
        validate_request(request)
    (request,) = sagemaker_requests(template.to_json())
    request.parameters["PrimaryContainer"]["Image"] = 42
    with pytest.raises(ParamValidationError, match="Image"):
        validate_request(request)


def test_job_name_uses_prefix_and_fresh_suffix(synthesized):
    _, template, _ = synthesized
    (asl,) = state_machines(template.to_json()).values()
    expression = asl["States"]["Model"]["Parameters"]["ModelName.$"]
    names = [out["ModelName"] for out in evaluate_parameters({"ModelName.$": expression}, runs=3)]
    assert all(re.fullmatch(r"churn-model-[0-9a-f]{12}", n) for n in names), names
    assert len(set(names)) == 3  # a fresh suffix every time


def test_state_machine_role_gets_scoped_iam_only(synthesized):
    _, template, _ = synthesized
    role = role_ref("ModelStateMachineRole")
    assert_allows(
        template,
        ["sagemaker:AddTags", "sagemaker:CreateModel", "sagemaker:ListTags"],
        sagemaker_arn("model/churn-model-*"),
        roles=role,
    )
    assert_allows(
        template,
        ["iam:PassRole"],
        get_att_arn("Exec"),
        {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        roles=role,
    )
    policies = template.find_resources("AWS::IAM::ManagedPolicy")
    statements = [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    for s in statements:
        if str(s["Action"]).startswith("sagemaker:") or "sagemaker:" in str(s["Action"]):
            assert s["Resource"] != "*"


def test_standalone_state_machine_is_encrypted_logged_and_traced(synthesized):
    _, template, _ = synthesized
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": {"Level": "ALL", "IncludeExecutionData": True, "Destinations": [{}]},
            "EncryptionConfiguration": {"Type": "CUSTOMER_MANAGED_KMS_KEY"},
        },
    )
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 365})


def test_template_is_cfn_lint_clean(synthesized):
    _, template, _ = synthesized
    assert cfn_lint(template.to_json()) == []


def test_sync_jobs_get_the_events_rule_permissions():
    stack = new_stack()
    role = iam.Role(stack, "Exec", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    job = _Processing(stack, "Prep", role=role, image="img", name_prefix="prep")
    task = job.task()
    add_default_retry(task)
    sfn.StateMachine(stack, "SM", definition_body=sfn.DefinitionBody.from_chainable(task))
    template = template_of(stack)
    assert_allows(
        template,
        ["events:DescribeRule", "events:PutRule", "events:PutTargets"],
        service_arn("events", "rule/StepFunctionsGetEventsForSageMakerProcessingJobsRule"),
        policy_type="AWS::IAM::Policy",
    )
    assert_allows(
        template,
        [
            "sagemaker:AddTags",
            "sagemaker:CreateProcessingJob",
            "sagemaker:DescribeProcessingJob",
            "sagemaker:ListTags",
            "sagemaker:StopProcessingJob",
        ],
        sagemaker_arn("processing-job/prep-*"),
        policy_type="AWS::IAM::Policy",
    )
    (asl,) = state_machines(template.to_json()).values()
    state = asl["States"]["Prep"]
    assert state["Resource"].endswith(":states:::sagemaker:createProcessingJob.sync")
    quota, retry = state["Retry"]
    assert "SageMaker.AmazonSageMakerException" in retry["ErrorEquals"] and retry["JitterStrategy"] == "FULL"
    # quota refusals first (the first matching retrier applies), waiting long enough for a burst to drain
    assert quota["ErrorEquals"] == ["SageMaker.ResourceLimitExceededException"]
    assert "SageMaker.ResourceLimitExceededException" not in retry["ErrorEquals"]
    assert (quota["IntervalSeconds"], quota["BackoffRate"], quota["MaxDelaySeconds"]) == (60, 2, 600)
    assert quota["JitterStrategy"] == "FULL"
    waits = [min(60 * 2**n, 600) for n in range(quota["MaxAttempts"])]
    assert sum(waits) >= 3600  # at least an hour of waiting (before jitter) before the run fails


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"name_prefix": "x" * 51}, r"prefix is 51 chars; use at most 50"),
        ({"name_prefix": "bad_name"}, r"name_prefix='bad_name' is invalid"),
        ({"name_prefix": "-lead"}, r"must match"),
    ],
)
def test_name_prefix_is_validated(kwargs, match):
    """A definition whose constructor does not check its request is checked when its task is made."""
    stack = new_stack()
    role = iam.Role(stack, "Exec", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    model = _Model(stack, "Model", role=role, image="img", **kwargs)
    with pytest.raises(ConstructValidationError, match=match) as err:
        model.task()
    assert "Model 'Test/Model'" in str(err.value)


def test_a_definition_never_rendered_fails_synth_through_the_construct_tree():
    app = new_app()
    stack = new_stack(app)
    role = iam.Role(stack, "Exec", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    _Model(stack, "Model", role=role, image="img", name_prefix="bad_name")
    _Model(stack, "Good", role=role, image="img", name_prefix="good")
    with pytest.raises(Exception, match=r"\[Test/Model\] Model 'Test/Model': name_prefix='bad_name' is invalid") as err:
        app.synth()
    assert "Test/Good" not in str(err.value)


def test_state_id_is_validated():
    stack = new_stack()
    role = iam.Role(stack, "Exec", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    with pytest.raises(ConstructValidationError, match="definition ids become state names"):
        _Model(stack, "my model", role=role, image="img", name_prefix="m")


def test_default_prefix_fits_the_limit():
    stack = new_stack(id="A-Very-Long-Stack-Name-That-Goes-On-And-On-Forever-And-Ever")
    role = iam.Role(stack, "Exec", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    m = _Model(stack, "Model", role=role, image="img")
    assert len(m.name_prefix) <= 50 and m.name_prefix.startswith("a-very-long")


def test_definition_size_is_measured_and_limited(synthesized, monkeypatch):
    from sm_constructs import state_machine

    _, _, sm = synthesized
    size = sm.definition_size()
    assert 500 < size < 5000
    validation = state_machine._DefinitionSize(sm, limit=size - 1)
    (message,) = validation.validate()
    assert "Test/Model/StateMachine" in message and f"{size} bytes" in message and "split" in message
    assert state_machine._DefinitionSize(sm, limit=size).validate() == []


def test_oversized_definition_fails_synth():
    from aws_cdk import Duration

    from sm_constructs.state_machine import MAX_DEFINITION_BYTES, MlStateMachine

    stack = new_stack()
    big = sfn.Pass(stack, "Big", result=sfn.Result.from_object({"blob": "x" * (MAX_DEFINITION_BYTES + 10)}))
    MlStateMachine(stack, "Huge", definition_body=sfn.DefinitionBody.from_chainable(big), timeout=Duration.hours(1))
    with pytest.raises(RuntimeError, match="over Step Functions' limit"):
        template_of(stack)


def test_extra_request_fields_reach_the_request_and_are_validated():
    stack = new_stack()
    role = iam.Role(stack, "Exec", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    model = _Model(stack, "Model", role=role, image="img", name_prefix="m")
    model.add_request_fields(InferenceExecutionConfig={"Mode": "Serial"}, PrimaryContainer={"Mode": "SingleModel"})
    with pytest.raises(ConstructValidationError, match=r"add_request_fields=\['ModelName'\]"):
        model.add_request_fields(ModelName="x")
    model.to_state_machine()
    bad = _Model(stack, "Bad", role=role, image="img", name_prefix="b")
    with pytest.raises(ConstructValidationError, match=r"_Model 'Test/Bad': NotAField=1 is invalid: not a field"):
        bad.add_request_fields(NotAField=1)
    with pytest.raises(ConstructValidationError, match=r"PrimaryContainer.Mode='Single' is invalid: must be one of"):
        bad.add_request_fields(PrimaryContainer={"Mode": "Single"})
    bad.to_state_machine()
    requests = {r.state: r for r in sagemaker_requests(template_of(stack).to_json())}
    validate_request(requests["Model"])
    validate_request(requests["Bad"])  # the refused fields never reached the request
    assert requests["Model"].parameters["InferenceExecutionConfig"] == {"Mode": "Serial"}
    assert requests["Model"].parameters["PrimaryContainer"] == {"Image": "img", "Mode": "SingleModel"}
    assert "NotAField" not in requests["Bad"].parameters


def test_task_then_state_machine_and_a_second_task_of_the_same_name():
    stack = new_stack()
    role = iam.Role(stack, "Exec", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    model = _Model(stack, "Model", role=role, image="img", name_prefix="m")
    model.task()
    model.to_state_machine()  # its own task gets a free name instead of a construct clash
    with pytest.raises(ConstructValidationError, match=r"_Model 'Test/Model': task\(id\)='Model' is invalid"):
        model.task()
    with pytest.raises(ConstructValidationError, match=r"to_state_machine\(id\)='StateMachine' is invalid"):
        model.to_state_machine()
    template_of(stack)


def test_shared_statements_are_frozen_and_shared_once_per_stack():
    from sm_constructs._memo import statement

    stack = new_stack()
    shared = statement(stack, actions=["sagemaker:CreateModel"], resources=["arn:aws:sagemaker:::model/m-*"])
    assert shared.frozen
    assert statement(stack, actions=["sagemaker:CreateModel"], resources=["arn:aws:sagemaker:::model/m-*"]) is shared
    with pytest.raises(RuntimeError, match=r"freeze\(\) has been called"):
        shared.add_actions("s3:GetObject")


@pytest.mark.parametrize(
    "actions, resources, conditions",
    [
        (["sagemaker:CreateModel"], ["arn:aws:sagemaker:::model/m-*"], None),
        (["iam:PassRole", "iam:PassRole"], ["role-arn"], {"StringEquals": {"iam:PassedToService": "x"}}),
        (["s3:GetObject", "s3:ListBucket"], ["b", "a", "b"], {}),
    ],
)
def test_a_shared_statement_s_json_is_aws_cdk_s_without_asking_it(actions, resources, conditions):
    from aws_cdk import Aws

    from sm_constructs._memo import statement, statement_json

    stack = new_stack()
    resources = [*resources, f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}:model/*"]
    shared = statement(stack, actions=actions, resources=resources, conditions=conditions)
    assert statement_json(shared) == shared.to_statement_json()
