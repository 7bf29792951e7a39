"""Facts about each SageMaker API that a Step Functions task calls.

One table, used by every definition to derive its task resource ARN, the IAM statements the state
machine role needs, and the name limits that job-name validation enforces.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ENDPOINT",
    "ENDPOINT_CONFIG",
    "MODEL",
    "MODEL_PACKAGE",
    "MODEL_PACKAGE_UPDATE",
    "PROCESSING",
    "TRAINING",
    "TRANSFORM",
    "TUNING",
    "SageMakerApi",
]


@dataclass(frozen=True)
class SageMakerApi:
    """How one SageMaker resource kind is created, watched and named."""

    #: Step Functions optimized-integration action, e.g. ``createProcessingJob``.
    create_action: str
    #: botocore operation name of the create call, e.g. ``CreateProcessingJob``.
    operation: str
    #: Resource type in the SageMaker ARN: ``arn:aws:sagemaker:region:account:<arn_type>/<name>``.
    arn_type: str
    #: Request field holding the resource name.
    name_field: str
    #: SageMaker's maximum name length for this resource.
    name_max: int = 63
    #: ``.sync`` support: the actions Step Functions calls to watch and stop the job ...
    describe: str | None = None
    stop: str | None = None
    #: ... and the EventBridge managed rule it creates for completion events.
    events_rule: str | None = None
    #: Called through the AWS SDK integration (``aws-sdk:sagemaker:``) when Step Functions has no
    #: optimized integration for it.
    sdk: bool = False

    @property
    def is_job(self) -> bool:
        return self.events_rule is not None


PROCESSING = SageMakerApi(
    create_action="createProcessingJob",
    operation="CreateProcessingJob",
    arn_type="processing-job",
    name_field="ProcessingJobName",
    describe="DescribeProcessingJob",
    stop="StopProcessingJob",
    events_rule="StepFunctionsGetEventsForSageMakerProcessingJobsRule",
)
TRAINING = SageMakerApi(
    create_action="createTrainingJob",
    operation="CreateTrainingJob",
    arn_type="training-job",
    name_field="TrainingJobName",
    describe="DescribeTrainingJob",
    stop="StopTrainingJob",
    events_rule="StepFunctionsGetEventsForSageMakerTrainingJobsRule",
)
TUNING = SageMakerApi(
    create_action="createHyperParameterTuningJob",
    operation="CreateHyperParameterTuningJob",
    arn_type="hyper-parameter-tuning-job",
    name_field="HyperParameterTuningJobName",
    name_max=32,
    describe="DescribeHyperParameterTuningJob",
    stop="StopHyperParameterTuningJob",
    events_rule="StepFunctionsGetEventsForSageMakerHyperparameterTuningJobsRule",
)
TRANSFORM = SageMakerApi(
    create_action="createTransformJob",
    operation="CreateTransformJob",
    arn_type="transform-job",
    name_field="TransformJobName",
    describe="DescribeTransformJob",
    stop="StopTransformJob",
    events_rule="StepFunctionsGetEventsForSageMakerTransformJobsRule",
)
MODEL = SageMakerApi(create_action="createModel", operation="CreateModel", arn_type="model", name_field="ModelName")
ENDPOINT_CONFIG = SageMakerApi(
    create_action="createEndpointConfig",
    operation="CreateEndpointConfig",
    arn_type="endpoint-config",
    name_field="EndpointConfigName",
)
MODEL_PACKAGE = SageMakerApi(
    create_action="createModelPackage",
    operation="CreateModelPackage",
    arn_type="model-package",
    name_field="ModelPackageGroupName",
    sdk=True,
)
MODEL_PACKAGE_UPDATE = SageMakerApi(
    create_action="updateModelPackage",
    operation="UpdateModelPackage",
    arn_type="model-package",
    name_field="ModelPackageGroupName",
    sdk=True,
)
ENDPOINT = SageMakerApi(
    create_action="createEndpoint", operation="CreateEndpoint", arn_type="endpoint", name_field="EndpointName"
)
