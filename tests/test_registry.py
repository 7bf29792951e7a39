import pytest
from aws_cdk import aws_stepfunctions as sfn
from sfn_requests import assert_all_requests_valid, state_machines
from support import cfn_lint, new_app, new_stack, template_of

from sm_constructs._validation import ConstructValidationError
from sm_constructs.jobs.registry import ModelPackageGroup, ModelRegistrationDefinition

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


@pytest.fixture(scope="module")
def template():
    stack = new_stack(new_app())
    group = ModelPackageGroup(stack, "Group", group_name="churn", description="Churn models")
    ModelRegistrationDefinition(
        stack,
        "Register",
        group=group,
        image=IMAGE,
        model_data_url=sfn.JsonPath.string_at("$.steps.Train.ModelArtifacts"),
        evaluation_report_uri="s3://bucket-name/evaluation/evaluation.json",
    ).to_state_machine()
    return template_of(stack)


def test_group_is_retained(template):
    template.has_resource("AWS::SageMaker::ModelPackageGroup", {"DeletionPolicy": "Retain"})


def test_request_is_valid_and_pending_approval(template):
    (request,) = assert_all_requests_valid(template.to_json())
    assert request.operation.name == "CreateModelPackage"
    assert request.parameters["ModelApprovalStatus"] == "PendingManualApproval"
    (asl,) = state_machines(template.to_json()).values()
    assert asl["States"]["Register"]["Resource"].endswith(":states:::aws-sdk:sagemaker:createModelPackage")


def test_iam_is_scoped_to_the_group(template):
    statements = [
        s
        for p in template.find_resources("AWS::IAM::ManagedPolicy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "sagemaker:CreateModelPackage" in s["Action"]
    ]
    assert len(statements) == 1
    text = str(statements[0]["Resource"])
    assert ":model-package/churn/*" in text and ":model-package-group/churn" in text


def test_cfn_lint_clean(template):
    assert cfn_lint(template.to_json()) == []


def test_bad_input():
    stack = new_stack()
    group = ModelPackageGroup(stack, "Group", group_name="churn")
    with pytest.raises(ConstructValidationError) as err:
        ModelRegistrationDefinition(
            stack,
            "Register",
            group=group,
            image=IMAGE,
            model_data_url="model.tar.gz",
            approval_status="Maybe",  # type: ignore[arg-type]
            realtime_instance_types=["m5.large"],
        )
    text = str(err.value)
    assert "'Test/Register'" in text and "3 problems" in text
    assert "approval_status='Maybe' (ModelApprovalStatus) is invalid: must be one of 'Approved', 'Rejected'" in text
    assert (
        "model_data_url='model.tar.gz' (InferenceSpecification.Containers[0].ModelDataUrl) is invalid: must match"
        in text
    )
    assert (
        "realtime_instance_types[0]='m5.large' (InferenceSpecification.SupportedRealtimeInferenceInstanceTypes[0])"
        in text
    )
    with pytest.raises(
        ConstructValidationError, match=r"group_name='bad_name' \(ModelPackageGroupName\) is invalid: must match"
    ):
        ModelPackageGroup(stack, "G2", group_name="bad_name")
