"""The error names Step Functions reports when a SageMaker call fails, and where AWS says so.

One table, read by the retries our states carry (``RETRYABLE_ERRORS``, the endpoint deployment's
describe and delete calls), by the nag rule ``TaskRetryThrottling`` and by the emulator's optimized
SageMaker integration. Step Functions names the SDK exception the call raised, so the name depends
on whether SageMaker's API models the error code (botocore's ``error_shapes``: ``ResourceLimitExceeded``,
``ResourceInUse``, ``ResourceNotFound``, ``ConflictException``) and on the integration:

* optimized (``arn:aws:states:::sagemaker:<action>``): a modeled code as ``SageMaker.<Code>Exception``,
  any other (``ThrottlingException``, ``ValidationException``, ``AccessDeniedException``) as
  ``SageMaker.AmazonSageMakerException``. Sources: Step Functions Developer Guide, "Create and manage
  Amazon SageMaker AI jobs with Step Functions" (connect-sagemaker.html), the training job example,
  which retries ``SageMaker.AmazonSageMakerException`` and ``SageMaker.ResourceLimitExceededException``;
  an ``updateEndpoint`` task denied by IAM, quoted in aws/aws-cdk issue 11594 (error
  ``SageMaker.AmazonSageMakerException``, cause ``... (Service: AmazonSageMaker; Status Code: 400;
  Error Code: AccessDeniedException; ...)``).
* AWS SDK (``arn:aws:states:::aws-sdk:sagemaker:<action>``): ``<Service>.<ErrorName>`` with the
  ``Exception`` suffix added where the name lacks it (Step Functions Developer Guide, "Learning to use
  AWS service SDK integrations", supported-services-awssdk.html); an unmodeled code raises the service's
  base exception, ``SageMaker.SageMakerException`` (the interpreter the emulator runs,
  ``moto.stepfunctions.parser ... StateTaskServiceAwsSdk._normalise_exception_name``: a plain
  ``ClientError`` becomes ``<Service>.<Service>Exception``).

So a throttled SageMaker call is never reported as ``SageMaker.ThrottlingException``: SageMaker's API
does not model ``ThrottlingException``. A Retry that names only that never fires.
"""

from __future__ import annotations

from functools import cache

from ._service_model import service_model

__all__ = [
    "ALREADY_EXISTS_CAUSE",
    "ALREADY_EXISTS_ERROR",
    "OPTIMIZED_THROTTLING_ERROR",
    "QUOTA_ERROR",
    "SDK_THROTTLING_ERROR",
    "THROTTLING_CODE",
    "optimized_error_name",
    "sdk_error_name",
    "throttling_error",
]

#: The error code SageMaker returns when it throttles a call (SageMaker API Reference, "Common Errors":
#: ``ThrottlingException``, HTTP 400); not among the errors SageMaker's model declares.
THROTTLING_CODE = "ThrottlingException"
#: The code of a create over the account's quota for an instance type (modeled: ``ResourceLimitExceeded``).
QUOTA_CODE = "ResourceLimitExceeded"
_SERVICE = "SageMaker"


@cache
def _modeled_errors() -> frozenset[str]:
    model = service_model("sagemaker")
    return frozenset(shape.name for shape in model.error_shapes)


def _exception(name: str) -> str:
    return name if name.endswith("Exception") else name + "Exception"


def optimized_error_name(code: str) -> str:
    """The error name the optimized SageMaker integration (``states:::sagemaker:``) reports for ``code``."""
    if code in _modeled_errors():
        return f"{_SERVICE}.{_exception(code)}"
    return f"{_SERVICE}.AmazonSageMakerException"


def sdk_error_name(code: str) -> str:
    """The error name the AWS SDK integration (``states:::aws-sdk:sagemaker:``) reports for ``code``."""
    if code in _modeled_errors():
        return f"{_SERVICE}.{_exception(code)}"
    return f"{_SERVICE}.{_SERVICE}Exception"


#: A throttled call through the optimized integration: ``SageMaker.AmazonSageMakerException``.
OPTIMIZED_THROTTLING_ERROR = optimized_error_name(THROTTLING_CODE)
#: A throttled call through the AWS SDK integration: ``SageMaker.SageMakerException``.
SDK_THROTTLING_ERROR = sdk_error_name(THROTTLING_CODE)
#: A create over the instance quota, either integration: ``SageMaker.ResourceLimitExceededException``.
QUOTA_ERROR = optimized_error_name(QUOTA_CODE)


def throttling_error(*, sdk: bool) -> str:
    """The name a throttled SageMaker call reports through the optimized (``sdk=False``) or SDK integration."""
    return SDK_THROTTLING_ERROR if sdk else OPTIMIZED_THROTTLING_ERROR


#: The code SageMaker returns for a lineage entity (context, action, association) that exists already:
#: ``ValidationException``, unmodeled in SageMaker's API (botocore: CreateContext, CreateAction and
#: AddAssociation declare only ``ResourceLimitExceeded`` / ``ResourceNotFound``).
VALIDATION_CODE = "ValidationException"
#: ... so through the AWS SDK integration it is ``SageMaker.SageMakerException``, told apart from a
#: throttled call only by its cause, which carries the message.
ALREADY_EXISTS_ERROR = sdk_error_name(VALIDATION_CODE)
#: A Choice ``StringMatches`` pattern for that cause. AWS documents no message text for it: the pattern
#: is this library's reading, checked against the emulator only. A cause it does not match fails the
#: run (a redriven run that meets an existing entity fails loudly), it never passes an error off as
#: "exists".
ALREADY_EXISTS_CAUSE = "*already exists*"
