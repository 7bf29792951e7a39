"""SageMakerChecks, rule by rule: a compliant and a non-compliant case (and the unknowable ones) each.

Every case is a small state machine or SageMaker resource written by hand, the way a team without
sm_constructs would (``CustomState`` JSON with tokens for keys and roles, JSONPath for run-time
values), in its own scope of one app. The pack runs once over the app (cdk-nag's
``validate_scope``), and each case asserts exactly which findings of its rule it produced.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Acknowledgment, Aws, CfnParameter, Stack, Token, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct
from support import new_app, new_stack

from sm_constructs.nag import RULES, VPC_ONLY_CONTEXT, SageMakerChecks

# A name new for every attempt, written out by hand (not with the library's helper).
UNIQUE = "States.Format('{}-{}', 'job', States.ArrayGetItem(States.StringSplit(States.UUID(), '-'), 4))"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/job:1"
STATE = "Job"


@dataclass
class Env:
    """Tokens the requests refer to: a key, a role and a CloudFormation parameter of the stack."""

    stack: Stack
    key: str
    role: str
    parameter: str
    count: Any = None


def _integration(action: str, pattern: str = ".sync", sdk: bool = False) -> str:
    service = "aws-sdk:sagemaker" if sdk else "sagemaker"
    return f"arn:{Aws.PARTITION}:states:::{service}:{action}{pattern}"


def training(env: Env) -> dict[str, Any]:
    return {
        "TrainingJobName.$": UNIQUE,
        "RoleArn": env.role,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/models/", "KmsKeyId": env.key},
        "ResourceConfig": {
            "InstanceType.$": "$.instanceType",
            "InstanceCount": 1,
            "VolumeSizeInGB": 30,
            "VolumeKmsKeyId": env.key,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "EnableNetworkIsolation": True,
    }


def processing(env: Env) -> dict[str, Any]:
    return {
        "ProcessingJobName.$": UNIQUE,
        "RoleArn": env.role,
        "AppSpecification": {"ImageUri": IMAGE},
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceType": "ml.m5.large",
                "InstanceCount": 1,
                "VolumeSizeInGB": 30,
                "VolumeKmsKeyId": env.key,
            }
        },
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "out",
                    "S3Output": {
                        "S3Uri.$": "$.output",
                        "LocalPath": "/opt/ml/processing/out",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ],
            "KmsKeyId": env.key,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "NetworkConfig": {"EnableNetworkIsolation": True},
    }


def transform(env: Env) -> dict[str, Any]:
    return {
        "TransformJobName.$": UNIQUE,
        "ModelName.$": "$.model",
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/in/"}}},
        "TransformOutput": {"S3OutputPath": "s3://bucket/out/", "KmsKeyId": env.key},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeKmsKeyId": env.key},
    }


def tuning(env: Env) -> dict[str, Any]:
    definition = training(env)
    del definition["TrainingJobName.$"]
    definition["StaticHyperParameters"] = {"num_round": "100"}
    return {
        "HyperParameterTuningJobName.$": "States.Format('tune-{}', States.ArrayGetItem(States.StringSplit(States.UUID(), '-'), 4))",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
        },
        "TrainingJobDefinition": definition,
    }


def tuning_list(env: Env) -> dict[str, Any]:
    """Two training definitions (TrainingJobDefinitions[]); the second without a volume key."""
    request = tuning(env)
    first = request.pop("TrainingJobDefinition")
    second = copy.deepcopy(first)
    del second["ResourceConfig"]["VolumeKmsKeyId"]
    request["TrainingJobDefinitions"] = [{**first, "DefinitionName": "a"}, {**second, "DefinitionName": "b"}]
    return request


def model(env: Env) -> dict[str, Any]:
    return {
        "ModelName.$": UNIQUE,
        "ExecutionRoleArn": env.role,
        "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl.$": "$.modelData"},
        "EnableNetworkIsolation": True,
    }


def endpoint_config(env: Env) -> dict[str, Any]:
    return {
        "EndpointConfigName.$": UNIQUE,
        "ProductionVariants": [
            {"VariantName": "main", "ModelName.$": "$.model", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
        ],
        "KmsKeyId": env.key,
        "DataCaptureConfig": {
            "InitialSamplingPercentage": 20,
            "DestinationS3Uri": "s3://bucket/capture/",
            "KmsKeyId": env.key,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        },
    }


ACTIONS = {
    training: "createTrainingJob",
    processing: "createProcessingJob",
    transform: "createTransformJob",
    tuning: "createHyperParameterTuningJob",
    tuning_list: "createHyperParameterTuningJob",
    model: "createModel",
    endpoint_config: "createEndpointConfig",
}


def set_path(request: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = re.split(r"\.(?!\$)", path)  # "A.B.$" is key "B.$" of "A"
    for key in parents:
        request = request[int(key)] if isinstance(request, list) else request.setdefault(key, {})
    request[last] = value


def drop_path(request: dict[str, Any], path: str) -> None:
    *parents, last = re.split(r"\.(?!\$)", path)  # "A.B.$" is key "B.$" of "A"
    for key in parents:
        request = request[int(key)] if isinstance(request, list) else request[key]
    del request[last]


@dataclass
class Job:
    """A hand-written task state: one SageMaker request with changes, and its retry/catch set-up."""

    make: Callable[[Env], dict[str, Any]]
    changes: dict[str, Any] = field(default_factory=dict)
    drop: tuple[str, ...] = ()
    pattern: str | None = None
    sdk: bool = False
    #: The default names a throttled call under either integration (see the TaskRetryThrottling cases).
    retry: list[str] | None = field(
        default_factory=lambda: ["SageMaker.AmazonSageMakerException", "SageMaker.SageMakerException"]
    )
    retry_attempts: int = 3
    catch: bool = True
    in_parallel: bool = False
    in_map: bool = False
    secure_machine: bool = True
    vpc_only: bool = False

    def build(self, scope: Construct, env: Env) -> None:
        if self.vpc_only:
            scope.node.set_context(VPC_ONLY_CONTEXT, True)
        request = copy.deepcopy(self.make(env))
        for path in self.drop:
            drop_path(request, path)
        for path, value in self.changes.items():
            set_path(request, path, value(env) if callable(value) else value)
        action = ACTIONS[self.make]
        pattern = self.pattern if self.pattern is not None else (".sync" if action.endswith("Job") else "")
        state = sfn.CustomState(
            scope,
            STATE,
            state_json={"Type": "Task", "Resource": _integration(action, pattern, self.sdk), "Parameters": request},
        )
        if self.retry is not None:
            state.add_retry(errors=self.retry, max_attempts=self.retry_attempts)
        failed = sfn.Fail(scope, "Failed")
        chain: sfn.IChainable = state
        if self.in_parallel:
            parallel = sfn.Parallel(scope, "Branches")
            parallel.branch(state)
            parallel.add_catch(failed)
            chain = parallel
        elif self.in_map:
            each = sfn.Map(scope, "Each", items_path="$.items")
            each.item_processor(state)
            each.add_catch(failed)
            chain = each
        elif self.catch:
            state.add_catch(failed)
        secure = self.secure_machine
        sfn.StateMachine(
            scope,
            "Machine",
            definition_body=sfn.DefinitionBody.from_chainable(chain),
            logs=sfn.LogOptions(destination=logs.LogGroup(scope, "Logs"), level=sfn.LogLevel.ALL) if secure else None,
            encryption_configuration=sfn.CustomerManagedEncryptionConfiguration(kms.Key(scope, "Key"))
            if secure
            else None,
        )


@dataclass
class Resource:
    """An L1 SageMaker resource (or any construct) built by ``make``."""

    make: Callable[[Construct, Env], None]

    def build(self, scope: Construct, env: Env) -> None:
        self.make(scope, env)


@dataclass
class Case:
    rule: str
    id: str
    build: Job | Resource
    #: The rule's findings for this case: finding suffixes (``State::Job``) or ``NON_COMPLIANT``.
    expect: set[str] = field(default_factory=set)


FAIL = {f"State::{STATE}"}
UNVERIFIED = {f"Unverified::{STATE}"}
NON_COMPLIANT = {"NON_COMPLIANT"}


def _parameter(env: Env) -> str:
    return env.parameter


def _notebook(**overrides: Any) -> Callable[[Construct, Env], None]:
    def make(scope: Construct, env: Env) -> None:
        props: dict[str, Any] = {
            "instance_type": "ml.t3.medium",
            "role_arn": env.role,
            "kms_key_id": env.key,
            "direct_internet_access": "Disabled",
            "subnet_id": "subnet-12345678",
            "security_group_ids": ["sg-12345678"],
            "root_access": "Disabled",
            "platform_identifier": "notebook-al2023-v1",
            "instance_metadata_service_configuration": {"minimumInstanceMetadataServiceVersion": "2"},
        }
        script = overrides.pop(
            "on_start", "#!/bin/bash\naws sagemaker stop-notebook-instance --notebook-instance-name x\n"
        )
        if script is not None:
            import base64

            config = sagemaker.CfnNotebookInstanceLifecycleConfig(
                scope, "Lifecycle", on_start=[{"content": base64.b64encode(script.encode()).decode()}]
            )
            props["lifecycle_config_name"] = config.attr_notebook_instance_lifecycle_config_name
        props.update({k: (v(env) if callable(v) else v) for k, v in overrides.items()})
        sagemaker.CfnNotebookInstance(scope, "Notebook", **{k: v for k, v in props.items() if v is not None})

    return make


def _default_notebook(scope: Construct, env: Env) -> None:
    sagemaker.CfnNotebookInstance(scope, "Notebook", instance_type="ml.t3.medium", role_arn=env.role)


IDLE = {"appLifecycleManagement": {"idleSettings": {"lifecycleManagement": "ENABLED", "idleTimeoutInMinutes": 60}}}


def _domain(secure: bool) -> Callable[[Construct, Env], None]:
    def make(scope: Construct, env: Env) -> None:
        user_settings: dict[str, Any] = {"executionRole": env.role}
        extra: dict[str, Any] = {}
        if secure:
            user_settings |= {"jupyterLabAppSettings": IDLE, "codeEditorAppSettings": IDLE}
            extra = {"app_network_access_type": "VpcOnly", "kms_key_id": env.key}
        sagemaker.CfnDomain(
            scope,
            "Domain",
            auth_mode="IAM",
            domain_name="studio",
            default_user_settings=user_settings,
            subnet_ids=["subnet-12345678"],
            vpc_id="vpc-12345678",
            **extra,
        )

    return make


def _endpoint_config_l1(**overrides: Any) -> Callable[[Construct, Env], None]:
    def make(scope: Construct, env: Env) -> None:
        props: dict[str, Any] = {
            "production_variants": [
                {"variantName": "main", "modelName": "m", "instanceType": "ml.m5.large", "initialInstanceCount": 1}
            ],
            "kms_key_id": env.key,
        }
        props.update({k: (v(env) if callable(v) else v) for k, v in overrides.items()})
        sagemaker.CfnEndpointConfig(scope, "Config", **{k: v for k, v in props.items() if v is not None})

    return make


def _model_l1(isolated: bool) -> Callable[[Construct, Env], None]:
    def make(scope: Construct, env: Env) -> None:
        sagemaker.CfnModel(
            scope,
            "Model",
            execution_role_arn=env.role,
            primary_container={"image": IMAGE},
            enable_network_isolation=isolated or None,
        )

    return make


def _jsonata_training(scope: Construct, env: Env) -> None:
    """A JSONata state: the whole request is in Arguments, names and keys as {% %} expressions."""
    request = training(env)
    del request["TrainingJobName.$"]
    request["TrainingJobName"] = "{% 'job-' & $uuid() %}"
    request["ResourceConfig"] = {
        "InstanceType": "ml.m5.xlarge",
        "InstanceCount": 1,
        "VolumeSizeInGB": 30,
        "VolumeKmsKeyId": "{% $states.input.key %}",
    }
    state = sfn.CustomState(
        scope,
        STATE,
        state_json={
            "Type": "Task",
            "QueryLanguage": "JSONata",
            "Resource": _integration("createTrainingJob"),
            "Arguments": request,
        },
    )
    state.add_retry(errors=["SageMaker.AmazonSageMakerException"])
    state.add_catch(sfn.Fail(scope, "Failed"))
    sfn.StateMachine(scope, "Machine", definition_body=sfn.DefinitionBody.from_chainable(state))


def _machine_without_sagemaker(scope: Construct, env: Env) -> None:
    sfn.StateMachine(scope, "Machine", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(scope, "Nothing")))


def _machine_from_s3(scope: Construct, env: Env) -> None:
    sfn.CfnStateMachine(
        scope,
        "Machine",
        role_arn=env.role,
        definition_s3_location={"bucket": "definitions", "key": "machine.json"},
    )


def _machine_with_substitutions(secure: bool) -> Callable[[Construct, Env], None]:
    """A definition written as a template with ${...} placeholders, as DefinitionSubstitutions fill them."""

    def make(scope: Construct, env: Env) -> None:
        request = training(env)
        request["ResourceConfig"]["VolumeKmsKeyId"] = "${VolumeKey}"
        request["OutputDataConfig"]["KmsKeyId"] = "${VolumeKey}"
        request["RoleArn"] = "${Role}"
        task = {"Type": "Task", "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync", "Parameters": request}
        body = {"StartAt": STATE, "States": {STATE: {**task, "End": True}}}
        sfn.StateMachine(
            scope,
            "Machine",
            definition_body=sfn.DefinitionBody.from_string(json.dumps(body)),
            definition_substitutions={"VolumeKey": env.key if secure else env.parameter, "Role": env.role},
        )

    return make


# fmt: off
CASES = [
    # --- jobs: KMS on volumes and outputs -------------------------------------------------------
    Case("JobVolumeKms", "volume-key", Job(training)),
    Case("JobVolumeKms", "volume-no-key", Job(training, drop=("ResourceConfig.VolumeKmsKeyId",)), FAIL),
    Case("JobVolumeKms", "volume-no-key-processing", Job(processing, drop=("ProcessingResources.ClusterConfig.VolumeKmsKeyId",)), FAIL),
    Case("JobVolumeKms", "volume-key-at-run-time", Job(training, drop=("ResourceConfig.VolumeKmsKeyId",), changes={"ResourceConfig.VolumeKmsKeyId.$": "$.key"}), UNVERIFIED),
    Case("JobVolumeKms", "volume-key-parameter", Job(training, changes={"ResourceConfig.VolumeKmsKeyId": _parameter}), UNVERIFIED),
    Case("JobVolumeKms", "volume-key-literal", Job(transform, changes={"TransformResources.VolumeKmsKeyId": "alias/ml"})),
    Case("JobVolumeKms", "volume-config-at-run-time", Job(training, drop=("ResourceConfig",), changes={"ResourceConfig.$": "$.resources"}), UNVERIFIED),
    Case("JobVolumeKms", "volume-jsonata", Resource(_jsonata_training), UNVERIFIED),
    Case("JobVolumeKms", "volume-key-joined-intrinsics", Job(training, changes={"ResourceConfig.VolumeKmsKeyId": lambda env: env.parameter + env.parameter}), UNVERIFIED),
    Case("JobVolumeKms", "volume-key-arn-with-intrinsics", Job(training, changes={"ResourceConfig.VolumeKmsKeyId": lambda env: f"arn:{Aws.PARTITION}:kms:{Aws.REGION}:{Aws.ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab"})),
    Case("JobVolumeKms", "volume-tuning", Job(tuning)),
    Case("JobVolumeKms", "volume-tuning-no-key", Job(tuning, drop=("TrainingJobDefinition.ResourceConfig.VolumeKmsKeyId",)), FAIL),
    Case("JobVolumeKms", "volume-tuning-second-definition-no-key", Job(tuning_list), FAIL),
    Case("JobVolumeKms", "volume-substitution", Resource(_machine_with_substitutions(secure=True))),
    Case("JobVolumeKms", "volume-substitution-parameter", Resource(_machine_with_substitutions(secure=False)), UNVERIFIED),
    Case("JobOutputKms", "output-key", Job(processing)),
    Case("JobOutputKms", "output-no-key", Job(transform, drop=("TransformOutput.KmsKeyId",)), FAIL),
    Case("JobOutputKms", "output-no-key-training", Job(training, drop=("OutputDataConfig.KmsKeyId",)), FAIL),
    # --- jobs: network ------------------------------------------------------------------------
    Case("JobNetworkIsolation", "isolated", Job(processing)),
    Case("JobNetworkIsolation", "not-isolated", Job(processing, drop=("NetworkConfig",)), FAIL),
    Case("JobNetworkIsolation", "isolation-false", Job(training, changes={"EnableNetworkIsolation": False}), FAIL),
    Case("JobNetworkIsolation", "isolation-at-run-time", Job(training, drop=("EnableNetworkIsolation",), changes={"EnableNetworkIsolation.$": "$.isolate"}), UNVERIFIED),
    Case("JobNetworkIsolation", "transform-has-no-such-field", Job(transform)),
    Case("JobInterContainerEncryption", "one-instance", Job(training)),
    Case("JobInterContainerEncryption", "two-instances", Job(training, changes={"ResourceConfig.InstanceCount": 2}), FAIL),
    Case("JobInterContainerEncryption", "two-instances-encrypted", Job(training, changes={"ResourceConfig.InstanceCount": 2, "EnableInterContainerTrafficEncryption": True})),
    Case("JobInterContainerEncryption", "two-processing-instances", Job(processing, changes={"ProcessingResources.ClusterConfig.InstanceCount": 2}), FAIL),
    Case("JobInterContainerEncryption", "count-from-parameter", Job(training, changes={"ResourceConfig.InstanceCount": lambda env: Token.as_number(env.count)}), UNVERIFIED),
    Case("JobInterContainerEncryption", "count-at-run-time", Job(training, drop=("ResourceConfig.InstanceCount",), changes={"ResourceConfig.InstanceCount.$": "$.count"}), UNVERIFIED),
    Case("JobVpcConfig", "vpc-not-asked", Job(training)),
    Case("JobVpcConfig", "vpc-asked-missing", Job(training, vpc_only=True), FAIL),
    Case("JobVpcConfig", "vpc-asked-present", Job(processing, vpc_only=True, changes={"NetworkConfig.VpcConfig": {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}})),
    Case("JobVpcConfig", "vpc-asked-model", Job(model, vpc_only=True), FAIL),
    # --- jobs: limits, spot ---------------------------------------------------------------------
    Case("JobMaxRuntime", "max-runtime", Job(training)),
    Case("JobMaxRuntime", "no-max-runtime", Job(processing, drop=("StoppingCondition",)), FAIL),
    Case("JobMaxRuntime", "transform-has-no-limit", Job(transform)),
    Case("JobSpotCheckpoints", "on-demand", Job(training)),
    Case("JobSpotCheckpoints", "spot-checkpoints", Job(training, changes={"EnableManagedSpotTraining": True, "CheckpointConfig": {"S3Uri": "s3://bucket/ckpt/"}, "StoppingCondition.MaxWaitTimeInSeconds": 7200})),
    Case("JobSpotCheckpoints", "spot-checkpoints-from-state", Job(training, changes={"EnableManagedSpotTraining": True, "CheckpointConfig": {"S3Uri.$": "$.checkpoints"}, "StoppingCondition.MaxWaitTimeInSeconds.$": "$.maxWait"})),
    Case("JobSpotCheckpoints", "spot-no-checkpoints", Job(training, changes={"EnableManagedSpotTraining": True, "StoppingCondition.MaxWaitTimeInSeconds": 7200}), FAIL),
    Case("JobSpotCheckpoints", "spot-at-run-time", Job(training, changes={"EnableManagedSpotTraining.$": "$.spot"}), UNVERIFIED),
    # --- states: integration pattern, retry, catch, names ---------------------------------------
    Case("JobSync", "sync", Job(training)),
    Case("JobSync", "request-response", Job(training, pattern=""), FAIL),
    Case("JobSync", "sdk", Job(processing, pattern="", sdk=True), FAIL),
    Case("TaskRetryThrottling", "retry", Job(model)),
    Case("TaskRetryThrottling", "retry-all", Job(training, retry=["States.ALL"])),
    Case("TaskRetryThrottling", "no-retry", Job(endpoint_config, retry=None), FAIL),
    Case("TaskRetryThrottling", "retry-other-error", Job(training, retry=["States.Timeout"]), FAIL),
    Case("TaskRetryThrottling", "retry-zero-attempts", Job(training, retry_attempts=0), FAIL),
    # Step Functions names an error by the SDK exception; SageMaker's API does not model ThrottlingException,
    # so the optimized integration reports it as AmazonSageMakerException, the AWS SDK one as SageMakerException
    # (Developer Guide, connect-sagemaker example; supported-services-awssdk) and neither as ThrottlingException.
    Case("TaskRetryThrottling", "optimized", Job(training, retry=["SageMaker.AmazonSageMakerException"])),
    Case("TaskRetryThrottling", "optimized-sdk-name", Job(training, retry=["SageMaker.SageMakerException"]), FAIL),
    Case("TaskRetryThrottling", "unreported-name", Job(model, retry=["SageMaker.ThrottlingException"]), FAIL),
    Case("TaskRetryThrottling", "sdk", Job(model, sdk=True, retry=["SageMaker.SageMakerException"])),
    Case("TaskRetryThrottling", "sdk-optimized-name", Job(model, sdk=True, retry=["SageMaker.AmazonSageMakerException"]), FAIL),
    Case("TaskRetryThrottling", "sdk-task-failed", Job(model, sdk=True, retry=["States.TaskFailed"])),
    Case("JobCatch", "catch", Job(training)),
    Case("JobCatch", "catch-on-parallel", Job(transform, catch=False, in_parallel=True)),
    Case("JobCatch", "catch-on-map", Job(processing, catch=False, in_map=True)),
    Case("JobCatch", "no-catch", Job(training, catch=False), FAIL),
    Case("UniqueJobName", "uuid-name", Job(training)),
    Case("UniqueJobName", "uuid-name-tuning", Job(tuning)),
    Case("UniqueJobName", "fixed-name", Job(training, drop=("TrainingJobName.$",), changes={"TrainingJobName": "train"}), FAIL),
    Case("UniqueJobName", "execution-name", Job(processing, drop=("ProcessingJobName.$",), changes={"ProcessingJobName.$": "$$.Execution.Name"}), FAIL),
    Case("UniqueJobName", "execution-name-and-attempt", Job(model, drop=("ModelName.$",), changes={"ModelName.$": "States.Format('{}-{}', $$.Execution.Name, $$.State.RetryCount)"}), FAIL),
    Case("UniqueJobName", "tuning-name-too-long", Job(tuning, drop=("HyperParameterTuningJobName.$",), changes={"HyperParameterTuningJobName.$": UNIQUE.replace("'job'", "'churn-hyperparameter-tuning'")}), FAIL),
    Case("UniqueJobName", "name-in-jsonata", Resource(_jsonata_training), UNVERIFIED),
    Case("UniqueJobName", "name-from-input", Job(training, drop=("TrainingJobName.$",), changes={"TrainingJobName.$": "$.name"}), UNVERIFIED),
    # --- hosting ------------------------------------------------------------------------------
    Case("EndpointConfigKms", "config-key", Job(endpoint_config)),
    Case("EndpointConfigKms", "config-no-key", Job(endpoint_config, drop=("KmsKeyId",)), FAIL),
    Case("EndpointConfigKms", "config-serverless", Job(endpoint_config, drop=("KmsKeyId",), changes={"ProductionVariants": [{"VariantName": "main", "ModelName": "m", "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 2}}]})),
    Case("EndpointConfigKms", "l1-config-key", Resource(_endpoint_config_l1())),
    Case("EndpointConfigKms", "l1-config-no-key", Resource(_endpoint_config_l1(kms_key_id=None)), NON_COMPLIANT),
    Case("DataCaptureKms", "capture-key", Job(endpoint_config)),
    Case("DataCaptureKms", "capture-no-key", Job(endpoint_config, drop=("DataCaptureConfig.KmsKeyId",)), FAIL),
    Case("DataCaptureKms", "l1-no-capture", Resource(_endpoint_config_l1())),
    Case("DataCaptureKms", "l1-capture-no-key", Resource(_endpoint_config_l1(data_capture_config={"initialSamplingPercentage": 10, "destinationS3Uri": "s3://bucket/c/", "captureOptions": [{"captureMode": "Input"}]})), NON_COMPLIANT),
    Case("ModelNetworkIsolation", "model-isolated", Job(model)),
    Case("ModelNetworkIsolation", "model-not-isolated", Job(model, drop=("EnableNetworkIsolation",)), FAIL),
    Case("ModelNetworkIsolation", "l1-model-isolated", Resource(_model_l1(True))),
    Case("ModelNetworkIsolation", "l1-model-not-isolated", Resource(_model_l1(False)), NON_COMPLIANT),
    # --- notebook instances -------------------------------------------------------------------
    Case("NotebookNoRoot", "notebook-secure", Resource(_notebook())),
    Case("NotebookNoRoot", "notebook-default", Resource(_default_notebook), NON_COMPLIANT),
    Case("NotebookNoDirectInternet", "notebook-secure", Resource(_notebook())),
    Case("NotebookNoDirectInternet", "notebook-default", Resource(_default_notebook), NON_COMPLIANT),
    Case("NotebookNoDirectInternet", "notebook-no-subnet", Resource(_notebook(subnet_id=None, security_group_ids=None)), NON_COMPLIANT),
    Case("NotebookImdsV2", "notebook-secure", Resource(_notebook())),
    Case("NotebookImdsV2", "notebook-default", Resource(_default_notebook), NON_COMPLIANT),
    Case("NotebookImdsV2", "notebook-imds-parameter", Resource(_notebook(instance_metadata_service_configuration=lambda env: {"minimumInstanceMetadataServiceVersion": env.parameter})), {"Unverified::InstanceMetadataServiceConfiguration"}),
    Case("NotebookKms", "notebook-secure", Resource(_notebook())),
    Case("NotebookKms", "notebook-default", Resource(_default_notebook), NON_COMPLIANT),
    Case("NotebookIdleStop", "notebook-secure", Resource(_notebook())),
    Case("NotebookIdleStop", "notebook-default", Resource(_default_notebook), NON_COMPLIANT),
    Case("NotebookIdleStop", "notebook-script-without-stop", Resource(_notebook(on_start="#!/bin/bash\npip install pandas\n")), NON_COMPLIANT),
    Case("NotebookIdleStop", "notebook-config-elsewhere", Resource(_notebook(on_start=None, lifecycle_config_name="shared-config")), {"Unverified::LifecycleConfigName"}),
    # --- Studio domains -----------------------------------------------------------------------
    Case("DomainVpcOnly", "domain-secure", Resource(_domain(secure=True))),
    Case("DomainVpcOnly", "domain-default", Resource(_domain(secure=False)), NON_COMPLIANT),
    Case("DomainKms", "domain-secure", Resource(_domain(secure=True))),
    Case("DomainKms", "domain-default", Resource(_domain(secure=False)), NON_COMPLIANT),
    Case("DomainIdleShutdown", "domain-secure", Resource(_domain(secure=True))),
    Case("DomainIdleShutdown", "domain-default", Resource(_domain(secure=False)), NON_COMPLIANT),
    # --- state machines -----------------------------------------------------------------------
    Case("StateMachineLoggingAll", "machine-secure", Job(training)),
    Case("StateMachineLoggingAll", "machine-default", Job(training, secure_machine=False), NON_COMPLIANT),
    Case("StateMachineLoggingAll", "machine-without-sagemaker", Resource(_machine_without_sagemaker)),
    Case("StateMachineCmk", "machine-secure", Job(training)),
    Case("StateMachineCmk", "machine-default", Job(training, secure_machine=False), NON_COMPLIANT),
    Case("StateMachineReadable", "machine-secure", Job(training)),
    Case("StateMachineReadable", "machine-from-s3", Resource(_machine_from_s3), {"Unverified::Definition"}),
]
# fmt: on


@pytest.fixture(scope="module")
def findings() -> dict[str, set[str]]:
    """Rule findings per case scope: ``{"volume-key": {"SageMaker-JobVolumeKms[State::Job]", ...}}``."""
    app = new_app()
    stack = new_stack(app)
    parameter = CfnParameter(stack, "KeyArn", type="String")
    env = Env(
        stack=stack,
        key=kms.Key(stack, "Key").key_arn,
        role=iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")).role_arn,
        parameter=parameter.value_as_string,
        count=CfnParameter(stack, "Count", type="Number").value_as_number,
    )
    built: set[str] = set()
    for case in CASES:
        if case.id not in built:
            case.build.build(Construct(stack, case.id), env)
            built.add(case.id)
    report = SageMakerChecks(app).validate_scope(app)
    found: dict[str, set[str]] = {}
    for violation in report.violations:
        for resource in violation.violating_resources:
            scope = resource.construct_path.split("/")[1]
            found.setdefault(scope, set()).add(violation.rule_name)
    return found


def _rule_findings(found: set[str], rule: str) -> set[str]:
    prefix = f"SageMaker-{rule}"
    out = set()
    for name in found:
        if name == prefix:
            out.add("NON_COMPLIANT")
        elif name.startswith(prefix + "["):
            out.add(name[len(prefix) + 1 : -1])
    return out


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.rule}-{c.id}")
def test_rule(findings: dict[str, set[str]], case: Case) -> None:
    assert _rule_findings(findings.get(case.id, set()), case.rule) == case.expect


def test_every_rule_has_a_compliant_and_a_non_compliant_case() -> None:
    for rule in RULES:
        cases = [c for c in CASES if c.rule == rule.id]
        assert any(not c.expect for c in cases), rule.id
        assert any(c.expect for c in cases), rule.id


def test_no_rule_throws(findings: dict[str, set[str]]) -> None:
    """A rule that raises is reported by cdk-nag under its bare id; only L1 rules may report that (NON_COMPLIANT)."""
    state_machine_rules = {r.id for r in RULES if r.resource_types == {"AWS::StepFunctions::StateMachine"}}
    state_machine_rules -= {"StateMachineLoggingAll", "StateMachineCmk", "StateMachineReadable"}
    for scope, names in findings.items():
        for rule in state_machine_rules:
            assert f"SageMaker-{rule}" not in names, (scope, rule)


def test_acknowledged_findings_are_not_reported() -> None:
    """cdk-nag's acknowledgements (with a reason) silence exactly the acknowledged finding."""
    app = new_app()
    stack = new_stack(app)
    env = Env(stack, kms.Key(stack, "Key").key_arn, "arn:aws:iam::123456789012:role/r", "")
    scope = Construct(stack, "Case")
    Job(training, drop=("ResourceConfig.VolumeKmsKeyId", "EnableNetworkIsolation")).build(scope, env)
    Validations.of(scope).acknowledge(
        Acknowledgment(
            id=f"SageMaker-JobVolumeKms[State::{STATE}]", reason="ml.g5 instances: NVMe storage encrypted in hardware"
        )
    )
    names = {v.rule_name for v in SageMakerChecks(app).validate_scope(app).violations}
    assert f"SageMaker-JobVolumeKms[State::{STATE}]" not in names
    assert f"SageMaker-JobNetworkIsolation[State::{STATE}]" in names


