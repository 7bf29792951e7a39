"""Jobs encrypt what they write to S3 with a customer-managed KMS key."""

from .._rule import SageMakerRule, task_rule
from ._jobs import field_is_set, job_with_field

#: Output configurations are the members named ...Output... that carry a KmsKeyId (botocore's model):
#: ProcessingOutputConfig, OutputDataConfig, TransformOutput.
OUTPUT = "Output"

RULE = SageMakerRule(
    id="JobOutputKms",
    info="A SageMaker job started by this state machine does not set a KMS key for the output it writes to S3.",
    explanation=(
        "Without a KmsKeyId in its output configuration SageMaker writes the job's results (processed data, "
        "model artifacts, predictions) with the bucket's default encryption, which may be SSE-S3 and cannot be "
        "restricted to the roles that should read the data. "
        "Fix with sm_constructs: pass output_kms_key= to the job definition (MlDataBucket.encryption_key). "
        "Without: set KmsKeyId in ProcessingOutputConfig, OutputDataConfig or TransformOutput "
        "(aws-stepfunctions-tasks: output_data_config.encryption_key, transform_output.encryption_key)."
    ),
    check=task_rule(job_with_field("KmsKeyId", container=OUTPUT), field_is_set("KmsKeyId", container=OUTPUT)),
)
