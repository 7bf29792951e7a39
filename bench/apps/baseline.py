"""The reference app written by hand with plain aws-cdk-lib, without sm_constructs (the benchmark baseline).

Same resources as ``library.py`` (same types and counts per stack at one pipeline): a KMS-encrypted,
TLS-only data bucket with an access-log bucket, a SageMaker execution role, ``BENCH_PIPELINES`` churn
workflows (preprocess → train → evaluate → quality gate → register → model → endpoint ‖ batch
transform) as Step Functions state machines whose SageMaker tasks are ``CustomState`` with
hand-written request JSON, a tuning state machine, and a notebook instance in an isolated VPC.
Permissions live in hand-written customer-managed policies; roles are passed to L2s with
``without_policy_updates()`` so that nothing lands in inline policies. Image accounts come from the
same data table (``sm_constructs/data/image_accounts.json``) as a ``CfnMapping``. cdk-nag is off, as
in ``library.py``. Pipelines are split across stacks exactly as in ``library.py``. The permissions of
each run's lineage and manifest are here; their states are not (the library's definitions carry them,
and the bench charges the library for them).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App, Aws, CfnMapping, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "reference"
IMAGE_TABLE = ROOT / "sm_constructs" / "data" / "image_accounts.json"
AUTOSTOP = ROOT / "sm_constructs" / "lifecycle" / "autostop.py"
#: Pipelines per stack: keeps every template under CloudFormation's 1 MB and 500-resource limits and
#: the execution role under IAM's 10 managed policies per role (same split as ``library.py``).
PIPELINES_PER_STACK = 25
#: Context key: the stack's state machine definitions go to S3 (as ``library.py``'s stacks of several pipelines).
DEFINITIONS_IN_S3 = "baseline:definitionsInS3"

RETRY = {
    "ErrorEquals": [
        "SageMaker.AmazonSageMakerException",
        "SageMaker.ResourceLimitExceededException",
        "SageMaker.ThrottlingException",
        "ThrottlingException",
    ],
    "IntervalSeconds": 10,
    "MaxAttempts": 4,
    "BackoffRate": 2,
    "MaxDelaySeconds": 300,
    "JitterStrategy": "FULL",
}
TAGS = [{"Key": "churn:execution", "Value.$": "$$.Execution.Id"}]
RUN_SUFFIX = "States.ArrayGetItem(States.StringSplit(States.UUID(), '-'), 4)"


def arn(resource: str) -> str:
    return f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}:{resource}"


def events_rule(kind: str) -> str:
    return f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}:rule/StepFunctionsGetEventsForSageMaker{kind}Rule"


def job_name(prefix: str) -> str:
    return f"States.Format('{{}}-{{}}', '{prefix}', {RUN_SUFFIX})"


def run_uri(bucket: s3.IBucket, prefix: str, name: str = "") -> str:
    return f"States.Format('s3://{{}}/{prefix}{{}}/{name}', '{bucket.bucket_name}', $$.Execution.Name)"


def image(family: str, repository: str, tag: str) -> str:
    account = Fn.find_in_map("ImageRegistry", Aws.REGION, family)
    return f"{account}.dkr.ecr.{Aws.REGION}.{Aws.URL_SUFFIX}/{repository}:{tag}"


def policy(scope: Construct, id: str, role: iam.IRole, statements: list[iam.PolicyStatement]) -> iam.ManagedPolicy:
    return iam.ManagedPolicy(scope, id, roles=[role], statements=statements)


def job_statements(kind: str, resource: str, prefix: str) -> list[iam.PolicyStatement]:
    """Create/describe/stop one kind of job under a name prefix, plus the ``.sync`` events rule."""
    return [
        iam.PolicyStatement(
            actions=[
                f"sagemaker:Create{kind}",
                "sagemaker:AddTags",
                f"sagemaker:Describe{kind}",
                f"sagemaker:Stop{kind}",
            ],
            resources=[arn(f"{resource}/{prefix}-*")],
        ),
        iam.PolicyStatement(
            actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"], resources=[events_rule(f"{kind}s")]
        ),
    ]


class Shared(Construct):
    """Data bucket, access-log bucket, their key, the SageMaker execution role and the script assets."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        table = json.loads(IMAGE_TABLE.read_text())
        CfnMapping(stack, "ImageRegistry", mapping=table["regions"])
        self.key = kms.Key(self, "DataKey", enable_key_rotation=True, removal_policy=RemovalPolicy.RETAIN)
        logs_bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            access_control=s3.BucketAccessControl.LOG_DELIVERY_WRITE,
            lifecycle_rules=[s3.LifecycleRule(id="ExpireOldLogs", expiration=Duration.days(365))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.bucket = s3.Bucket(
            self,
            "DataBucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=logs_bucket,
            server_access_logs_prefix="data-bucket/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireNoncurrentVersions",
                    noncurrent_version_expiration=Duration.days(90),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.preprocess = s3_assets.Asset(self, "PreprocessScript", path=str(REFERENCE / "scripts" / "preprocess.py"))
        self.evaluate = s3_assets.Asset(self, "EvaluateScript", path=str(REFERENCE / "scripts" / "evaluate.py"))

        self.role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
            description="Execution role for SageMaker jobs and models",
        )
        bucket_arn = self.bucket.bucket_arn
        read = ["s3:GetObject*", "s3:GetBucket*", "s3:List*"]
        write = ["s3:DeleteObject*", "s3:PutObject", "s3:PutObjectTagging", "s3:Abort*"]
        log_groups = f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:/aws/sagemaker/*"
        policy(
            self,
            "ExecutionRoleData",
            self.role,
            [
                iam.PolicyStatement(actions=read, resources=[bucket_arn, f"{bucket_arn}/raw/*"]),
                iam.PolicyStatement(
                    actions=read + write,
                    resources=[bucket_arn]
                    + [f"{bucket_arn}/{p}/*" for p in ("processed", "models", "evaluation", "batch")],
                ),
                iam.PolicyStatement(actions=write, resources=[f"{bucket_arn}/data-capture/*"]),
                iam.PolicyStatement(
                    actions=["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
                    resources=[self.key.key_arn],
                ),
                iam.PolicyStatement(
                    actions=["kms:CreateGrant"],
                    resources=[self.key.key_arn],
                    conditions={"Bool": {"kms:GrantIsForAWSResource": True}},
                ),
                iam.PolicyStatement(
                    actions=read,
                    resources=[self.preprocess.bucket.bucket_arn, self.preprocess.bucket.arn_for_objects("*")],
                ),
            ],
        )
        ecr = f"arn:{Aws.PARTITION}:ecr:{Aws.REGION}"
        policy(
            self,
            "ExecutionRoleRuntime",
            self.role,
            [
                iam.PolicyStatement(
                    actions=[
                        "logs:CreateLogGroup",
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "logs:DescribeLogStreams",
                    ],
                    resources=[log_groups, f"{log_groups}:log-stream:*"],
                ),
                iam.PolicyStatement(
                    actions=["cloudwatch:PutMetricData"],
                    resources=["*"],
                    conditions={"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "aws/sagemaker/*"]}},
                ),
                iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]),
                iam.PolicyStatement(
                    actions=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                    resources=[
                        f"{ecr}:{Fn.find_in_map('ImageRegistry', Aws.REGION, 'sklearn')}:repository/sagemaker-scikit-learn",
                        f"{ecr}:{Fn.find_in_map('ImageRegistry', Aws.REGION, 'xgboost')}:repository/sagemaker-xgboost",
                    ],
                ),
            ],
        )


@dataclass
class WorkflowParts:
    """A workflow's key (with the CloudWatch Logs grant), log group and encrypted notification topic."""

    key: kms.Key
    log_group: logs.LogGroup
    topic: sns.Topic


def workflow_parts(scope: Construct) -> WorkflowParts:
    key = kms.Key(scope, "Key", enable_key_rotation=True, removal_policy=RemovalPolicy.RETAIN)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*"
                }
            },
        )
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            resources=["*"],
        )
    )
    log_group = logs.LogGroup(
        scope, "Logs", encryption_key=key, retention=logs.RetentionDays.ONE_YEAR, removal_policy=RemovalPolicy.RETAIN
    )
    topic = sns.Topic(scope, "Notifications", master_key=key, enforce_ssl=True)
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["sns:Publish"],
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            resources=[topic.topic_arn],
            conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
        )
    )
    return WorkflowParts(key, log_group, topic)


def workflow_role(scope: Construct, name: str) -> iam.Role:
    return iam.Role(scope, "Role", assumed_by=iam.ServicePrincipal("states.amazonaws.com"), description=f"Runs {name}")


def notify_failure(scope: Construct, topic: sns.ITopic, fail_id: str) -> sfn.IChainable:
    failed = sfn.Fail(scope, fail_id, error_path="$.error.Error", cause_path="$.error.Cause")
    return tasks.SnsPublish(
        scope,
        "NotifyFailure",
        topic=topic,
        subject="SageMaker workflow failed",
        message=sfn.TaskInput.from_object(
            {
                "execution": sfn.JsonPath.execution_id,
                "error": sfn.JsonPath.string_at("$.error.Error"),
                "cause": sfn.JsonPath.string_at("$.error.Cause"),
            }
        ),
        result_path=sfn.JsonPath.DISCARD,
    ).next(failed)


def runtime_statements(key: kms.IKey, name: str) -> list[iam.PolicyStatement]:
    """Log delivery, X-Ray and the state machine's own key (what aws-cdk would add to a mutable role)."""
    sm_arn = f"arn:{Aws.PARTITION}:states:{Aws.REGION}:{Aws.ACCOUNT_ID}:stateMachine:{name}"
    return [
        iam.PolicyStatement(
            actions=[
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups",
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
            ],
            resources=["*"],
        ),
        iam.PolicyStatement(
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=[key.key_arn],
            conditions={"StringEquals": {"kms:EncryptionContext:aws:states:stateMachineArn": sm_arn}},
        ),
    ]


def state_machine(
    scope: Construct, body: sfn.IChainable, key: kms.IKey, log_group: logs.ILogGroup, role: iam.IRole, **kwargs: Any
) -> sfn.StateMachine:
    machine = sfn.StateMachine(
        scope,
        "StateMachine",
        definition_body=sfn.DefinitionBody.from_chainable(body),
        role=role.without_policy_updates(),
        state_machine_type=sfn.StateMachineType.STANDARD,
        logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        tracing_enabled=True,
        encryption_configuration=sfn.CustomerManagedEncryptionConfiguration(key),
        removal_policy=RemovalPolicy.RETAIN,
        **kwargs,
    )
    if scope.node.try_get_context(DEFINITIONS_IN_S3):
        store_definition_in_s3(machine)
    return machine


def store_definition_in_s3(machine: sfn.StateMachine) -> None:
    """The rendered definition as an S3 file asset, its deploy-time values as ``DefinitionSubstitutions``
    (CloudFormation puts them back), so that 25 pipelines fit a template as in ``library.py``."""
    cfn = machine.node.default_child
    assert isinstance(cfn, sfn.CfnStateMachine)
    body = Stack.of(machine).resolve(cfn.definition_string)
    pieces = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    names: dict[str, str] = {}
    substitutions: dict[str, Any] = {}
    text = []
    for piece in pieces:
        if isinstance(piece, str):
            text.append(piece)
            continue
        name = names.setdefault(json.dumps(piece, sort_keys=True), f"Value{len(names)}")
        substitutions[name] = piece
        text.append("${" + name + "}")
    content = "".join(text)
    path = Path(tempfile.gettempdir()) / "baseline-definitions" / f"{hashlib.sha256(content.encode()).hexdigest()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    asset = s3_assets.Asset(machine, "Definition", path=str(path))
    cfn.add_property_deletion_override("DefinitionString")
    cfn.add_property_override("DefinitionS3Location", {"Bucket": asset.s3_bucket_name, "Key": asset.s3_object_key})
    cfn.add_property_override("DefinitionSubstitutions", substitutions)


def sagemaker_task(
    scope: Construct, id: str, resource: str, parameters: dict[str, Any], result: dict[str, str], **extra: Any
) -> sfn.CustomState:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": f"arn:{Aws.PARTITION}:states:::sagemaker:{resource}",
        "Parameters": parameters,
        "ResultSelector": result,
        "ResultPath": f"$.steps.{id}",
        "Retry": [RETRY],
        **extra,
    }
    return sfn.CustomState(scope, id, state_json=state)


def churn_pipeline(
    scope: Construct, id: str, shared: Shared, index: int, first: WorkflowParts | None = None
) -> WorkflowParts:
    """One churn workflow: registry, a build and a release state machine (each with its role, policies and
    alarms), the rule starting the release on approval; ``first``: the key, log group and topic of the
    stack's first pipeline, shared as ``library.py`` shares them."""
    group = Construct(scope, id)
    slug = "churn" if index == 0 else f"churn{index + 1}"
    name = f"churn-{slug}"
    bucket, data_key, exec_role = shared.bucket, shared.key, shared.role
    hyperparameters = json.loads((REFERENCE / "hyperparameters.json").read_text())
    group_name = f"{slug}-models"
    sagemaker.CfnModelPackageGroup(
        group,
        "Registry",
        model_package_group_name=group_name,
        model_package_group_description="Churn models that passed the gate",
    ).apply_removal_policy(RemovalPolicy.RETAIN)

    wf = Construct(group, "Pipeline")
    parts = first or workflow_parts(wf)
    role = workflow_role(wf, name)
    rel = Construct(group, "Deployment")
    rel_parts = first or workflow_parts(rel)
    rel_role = workflow_role(rel, f"{name}-deployment")
    rel_notify = notify_failure(rel, rel_parts.topic, "DeploymentFailed")

    # ---- states ----------------------------------------------------------------------
    notify = notify_failure(wf, parts.topic, "PipelineFailed")
    defaults = {
        "inputDataUri": f"s3://{bucket.bucket_name}/raw/",
        "processingInstanceType": "ml.m5.large",
        "trainingInstanceType": "ml.m5.xlarge",
        "threshold": 0.75,
    }
    load = sfn.Pass(wf, "LoadDefaults", result=sfn.Result.from_object({"defaults": defaults}))
    merge = sfn.Pass(
        wf,
        "ApplyDefaults",
        parameters={"input.$": "States.JsonMerge($.defaults, $$.Execution.Input, false)", "steps": {}},
    )
    c = sfn.Condition

    def typed(field: str, pattern: str) -> sfn.Condition:
        path = f"$.input.{field}"
        return c.and_(c.is_present(path), c.and_(c.is_string(path), c.string_matches(path, pattern)))

    valid = sfn.Pass(wf, "InputValid")
    validate = (
        sfn.Choice(wf, "ValidateInput")
        .when(
            c.and_(
                typed("inputDataUri", "s3://*"),
                typed("processingInstanceType", "ml.*"),
                typed("trainingInstanceType", "ml.*"),
                c.and_(c.is_present("$.input.threshold"), c.is_numeric("$.input.threshold")),
            ),
            valid,
        )
        .otherwise(sfn.Fail(wf, "InvalidInput", error="InvalidInput", cause="Execution input is not valid"))
    )

    volume = {"InstanceCount": 1, "VolumeSizeInGB": 30, "VolumeKmsKeyId": data_key.key_arn}
    code_input = {
        "InputName": "code",
        "AppManaged": False,
        "S3Input": {
            "S3Uri": "",
            "LocalPath": "/opt/ml/processing/input/code",
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }

    def s3_input(input_name: str, uri_key: str, uri: str) -> dict[str, Any]:
        return {
            "InputName": input_name,
            "AppManaged": False,
            "S3Input": {
                uri_key: uri,
                "LocalPath": f"/opt/ml/processing/input/{input_name}",
                "S3DataType": "S3Prefix",
                "S3InputMode": "File",
                "S3DataDistributionType": "FullyReplicated",
            },
        }

    def s3_output(output_name: str, uri: str, local: str) -> dict[str, Any]:
        return {
            "OutputName": output_name,
            "AppManaged": False,
            "S3Output": {"S3Uri.$": uri, "LocalPath": local, "S3UploadMode": "EndOfJob"},
        }

    processing_result = {
        "ProcessingJobName.$": "$.ProcessingJobName",
        "ProcessingJobArn.$": "$.ProcessingJobArn",
        "ProcessingJobStatus.$": "$.ProcessingJobStatus",
        "Outputs.$": "$.ProcessingOutputConfig.Outputs[*].S3Output.S3Uri",
    }
    isolated = {"EnableInterContainerTrafficEncryption": False, "EnableNetworkIsolation": True}
    sklearn = image("sklearn", "sagemaker-scikit-learn", "1.2-1-cpu-py3")
    xgboost = image("xgboost", "sagemaker-xgboost", "1.7-1")

    preprocess = sagemaker_task(
        wf,
        "Preprocess",
        "createProcessingJob.sync",
        {
            "ProcessingJobName.$": job_name(f"{slug}-preprocess"),
            "RoleArn": exec_role.role_arn,
            "AppSpecification": {
                "ImageUri": sklearn,
                "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/preprocess.py"],
            },
            "ProcessingResources": {"ClusterConfig": {"InstanceType.$": "$.input.processingInstanceType", **volume}},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            "Tags": TAGS,
            "ProcessingInputs": [
                s3_input("raw", "S3Uri.$", "$.input.inputDataUri"),
                {**code_input, "S3Input": {**code_input["S3Input"], "S3Uri": shared.preprocess.s3_object_url}},
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    s3_output(split, run_uri(bucket, "processed/", f"{split}/"), f"/opt/ml/processing/output/{split}")
                    for split in ("train", "validation", "test", "batch")
                ],
                "KmsKeyId": data_key.key_arn,
            },
            "NetworkConfig": isolated,
        },
        processing_result,
        TimeoutSeconds=7200,
    )
    train = sagemaker_task(
        wf,
        "Train",
        "createTrainingJob.sync",
        {
            "TrainingJobName.$": job_name(f"{slug}-train"),
            "AlgorithmSpecification": {"TrainingImage": xgboost, "TrainingInputMode": "File"},
            "RoleArn": exec_role.role_arn,
            "OutputDataConfig": {
                "S3OutputPath.$": f"States.Format('s3://{{}}/models/{{}}', '{bucket.bucket_name}', $$.Execution.Name)",
                "KmsKeyId": data_key.key_arn,
            },
            "ResourceConfig": {"InstanceType.$": "$.input.trainingInstanceType", **volume},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            "EnableNetworkIsolation": True,
            "EnableInterContainerTrafficEncryption": False,
            "InputDataConfig": [
                {
                    "ChannelName": channel,
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri.$": run_uri(bucket, "processed/", f"{channel}/"),
                            "S3DataDistributionType": "FullyReplicated",
                        }
                    },
                    "InputMode": "File",
                    "CompressionType": "None",
                    "ContentType": "text/csv",
                }
                for channel in ("train", "validation")
            ],
            "Tags": TAGS,
            "HyperParameters": hyperparameters,
        },
        {
            "TrainingJobName.$": "$.TrainingJobName",
            "TrainingJobArn.$": "$.TrainingJobArn",
            "TrainingJobStatus.$": "$.TrainingJobStatus",
            "ModelArtifacts.$": "$.ModelArtifacts.S3ModelArtifacts",
            "Image.$": "$.AlgorithmSpecification.TrainingImage",
            "FinalMetrics.$": "$.FinalMetricDataList",
        },
        TimeoutSeconds=7200,
    )
    evaluate = sagemaker_task(
        wf,
        "Evaluate",
        "createProcessingJob.sync",
        {
            "ProcessingJobName.$": job_name(f"{slug}-evaluate"),
            "RoleArn": exec_role.role_arn,
            "AppSpecification": {
                "ImageUri": xgboost,
                "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/evaluate.py"],
            },
            "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.large", **volume}},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            "Tags": TAGS,
            "ProcessingInputs": [
                s3_input("model", "S3Uri.$", "$.steps.Train.ModelArtifacts"),
                s3_input("test", "S3Uri.$", run_uri(bucket, "processed/", "test/")),
                {**code_input, "S3Input": {**code_input["S3Input"], "S3Uri": shared.evaluate.s3_object_url}},
            ],
            "ProcessingOutputConfig": {
                "Outputs": [s3_output("evaluation", run_uri(bucket, "evaluation/"), "/opt/ml/processing/evaluation")],
                "KmsKeyId": data_key.key_arn,
            },
            "NetworkConfig": isolated,
        },
        processing_result,
        TimeoutSeconds=7200,
    )
    read_report = tasks.CallAwsService(
        wf,
        "ReadEvaluation",
        service="s3",
        action="getObject",
        parameters={
            "Bucket": bucket.bucket_name,
            "Key": sfn.JsonPath.format("evaluation/{}/evaluation.json", sfn.JsonPath.execution_name),
        },
        iam_resources=[bucket.arn_for_objects("*")],
        result_selector={"report": sfn.JsonPath.string_to_json(sfn.JsonPath.string_at("$.Body"))},
        result_path="$.steps.QualityGate",
    )
    read_report.add_retry(errors=["S3.SdkClientException", "S3.S3Exception"], max_attempts=3)
    read_report.add_catch(notify, errors=["States.ALL"], result_path="$.error")
    metric = "$.steps.QualityGate.report.metrics.auc"
    passed = sfn.Pass(wf, "QualityGatePassed")
    gate = (
        sfn.Choice(wf, "QualityGate")
        .when(c.and_(c.is_numeric(metric), c.number_greater_than_equals_json_path(metric, "$.input.threshold")), passed)
        .otherwise(
            sfn.Fail(wf, "QualityGateNotMet", error="QualityGateNotMet", cause="metrics.auc is below the threshold")
        )
    )
    serving = {"Image.$": "$.steps.Train.Image", "ModelDataUrl.$": "$.steps.Train.ModelArtifacts"}
    register = sfn.CustomState(
        wf,
        "Register",
        state_json={
            "Type": "Task",
            "Resource": f"arn:{Aws.PARTITION}:states:::aws-sdk:sagemaker:createModelPackage",
            "Parameters": {
                "ModelPackageGroupName": group_name,
                "ModelApprovalStatus": "PendingManualApproval",
                "InferenceSpecification": {
                    "Containers": [serving],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                    "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.large"],
                    "SupportedTransformInstanceTypes": ["ml.m5.large"],
                },
                "Tags": TAGS,
                "ModelPackageDescription": "XGBoost churn model",
                "ModelMetrics": {
                    "ModelQuality": {
                        "Statistics": {
                            "ContentType": "application/json",
                            "S3Uri.$": run_uri(bucket, "evaluation/", "evaluation.json"),
                        }
                    }
                },
            },
            "ResultSelector": {"ModelPackageArn.$": "$.ModelPackageArn"},
            "ResultPath": "$.steps.Register",
            "Retry": [RETRY],
        },
    )
    model = sagemaker_task(
        rel,
        "Model",
        "createModel",
        {
            "ModelName.$": job_name(f"{slug}-model"),
            "ExecutionRoleArn": exec_role.role_arn,
            "PrimaryContainer": {"ModelPackageName.$": "$.detail.ModelPackageArn"},
            "EnableNetworkIsolation": True,
            "Tags": TAGS,
        },
        {"ModelArn.$": "$.ModelArn", "ModelName.$": "States.ArrayGetItem(States.StringSplit($.ModelArn, '/'), 1)"},
    )
    endpoint_name = f"churn-{slug}"
    config = sagemaker_task(
        rel,
        "EndpointConfig",
        "createEndpointConfig",
        {
            "EndpointConfigName.$": job_name(f"{slug}-config"),
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName.$": "$.steps.Model.ModelName",
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1,
                    "InitialVariantWeight": 1,
                }
            ],
            "Tags": TAGS,
            "KmsKeyId": data_key.key_arn,
            "DataCaptureConfig": {
                "EnableCapture": True,
                "InitialSamplingPercentage": 20,
                "DestinationS3Uri": f"s3://{bucket.bucket_name}/data-capture/{slug}/",
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
                "KmsKeyId": data_key.key_arn,
            },
        },
        {
            "EndpointConfigArn.$": "$.EndpointConfigArn",
            "EndpointConfigName.$": "States.ArrayGetItem(States.StringSplit($.EndpointConfigArn, '/'), 1)",
        },
    )
    describe = tasks.CallAwsService(
        rel,
        "DeployDescribe",
        service="sagemaker",
        action="describeEndpoint",
        parameters={"EndpointName": endpoint_name},
        iam_resources=[arn(f"endpoint/{endpoint_name}")],
        result_selector={"EndpointStatus.$": "$.EndpointStatus"},
        result_path="$.steps.Deploy.Existing",
    )
    describe.add_retry(errors=["SageMaker.ThrottlingException"], max_attempts=3, jitter_strategy=sfn.JitterType.FULL)
    switch = {"EndpointName": endpoint_name, "EndpointConfigName.$": "$.steps.EndpointConfig.EndpointConfigName"}
    update = sfn.CustomState(
        rel,
        "DeployUpdate",
        state_json={
            "Type": "Task",
            "Resource": f"arn:{Aws.PARTITION}:states:::sagemaker:updateEndpoint",
            "Parameters": switch,
            "ResultPath": None,
            "Retry": [RETRY],
        },
    )
    create = sfn.CustomState(
        rel,
        "DeployCreate",
        state_json={
            "Type": "Task",
            "Resource": f"arn:{Aws.PARTITION}:states:::sagemaker:createEndpoint",
            "Parameters": switch,
            "ResultPath": None,
            "Retry": [RETRY],
        },
    )
    describe.add_catch(
        create, errors=["SageMaker.SageMakerException", "SageMaker.ValidationException"], result_path=None
    )
    start_polling = sfn.Pass(rel, "DeployStartPolling", result_path="$.steps.Deploy.Progress", parameters={"Polls": 0})
    wait = sfn.Wait(rel, "DeployWait", time=sfn.WaitTime.duration(Duration.seconds(30)))
    poll = tasks.CallAwsService(
        rel,
        "DeployPoll",
        service="sagemaker",
        action="describeEndpoint",
        parameters={"EndpointName": endpoint_name},
        iam_resources=[arn(f"endpoint/{endpoint_name}")],
        result_selector={
            "EndpointStatus.$": "$.EndpointStatus",
            "EndpointConfigName.$": "$.EndpointConfigName",
            "EndpointArn.$": "$.EndpointArn",
            "Details.$": "States.JsonToString($)",
        },
        result_path="$.steps.Deploy.Endpoint",
    )
    poll.add_retry(errors=["SageMaker.ThrottlingException"], max_attempts=5, jitter_strategy=sfn.JitterType.FULL)
    count = sfn.Pass(
        rel,
        "DeployCountPoll",
        result_path="$.steps.Deploy.Progress",
        parameters={"Polls.$": "States.MathAdd($.steps.Deploy.Progress.Polls, 1)"},
    )
    status = "$.steps.Deploy.Endpoint.EndpointStatus"
    check = (
        sfn.Choice(rel, "DeployCheck")
        .when(
            c.and_(
                c.string_equals(status, "InService"),
                c.string_equals_json_path(
                    "$.steps.Deploy.Endpoint.EndpointConfigName", "$.steps.EndpointConfig.EndpointConfigName"
                ),
            ),
            sfn.Pass(rel, "DeployInService"),
        )
        .when(
            c.string_equals(status, "InService"),
            sfn.Fail(
                rel,
                "DeployRolledBack",
                error="EndpointDeploymentRolledBack",
                cause="The endpoint is InService on a different endpoint config: the update was rolled back.",
            ),
        )
        .when(
            c.or_(c.string_equals(status, "Failed"), c.string_equals(status, "OutOfService")),
            sfn.Fail(
                rel, "DeployFailed", error="EndpointDeploymentFailed", cause_path="$.steps.Deploy.Endpoint.Details"
            ),
        )
        .when(
            c.number_greater_than_equals("$.steps.Deploy.Progress.Polls", 120),
            sfn.Fail(rel, "DeployTimedOut", error="EndpointDeploymentTimedOut", cause="Not InService after 120 polls"),
        )
        .otherwise(wait)
    )
    start_polling.next(wait).next(poll).next(count).next(check)
    update.next(start_polling)
    create.next(start_polling)
    deploy = sfn.Chain.start(config).next(describe).next(update)
    transform = sagemaker_task(
        rel,
        "BatchTransform",
        "createTransformJob.sync",
        {
            "TransformJobName.$": job_name(f"{slug}-transform"),
            "ModelName.$": "$.steps.Model.ModelName",
            "TransformInput": {
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri.$": run_uri(bucket, "processed/", "batch/")}
                },
                "ContentType": "text/csv",
                "SplitType": "Line",
                "CompressionType": "None",
            },
            "TransformOutput": {
                "S3OutputPath.$": run_uri(bucket, "batch/"),
                "Accept": "text/csv",
                "AssembleWith": "Line",
                "KmsKeyId": data_key.key_arn,
            },
            "TransformResources": {
                "InstanceType": "ml.m5.large",
                "InstanceCount": 1,
                "VolumeKmsKeyId": data_key.key_arn,
            },
            "BatchStrategy": "MultiRecord",
            "MaxPayloadInMB": 6,
            "Tags": TAGS,
        },
        {
            "TransformJobName.$": "$.TransformJobName",
            "TransformJobArn.$": "$.TransformJobArn",
            "TransformJobStatus.$": "$.TransformJobStatus",
            "OutputPath.$": "$.TransformOutput.S3OutputPath",
        },
        TimeoutSeconds=7200,
    )
    release = sfn.Parallel(rel, "Release", result_path=sfn.JsonPath.DISCARD).branch(deploy).branch(transform)
    release.add_catch(rel_notify, errors=["States.ALL"], result_path="$.error")
    model.add_catch(rel_notify, errors=["States.ALL"], result_path="$.error")
    definition = (
        sfn.Chain.start(load)
        .next(merge)
        .next(validate.afterwards(include_otherwise=False))
        .next(preprocess)
        .next(train)
        .next(evaluate)
        .next(read_report)
        .next(gate.afterwards(include_otherwise=False))
        .next(register)
        .next(sfn.Succeed(wf, "PipelineSucceeded"))
    )
    for task in (preprocess, train, evaluate, register):
        task.add_catch(notify, errors=["States.ALL"], result_path="$.error")
    releasing = sfn.Chain.start(model).next(release).next(sfn.Succeed(rel, "Deployed"))

    # ---- permissions: one policy for the build, two for the release ----------------------
    pass_role = iam.PolicyStatement(
        actions=["iam:PassRole"],
        resources=[exec_role.role_arn],
        conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
    )
    build_statements = [
        *job_statements("ProcessingJob", "processing-job", f"{slug}-preprocess"),
        *job_statements("TrainingJob", "training-job", f"{slug}-train"),
        iam.PolicyStatement(
            actions=[
                "sagemaker:CreateProcessingJob",
                "sagemaker:AddTags",
                "sagemaker:DescribeProcessingJob",
                "sagemaker:StopProcessingJob",
            ],
            resources=[arn(f"processing-job/{slug}-evaluate-*")],
        ),
        pass_role,
        iam.PolicyStatement(
            actions=["sagemaker:CreateModelPackage", "sagemaker:AddTags"],
            resources=[arn(f"model-package/{group_name}/*"), arn(f"model-package-group/{group_name}")],
        ),
        *runtime_statements(parts.key, name),
        iam.PolicyStatement(actions=["sns:Publish"], resources=[parts.topic.topic_arn]),
        iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey*"], resources=[parts.key.key_arn]),
        iam.PolicyStatement(actions=["s3:GetObject"], resources=[bucket.arn_for_objects("evaluation/*")]),
        iam.PolicyStatement(actions=["kms:Decrypt"], resources=[data_key.key_arn]),
    ]
    release_statements = [
        iam.PolicyStatement(
            actions=["sagemaker:CreateModel", "sagemaker:AddTags"], resources=[arn(f"model/{slug}-model-*")]
        ),
        iam.PolicyStatement(
            actions=["sagemaker:DescribeModelPackage"], resources=[arn(f"model-package/{group_name}/*")]
        ),
        iam.PolicyStatement(
            actions=["sagemaker:CreateEndpointConfig", "sagemaker:AddTags"],
            resources=[arn(f"endpoint-config/{slug}-config-*")],
        ),
        iam.PolicyStatement(
            actions=[
                "sagemaker:CreateEndpoint",
                "sagemaker:UpdateEndpoint",
                "sagemaker:DescribeEndpoint",
                "sagemaker:AddTags",
            ],
            resources=[arn(f"endpoint/{endpoint_name}"), arn(f"endpoint-config/{slug}-config-*")],
        ),
        *job_statements("TransformJob", "transform-job", f"{slug}-transform"),
        iam.PolicyStatement(
            actions=["kms:CreateGrant", "kms:DescribeKey"],
            resources=[data_key.key_arn],
            conditions={"Bool": {"kms:GrantIsForAWSResource": True}},
        ),
        pass_role,
    ]
    # lineage and the run manifest (sm_constructs.lineage, sm_constructs.manifest): the calls each run ends with
    lineage = [
        iam.PolicyStatement(
            actions=["sagemaker:CreateContext", "sagemaker:DescribeContext"], resources=[arn(f"context/{slug}-*")]
        ),
        iam.PolicyStatement(
            actions=["sagemaker:CreateAction", "sagemaker:DescribeAction"], resources=[arn(f"action/{slug}-*")]
        ),
        iam.PolicyStatement(actions=["sagemaker:CreateArtifact"], resources=[arn("artifact/*")]),
        iam.PolicyStatement(
            actions=["sagemaker:AddAssociation"],
            resources=[arn(f"context/{slug}-*"), arn(f"action/{slug}-*"), arn("artifact/*")],
        ),
        iam.PolicyStatement(actions=["sagemaker:ListArtifacts"], resources=["*"]),
    ]
    provenance_statements = [
        *lineage,
        iam.PolicyStatement(actions=["s3:PutObject"], resources=[bucket.arn_for_objects("runs/*")]),
        iam.PolicyStatement(
            actions=["kms:GenerateDataKey"],
            resources=[data_key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{Aws.REGION}.amazonaws.com"}},
        ),
    ]
    release_run = [
        *lineage,
        *runtime_statements(rel_parts.key, f"{name}-deployment"),
        iam.PolicyStatement(actions=["sns:Publish"], resources=[rel_parts.topic.topic_arn]),
        iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey*"], resources=[rel_parts.key.key_arn]),
    ]
    build_policy = policy(wf, "Permissions", role, build_statements)
    provenance_policy = policy(wf, "Permissions2", role, provenance_statements)
    release_policies = [
        policy(rel, "Permissions", rel_role, release_statements),
        policy(rel, "Permissions2", rel_role, release_run),
    ]
    sm = state_machine(
        wf,
        definition,
        parts.key,
        parts.log_group,
        role,
        timeout=Duration.seconds(32400),
        state_machine_name=name,
        comment=f"SageMaker pipeline {slug}",
    )
    sm.node.add_dependency(build_policy, provenance_policy)
    release_sm = state_machine(
        rel,
        releasing,
        rel_parts.key,
        rel_parts.log_group,
        rel_role,
        timeout=Duration.seconds(14400),
        state_machine_name=f"{name}-deployment",
        comment=f"Deploys approved versions of {group_name}",
    )
    for p in release_policies:
        release_sm.node.add_dependency(p)
    alarm(wf, "ExecutionsFailed", sm.metric_failed(period=Duration.minutes(5)), parts.topic)
    alarm(wf, "ExecutionsTimedOut", sm.metric_timed_out(period=Duration.minutes(5)), parts.topic)
    alarm(rel, "DeploymentsFailed", release_sm.metric_failed(period=Duration.minutes(5)), rel_parts.topic)
    for feature in ("_c1", "_c2"):
        drift = cloudwatch.Metric(
            namespace="aws/sagemaker/Endpoints/data-metrics",
            metric_name=f"feature_baseline_drift_{feature}",
            dimensions_map={"Endpoint": endpoint_name, "MonitoringSchedule": f"{endpoint_name}-data-quality"},
            statistic="Maximum",
            period=Duration.hours(1),
        )
        alarm(rel, f"DriftAlarm{feature.replace('_', 'C')}", drift, rel_parts.topic, threshold=0.1)

    # the release starts when a version of the group is approved
    approval_role = iam.Role(rel, "OnApprovalRole", assumed_by=iam.ServicePrincipal("events.amazonaws.com"))
    policy(
        rel,
        "OnApprovalPolicy",
        approval_role,
        [iam.PolicyStatement(actions=["states:StartExecution"], resources=[release_sm.state_machine_arn])],
    )
    events.Rule(
        rel,
        "OnApproval",
        event_pattern=events.EventPattern(
            source=["aws.sagemaker"],
            detail_type=["SageMaker Model Package State Change"],
            detail={"ModelPackageGroupName": [group_name], "ModelApprovalStatus": ["Approved"]},
        ),
        targets=[targets.SfnStateMachine(release_sm, role=approval_role.without_policy_updates())],
    )
    if index == 0:
        schedule_role = iam.Role(wf, "ScheduleRole", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"))
        policy(
            wf,
            "SchedulePolicy",
            schedule_role,
            [iam.PolicyStatement(actions=["states:StartExecution"], resources=[sm.state_machine_arn])],
        )
        scheduler.CfnSchedule(
            wf,
            "Schedule",
            schedule_expression="rate(7 days)",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=sm.state_machine_arn, role_arn=schedule_role.role_arn, input="{}"
            ),
        )
    return parts


def alarm(
    scope: Construct, name: str, metric: cloudwatch.IMetric, topic: sns.ITopic, threshold: float = 1
) -> cloudwatch.Alarm:
    created = cloudwatch.Alarm(
        scope,
        f"{name}Alarm" if not name.startswith("DriftAlarm") else name,
        metric=metric,
        threshold=threshold,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    created.add_alarm_action(cw_actions.SnsAction(topic))
    return created


def churn_tuning(scope: Construct, shared: Shared) -> None:
    """A one-step state machine running a hyperparameter tuning job."""
    group = Construct(Construct(scope, "ChurnTuning"), "Tune")
    name = "churn-tuning"
    bucket, data_key = shared.bucket, shared.key
    parts = workflow_parts(group)
    role = workflow_role(group, name)

    def channel(name: str) -> dict[str, Any]:
        return {
            "ChannelName": name,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": f"s3://{bucket.bucket_name}/processed/latest/{name}/",
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
            "InputMode": "File",
            "CompressionType": "None",
            "ContentType": "text/csv",
        }

    tune = sagemaker_task(
        group,
        "Tune",
        "createHyperParameterTuningJob.sync",
        {
            "HyperParameterTuningJobName.$": job_name("churn-tune"),
            "HyperParameterTuningJobConfig": {
                "Strategy": "Bayesian",
                "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:auc"},
                "ResourceLimits": {"MaxNumberOfTrainingJobs": 8, "MaxParallelTrainingJobs": 2},
                "ParameterRanges": {
                    "IntegerParameterRanges": [
                        {"Name": "max_depth", "MinValue": "2", "MaxValue": "6", "ScalingType": "Auto"}
                    ],
                    "ContinuousParameterRanges": [
                        {"Name": "eta", "MinValue": "0.05", "MaxValue": "0.5", "ScalingType": "Logarithmic"}
                    ],
                },
                "TrainingJobEarlyStoppingType": "Off",
            },
            "TrainingJobDefinition": {
                "AlgorithmSpecification": {
                    "TrainingImage": image("xgboost", "sagemaker-xgboost", "1.7-1"),
                    "TrainingInputMode": "File",
                },
                "RoleArn": shared.role.role_arn,
                "OutputDataConfig": {
                    "S3OutputPath": f"s3://{bucket.bucket_name}/models/tuning",
                    "KmsKeyId": data_key.key_arn,
                },
                "ResourceConfig": {
                    "InstanceType": "ml.m5.xlarge",
                    "InstanceCount": 1,
                    "VolumeSizeInGB": 30,
                    "VolumeKmsKeyId": data_key.key_arn,
                },
                "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
                "EnableNetworkIsolation": True,
                "EnableInterContainerTrafficEncryption": False,
                "InputDataConfig": [channel("train"), channel("validation")],
                "StaticHyperParameters": {"objective": "binary:logistic", "eval_metric": "auc", "num_round": "120"},
            },
            "Tags": TAGS,
        },
        {
            "HyperParameterTuningJobName.$": "$.HyperParameterTuningJobName",
            "HyperParameterTuningJobStatus.$": "$.HyperParameterTuningJobStatus",
            "BestTrainingJobName.$": "$.BestTrainingJob.TrainingJobName",
            "ModelArtifacts.$": "States.Format('{}/{}/output/model.tar.gz', "
            "$.TrainingJobDefinition.OutputDataConfig.S3OutputPath, $.BestTrainingJob.TrainingJobName)",
        },
        TimeoutSeconds=32400,
    )
    statements = [
        *job_statements("HyperParameterTuningJob", "hyper-parameter-tuning-job", "churn-tune"),
        iam.PolicyStatement(
            actions=["sagemaker:ListTags", "sagemaker:ListTrainingJobsForHyperParameterTuningJob"],
            resources=[arn("hyper-parameter-tuning-job/churn-tune-*")],
        ),
        iam.PolicyStatement(
            actions=["sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"],
            resources=[arn("training-job/churn-tune-*")],
        ),
        iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=[shared.role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        ),
        *runtime_statements(parts.key, name),
        iam.PolicyStatement(actions=["sns:Publish"], resources=[parts.topic.topic_arn]),
        iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey*"], resources=[parts.key.key_arn]),
    ]
    permissions = policy(group, "Policy", role, statements)
    tune.add_catch(notify_failure(group, parts.topic, "TuningFailed"), errors=["States.ALL"], result_path="$.error")
    sm = state_machine(
        group, tune, parts.key, parts.log_group, role, timeout=Duration.seconds(36000), state_machine_name=name
    )
    sm.node.add_dependency(permissions)
    alarm(group, "ExecutionsFailed", sm.metric_failed(period=Duration.minutes(5)), parts.topic)
    alarm(group, "ExecutionsTimedOut", sm.metric_timed_out(period=Duration.minutes(5)), parts.topic)


def notebook(scope: Construct, shared: Shared) -> None:
    """A notebook instance in an isolated VPC (flow logs, endpoints), KMS-encrypted, with an auto-stop script."""
    group = Construct(scope, "Notebook")
    name = "churn-explore"
    vpc = ec2.Vpc(
        group,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name="Private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
        restrict_default_security_group=False,
    )
    flow_key = kms.Key(group, "FlowLogKey", enable_key_rotation=True, removal_policy=RemovalPolicy.RETAIN)
    flow_key.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
            resources=["*"],
        )
    )
    flow_logs = logs.LogGroup(
        group,
        "FlowLogs",
        encryption_key=flow_key,
        retention=logs.RetentionDays.ONE_YEAR,
        removal_policy=RemovalPolicy.RETAIN,
    )
    flow_role = iam.Role(group, "FlowLogRole", assumed_by=iam.ServicePrincipal("vpc-flow-logs.amazonaws.com"))
    policy(
        group,
        "FlowLogPolicy",
        flow_role,
        [
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[flow_logs.log_group_arn],
            )
        ],
    )
    vpc.add_flow_log(
        "FlowLog",
        destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs, flow_role.without_policy_updates()),
    )
    endpoints_sg = ec2.SecurityGroup(
        group, "EndpointsSecurityGroup", vpc=vpc, allow_all_outbound=False, description="VPC interface endpoints"
    )
    vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
    for endpoint_id, service in (
        ("SagemakerApi", ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API),
        ("SagemakerRuntime", ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME),
        ("Sts", ec2.InterfaceVpcEndpointAwsService.STS),
        ("Logs", ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS),
        ("States", ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS),
    ):
        vpc.add_interface_endpoint(
            endpoint_id, service=service, security_groups=[endpoints_sg], private_dns_enabled=True
        )
    sg = ec2.SecurityGroup(group, "SecurityGroup", vpc=vpc, allow_all_outbound=False, description="Notebook instance")
    sg.add_egress_rule(ec2.Peer.ipv4(vpc.vpc_cidr_block), ec2.Port.tcp(443), "HTTPS to the VPC endpoints")

    key = kms.Key(group, "Key", enable_key_rotation=True, removal_policy=RemovalPolicy.RETAIN)
    role = iam.Role(group, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    bucket = shared.bucket
    notebook_arn = arn(f"notebook-instance/{name}")
    log_group = f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:/aws/sagemaker"
    policies = [
        policy(
            group,
            "DataPolicy",
            role,
            [
                iam.PolicyStatement(
                    actions=["s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:PutObject", "s3:DeleteObject*"],
                    resources=[bucket.bucket_arn, bucket.arn_for_objects("*")],
                ),
                iam.PolicyStatement(
                    actions=["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
                    resources=[shared.key.key_arn, key.key_arn],
                ),
                iam.PolicyStatement(
                    actions=[
                        "sagemaker:CreateProcessingJob",
                        "sagemaker:CreateTrainingJob",
                        "sagemaker:CreateTransformJob",
                        "sagemaker:AddTags",
                    ],
                    resources=[arn(f"{kind}/{name}-*") for kind in ("processing-job", "training-job", "transform-job")],
                ),
                iam.PolicyStatement(
                    actions=[
                        "sagemaker:ListProcessingJobs",
                        "sagemaker:ListTrainingJobs",
                        "sagemaker:ListTransformJobs",
                    ],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    actions=["iam:PassRole"],
                    resources=[shared.role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                ),
                iam.PolicyStatement(
                    actions=["sagemaker:StopNotebookInstance", "sagemaker:DescribeNotebookInstance"],
                    resources=[notebook_arn],
                ),
            ],
        ),
        policy(
            group,
            "ObservePolicy",
            role,
            [
                iam.PolicyStatement(
                    actions=[
                        "logs:CreateLogGroup",
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "logs:DescribeLogStreams",
                        "logs:GetLogEvents",
                        "logs:FilterLogEvents",
                    ],
                    resources=[f"{log_group}/*", f"{log_group}/*:log-stream:*"],
                ),
                iam.PolicyStatement(
                    actions=["states:StartExecution", "states:DescribeExecution", "states:ListExecutions"],
                    resources=[f"arn:{Aws.PARTITION}:states:{Aws.REGION}:{Aws.ACCOUNT_ID}:*:churn-churn*"],
                ),
                iam.PolicyStatement(
                    actions=["sagemaker:InvokeEndpoint", "sagemaker:DescribeEndpoint"],
                    resources=[arn("endpoint/churn-churn")],
                ),
            ],
        ),
    ]
    on_start = (
        "#!/bin/bash\nset -euo pipefail\nmkdir -p /home/ec2-user/.autostop\n"
        "cat > /home/ec2-user/.autostop/autostop.py <<'AUTOSTOP'\n"
        f"{AUTOSTOP.read_text()}AUTOSTOP\n"
        'echo "*/5 * * * * root /usr/bin/python3 /home/ec2-user/.autostop/autostop.py --idle-minutes 60" '
        "> /etc/cron.d/autostop\n"
    )
    lifecycle = sagemaker.CfnNotebookInstanceLifecycleConfig(
        group,
        "Lifecycle",
        notebook_instance_lifecycle_config_name=f"{name}-lifecycle",
        on_start=[
            sagemaker.CfnNotebookInstanceLifecycleConfig.NotebookInstanceLifecycleHookProperty(
                content=base64.b64encode(on_start.encode()).decode()
            )
        ],
    )
    instance = sagemaker.CfnNotebookInstance(
        group,
        "Instance",
        notebook_instance_name=name,
        instance_type="ml.t3.medium",
        role_arn=role.role_arn,
        kms_key_id=key.key_id,
        subnet_id=vpc.isolated_subnets[0].subnet_id,
        security_group_ids=[sg.security_group_id],
        direct_internet_access="Disabled",
        root_access="Disabled",
        volume_size_in_gb=20,
        platform_identifier="notebook-al2023-v1",
        lifecycle_config_name=lifecycle.attr_notebook_instance_lifecycle_config_name,
        instance_metadata_service_configuration=sagemaker.CfnNotebookInstance.InstanceMetadataServiceConfigurationProperty(
            minimum_instance_metadata_service_version="2"
        ),
    )
    for p in policies:
        instance.node.add_dependency(p)


