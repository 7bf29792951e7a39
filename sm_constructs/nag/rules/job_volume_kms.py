"""Jobs encrypt their ML storage volumes with a customer-managed KMS key."""

from .._rule import SageMakerRule, task_rule
from ._jobs import field_is_set, job_with_field

RULE = SageMakerRule(
    id="JobVolumeKms",
    info="A SageMaker job started by this state machine does not set VolumeKmsKeyId for its ML storage volumes.",
    explanation=(
        "Without VolumeKmsKeyId the job's storage volumes (input data, checkpoints, intermediate files) are "
        "encrypted with an AWS-managed key that you cannot restrict, audit per use or revoke. "
        "Fix with sm_constructs: pass ClusterConfig(volume_kms_key=...) to the job definition (ProcessingDefinition, "
        "TrainingDefinition, TransformDefinition; TuningDefinition inherits its training definition's). "
        "Without: set VolumeKmsKeyId in the request's resource configuration (ProcessingResources.ClusterConfig, "
        "ResourceConfig, TransformResources; aws-stepfunctions-tasks: resource_config.volume_encryption_key). "
        "Instance types with only NVMe instance storage encrypt it in hardware and reject VolumeKmsKeyId: "
        "acknowledge the finding with that reason."
    ),
    check=task_rule(job_with_field("VolumeKmsKeyId"), field_is_set("VolumeKmsKeyId")),
)