def test_verbose_findings_explain_why_and_how_to_fix() -> None:
    app = new_app()
    stack = new_stack(app)
    _default_notebook(Construct(stack, "Case"), Env(stack, "", "arn:aws:iam::123456789012:role/r", ""))
    (violation, *_) = [
        v
        for v in SageMakerChecks(app, verbose=True).validate_scope(app).violations
        if v.rule_name == "SageMaker-NotebookNoRoot"
    ]
    assert "RootAccess: Disabled" in violation.description and "NotebookInstance" in violation.description


def test_every_rule_explains_the_fix_with_and_without_sm_constructs() -> None:
    for rule in RULES:
        assert rule.info and rule.explanation, rule.id
        assert "Fix" in rule.explanation, rule.id


def test_guide_table_lists_every_rule() -> None:
    guide = (Path(__file__).resolve().parent.parent / "docs" / "nag-pack.md").read_text()
    listed = re.findall(r"^\| `SageMaker-(\w+)` \|", guide, re.MULTILINE)
    assert listed == [rule.id for rule in RULES]


def test_name_evaluation_stays_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """An emulator's endpoint in the environment (``make demo`` synthesizes beside one) is not used."""
    from sm_constructs.nag import _names

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setenv("SM_CONSTRUCTS_CACHE_DIR", "off")  # evaluated here, not read from an earlier run
    monkeypatch.setattr(_names, "_CACHE", {})
    monkeypatch.setattr(_names, "_kept_loaded", False)
    evaluation = _names.evaluate_name(UNIQUE)
    assert evaluation.error == "" and len(evaluation.attempts) == 2