class ChurnStack(Stack):
    """Shared data and role, ``pipelines`` churn workflows starting at ``first``; the first stack adds
    the tuning state machine and the notebook."""

    def __init__(self, scope: Construct, id: str, *, first: int, pipelines: int) -> None:
        super().__init__(scope, id, description="Churn workflow (plain aws-cdk-lib)")
        if first > 0 or pipelines > 1:
            self.node.set_context(DEFINITIONS_IN_S3, True)
        shared = Shared(self, "Shared")
        parts = None
        for i in range(first, first + pipelines):
            made = churn_pipeline(self, "Churn" if i == 0 else f"Churn{i + 1}", shared, i, parts)
            parts = parts or made
        if first == 0:
            churn_tuning(self, shared)
            notebook(self, shared)


def build(app: App, total: int) -> None:
    for first in range(0, total, PIPELINES_PER_STACK):
        stack_id = "ChurnBaseline" if first == 0 else f"ChurnBaseline{first // PIPELINES_PER_STACK + 1}"
        ChurnStack(app, stack_id, first=first, pipelines=min(PIPELINES_PER_STACK, total - first))


#: Templates are written without indentation, as aws-cdk-lib's Stack does with this context (its
#: suppressTemplateIndentation; CloudFormation's 1,000,000 bytes count the file as uploaded): the same for both apps.
CONTEXT = {"@aws-cdk/core:suppressTemplateIndentation": True}

if __name__ == "__main__":
    app = App(outdir=os.environ.get("CDK_OUTDIR"), context=CONTEXT)
    build(app, int(os.environ.get("BENCH_PIPELINES", "1")))
    app.synth()
