"""ModelDeployment: deploy a Model Registry version when it is approved.

An EventBridge rule on the registry's "SageMaker Model Package State Change" event (a version of
the group became ``Approved``) starts a Step Functions state machine that deploys that version:
CreateModel from the version (``ModelPackageName``) → CreateEndpointConfig → create-or-update
the endpoint with its InService wait and rollback detection (:class:`EndpointDeployment`, with
autoscaling) → optionally a batch transform with the same model.

Ordering: approvals are deployed in the order their events arrive and the later one wins. Each
execution checks, when it starts and again just before it touches the endpoint, that its version
is still ``Approved`` and that no later execution of this state machine has started (Step
Functions lists executions newest first); otherwise it ends as ``Superseded`` without changing
the endpoint.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ._events import APPROVAL_EVENT
from ._flags import pin_feature_flags
from ._iam import ManagedPolicyRole, service_of_this_account
from ._iam_facts import (
    ENDPOINT,
    EVENTS_PRINCIPAL,
    INVOKE_ENDPOINT_ACTIONS,
    LIST_EXECUTIONS_ACTIONS,
    MONITORING_SCHEDULE,
    UPDATE_MODEL_PACKAGE_ACTIONS,
)
from ._kms import STACK_JOB_KEY, StackJobKey
from ._memo import aws, statement
from ._sfn_errors import SDK_THROTTLING_ERROR
from ._validation import Problems, check_state_machine_name, typed
from ._workflow import NotifiedWorkflow
from .jobs._base import SageMakerDefinition, SageMakerTask, add_default_retry
from .jobs._common import NetworkConfig
from .jobs.autoscaling import EndpointAutoscaling
from .jobs.hosting import (
    AsyncInferenceConfig,
    BlueGreenDeployment,
    DataCapture,
    EndpointConfigDefinition,
    EndpointDeployment,
    ModelDefinition,
)
from .jobs.monitoring import DataQualityJobDefinition, DataQualityMonitor, MonitoringScheduleDefinition
from .jobs.refs import IModelPackageGroup, IModelRef, describe_versions_statement, group_versions_arn
from .jobs.registry import ModelPackageVersion
from .lineage import RunLineage, acknowledge_lineage, lineage_prefix, lineage_step
from .release import SMOKE_TEST_KEY, SmokeTest

__all__ = ["APPROVAL_EVENT", "ModelDeployment"]


class ModelDeployment(NotifiedWorkflow):
    """Deploys each Model Registry version of ``group`` that becomes ``Approved``.

    Usable on its own (any process that registers and approves versions) or after an
    :class:`~sm_constructs.MlPipeline` with ``approval="manual"`` or ``"auto"``. Rejections and
    versions of other groups start nothing (the rule's event pattern).

    :param group: the model package group whose approvals are deployed.
    :param role: the execution role the model's containers run as; it must pull the versions'
        image and read their artifacts.
    :param endpoint_name: the endpoint (created on the first approval, updated on later ones).
    :param instance_type: Default: ``ml.m5.large``.
    :param initial_instance_count: Default: 1.
    :param async_inference: asynchronous endpoint. Default: - real-time.
    :param data_capture: capture requests and responses (for monitoring). Default: - none.
    :param kms_key: encrypts the endpoint's storage volume. Default: - the stack's job key; ``None``:
        AWS-managed.
    :param network: the model's VPC and isolation. Default: - no VPC, no isolation.
    :param deployment: blue/green policy for updates. Default: - SageMaker's default update.
    :param autoscaling: scale the variant once InService. Default: - no autoscaling.
    :param monitoring: data-quality monitoring of the endpoint against the baseline registered with
        each version (needs ``data_capture`` with ``Input``): after InService (and the batch
        transform) the deployment creates the version's job definition and points the endpoint's
        schedule at it; drift alarms go to the notification topic. Default: - none.
    :param batch_transform: builds a batch transform of the deployed model, e.g.
        ``lambda scope, model: TransformDefinition(scope, "BatchTransform", model=model, ...)``;
        it runs after the endpoint is InService. Default: - none.
    :param name_prefix: prefix of the model and endpoint config names. Default: - the endpoint name.
    :param encryption_key: encrypts the state machine, its logs and the notification topic.
        Default: - a new customer-managed key with rotation.
    :param notification_topic: told of failed deployments; a topic encrypted with a customer-managed
        key (``master_key``) is published to with that key. Default: - a new encrypted topic.
    :param log_group: the execution logs (one shared by several workflows lets a stack hold more of
        them). Default: - a new log group encrypted with ``encryption_key``, kept for one year.
    :param poll_interval: endpoint status polling. Default: 30 seconds.
    :param max_wait: longest wait for InService. Default: 1 hour.
    :param state_machine_name: Default: ``<endpoint name>-deployment``.
    :param smoke_test: invoke the endpoint once it is InService (after any batch transform) and record
        the result on the version (``CustomerMetadataProperties``, see :class:`~sm_constructs.SmokeTest`);
        a failed test fails the deployment. Default: - no smoke test.
    :param required_metadata: deploy only versions whose ``CustomerMetadataProperties`` hold these
        values (read from the registry when the execution starts, e.g.
        :data:`~sm_constructs.PRODUCTION_GATE`: passed staging and approved for production); others end
        as ``NotPromoted`` without touching the endpoint. Default: - every approved version.
    :param tags: tags on the endpoint it creates. Default: - none.
    :param removal_policy: for the key, the topic, the log group and the state machine. Default:
        ``RemovalPolicy.RETAIN``.
    :param lineage: record each deployment (the version, the endpoint, the batch transform's data) as
        SageMaker ML Lineage Tracking entities (:mod:`sm_constructs.lineage`); a deployment that failed
        before its smoke test records what ran and the step it failed at. Default: True.
    """

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        group: IModelPackageGroup,
        role: iam.IRole,
        endpoint_name: str,
        instance_type: str = "ml.m5.large",
        initial_instance_count: int = 1,
        async_inference: AsyncInferenceConfig | None = None,
        data_capture: DataCapture | None = None,
        kms_key: kms.IKey | StackJobKey | None = STACK_JOB_KEY,
        network: NetworkConfig | None = None,
        deployment: BlueGreenDeployment | None = None,
        autoscaling: EndpointAutoscaling | None = None,
        batch_transform: Callable[[Construct, IModelRef], SageMakerDefinition] | None = None,
        monitoring: DataQualityMonitor | None = None,
        name_prefix: str | None = None,
        encryption_key: kms.IKey | None = None,
        notification_topic: sns.ITopic | None = None,
        poll_interval: Duration | None = None,
        max_wait: Duration | None = None,
        state_machine_name: str | None = None,
        smoke_test: SmokeTest | None = None,
        required_metadata: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        log_group: logs.ILogGroup | None = None,
        lineage: bool = True,
    ) -> None:
        state_machine_name = self._validate(
            scope,
            id,
            endpoint_name=endpoint_name,
            state_machine_name=state_machine_name,
            required_metadata=required_metadata,
            smoke_test=smoke_test,
            async_inference=async_inference,
            data_capture=data_capture,
            monitoring=monitoring,
        )
        super().__init__(scope, id)
        pin_feature_flags(self)
        self.group = group
        self._endpoint_name = endpoint_name
        prefix = (name_prefix or endpoint_name).lower()
        self._build_notifications(
            encryption_key=encryption_key,
            notification_topic=notification_topic,
            removal_policy=removal_policy,
            key_description=f"Encrypts the {self.node.path} deployments, their logs and notifications",
        )
        self._build_release(
            role=role,
            prefix=prefix,
            network=network,
            tags=tags,
            endpoint_config=dict(
                instance_type=instance_type,
                initial_instance_count=initial_instance_count,
                async_inference=async_inference,
                data_capture=data_capture,
                kms_key=kms_key,
            ),
            endpoint=dict(
                deployment=deployment, autoscaling=autoscaling, poll_interval=poll_interval, max_wait=max_wait
            ),
            batch_transform=batch_transform,
        )
        self._build_monitoring(monitoring, role=role, network=network, prefix=prefix, tags=tags)
        self._failure = self._build_failure_path(
            "DeploymentFailed",
            "SageMaker model deployment failed",
            {"modelPackageArn": sfn.JsonPath.string_at("$.package.ModelPackageArn")},
        )
        self._record_lineage = lineage
        #: the catches before the run's lineage, each naming its step (``<step>Error``), until it is built
        self._unrecorded = [] if lineage else None
        chain = self._build_workflow(state_machine_name, required_metadata=required_metadata, smoke_test=smoke_test)
        seconds = 3600 + int((max_wait or Duration.hours(1)).to_seconds())
        if self.batch_transform is not None and self.batch_transform.default_timeout() is not None:
            seconds += int(self.batch_transform.default_timeout().to_seconds())  # type: ignore[union-attr]
        self._build_state_machine(
            chain,
            timeout=Duration.seconds(seconds),
            state_machine_name=state_machine_name,
            removal_policy=removal_policy,
            comment=f"Deploys approved versions of model package group {group.group_name} to {endpoint_name}",
            log_group=log_group,
        )
        if lineage:
            acknowledge_lineage(self.state_machine.role)
        self._build_trigger()
        self._build_alarms()
        self._grant_publish()

    # ---- stages ---------------------------------------------------------------------------------
    @classmethod
    def _validate(
        cls,
        scope: Construct,
        id: str,
        *,
        endpoint_name: str,
        state_machine_name: str | None,
        required_metadata: Mapping[str, str] | None,
        smoke_test: SmokeTest | None,
        async_inference: AsyncInferenceConfig | None,
        data_capture: DataCapture | None,
        monitoring: DataQualityMonitor | None,
    ) -> str:
        """Every problem of the props at once; the state machine's name."""
        problems = Problems.for_construct(cls.__name__, scope, id)
        for key in required_metadata or {}:
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,127}", key):
                problems.add("required_metadata", key, "keys are read as JSONPath fields: letters, digits and '_' only")
        if smoke_test is not None and async_inference is not None:
            problems.conflict(["smoke_test", "async_inference"], "the smoke test invokes a real-time endpoint")
        problems.name("endpoint_name", endpoint_name, max_len=ENDPOINT.name_max, what="endpoint name")
        state_machine_name = state_machine_name or f"{endpoint_name}-deployment"
        check_state_machine_name(problems, "state_machine_name", state_machine_name)
        if monitoring is not None:
            _check_monitoring(problems, monitoring, endpoint_name, data_capture, async_inference)
        problems.raise_if_any()
        return state_machine_name

    def _build_release(
        self,
        *,
        role: iam.IRole,
        prefix: str,
        network: NetworkConfig | None,
        tags: Mapping[str, str] | None,
        endpoint_config: Mapping[str, Any],
        endpoint: Mapping[str, Any],
        batch_transform: Callable[[Construct, IModelRef], SageMakerDefinition] | None,
    ) -> None:
        """What is deployed: a model from the approved version the event names, its endpoint config,
        the endpoint's create-or-update (``Deploy``) and the optional batch transform."""
        version = ModelPackageVersion(self.group, sfn.JsonPath.string_at("$.package.ModelPackageArn"))
        #: The model created from the approved version.
        self.model = ModelDefinition(
            self, "Model", role=role, model_package=version, network=network, name_prefix=f"{prefix}-model", tags=tags
        )
        #: The endpoint config of each deployment.
        self.endpoint_config = EndpointConfigDefinition(
            self, "EndpointConfig", model=self.model, name_prefix=f"{prefix}-config", tags=tags, **endpoint_config
        )
        #: The endpoint's create-or-update and InService wait.
        self.endpoint = EndpointDeployment(
            self, "Deploy", endpoint_name=self._endpoint_name, config=self.endpoint_config, tags=tags, **endpoint
        )
        self.batch_transform = batch_transform(self, self.model) if batch_transform is not None else None

    def _build_monitoring(
        self,
        monitoring: DataQualityMonitor | None,
        *,
        role: iam.IRole,
        network: NetworkConfig | None,
        prefix: str,
        tags: Mapping[str, str] | None,
    ) -> None:
        """With ``monitoring``: the data-quality job definition and schedule each release sets up."""
        self.monitoring = monitoring
        #: The job definition and schedule of each release (with ``monitoring``).
        self.monitoring_job: DataQualityJobDefinition | None = None
        self.monitoring_schedule: MonitoringScheduleDefinition | None = None
        #: Alarms on the drift of ``monitoring.alarm_features``.
        self.drift_alarms: list[cloudwatch.Alarm] = []
        if monitoring is None:
            return
        baseline = "$.steps.MonitorBaseline.DriftCheckBaselines.ModelDataQuality"
        self.monitoring_job = DataQualityJobDefinition(
            self,
            "MonitorJobDefinition",
            role=monitoring.role or role,
            endpoint_name=self._endpoint_name,
            statistics_uri=sfn.JsonPath.string_at(f"{baseline}.Statistics.S3Uri"),
            constraints_uri=sfn.JsonPath.string_at(f"{baseline}.Constraints.S3Uri"),
            output_uri=monitoring.output_uri,
            output_kms_key=monitoring.output_kms_key,
            cluster=monitoring.cluster,
            max_runtime=monitoring.max_runtime,
            network=monitoring.network or network,
            name_prefix=f"{prefix}-dq",
            tags=tags,
        )
        self.monitoring_schedule = MonitoringScheduleDefinition(
            self,
            "MonitorSchedule",
            schedule_name=monitoring.schedule_name or f"{self._endpoint_name}-data-quality",
            job_definition=self.monitoring_job,
            frequency=monitoring.frequency,
            tags=tags,
        )

    def _build_workflow(
        self, state_machine_name: str, *, required_metadata: Mapping[str, str] | None, smoke_test: SmokeTest | None
    ) -> sfn.Chain:
        """``ReadApproval`` → promotion gate → still current? → model, config → still current? →
        endpoint → transform → smoke test → (still current? → monitoring) → ``Deployed``."""
        group = self.group
        own_arn = Stack.of(self).format_arn(
            service="states",
            resource="stateMachine",
            resource_name=state_machine_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        superseded = sfn.Succeed(
            self,
            "Superseded",
            comment="The version is no longer Approved, or a later approval is being deployed: nothing changed.",
        )
        read = sfn.Pass(
            self,
            "ReadApproval",
            parameters={
                "package": {
                    "ModelPackageArn.$": "$.detail.ModelPackageArn",
                    "ModelPackageVersion.$": "$.detail.ModelPackageVersion",
                    "ModelPackageGroupName.$": "$.detail.ModelPackageGroupName",
                },
                "execution.$": "$$.Execution.Id",
                "steps": {},
            },
        )
        chain = sfn.Chain.start(read)
        if required_metadata:
            chain = chain.next(self._promotion_gate(group, required_metadata))
        chain = chain.next(self._still_current("Start", group, own_arn, superseded))
        for definition in (self.model, self.endpoint_config):
            chain = chain.next(self._task(definition))
        chain = chain.next(self._still_current("BeforeEndpoint", group, own_arn, superseded))
        chain = chain.next(self._endpoint_states())
        if self.batch_transform is not None:
            chain = chain.next(self._task(self.batch_transform))
        if self._record_lineage:
            chain = chain.next(self._lineage_states())
        if smoke_test is not None:
            chain = chain.next(self._smoke_test(smoke_test, group, self._endpoint_name))
        deployed = sfn.Succeed(self, "Deployed")
        if self.monitoring_job is None or self.monitoring_schedule is None:
            return chain.next(deployed)
        chain = chain.next(self._still_current("BeforeMonitoring", group, own_arn, superseded))
        return chain.next(self._monitoring_states(group, deployed))

    def _endpoint_states(self) -> sfn.Parallel:
        """The endpoint step in its ``Parallel`` state (:meth:`_endpoint_step`), every failure of it
        through ``<id>Error`` to the run's lineage and the notification."""
        wrapped = self._endpoint_step(self.endpoint)
        self._catch(wrapped, self.endpoint.node.id)
        return wrapped

    def _lineage_states(self) -> RunLineage:
        """The run's lineage (:class:`RunLineage`): the endpoint it deployed and the batch transform, and
        on a failed run (every catch before it names its step first) what ran and the step it failed at,
        then the failure path; a failure after it (the smoke test, monitoring) notifies at once."""
        steps = [*lineage_step(self.endpoint, model=self.model), *lineage_step(self.batch_transform)]
        prefix = lineage_prefix(self.node.path)
        lineage = RunLineage(self, "Lineage", prefix=prefix, steps=steps, failure=self._failure, failed_runs=True)
        self._record_failures(lineage)
        return lineage

    def _build_trigger(self) -> None:
        """``OnApproval``: the registry's approval events of this group start the state machine."""
        self.rule = events.Rule(
            self,
            "OnApproval",
            description=f"Starts {self.node.path} when a version of {self.group.group_name} is approved",
            event_pattern=self.event_pattern(),
        )
        self.rule.add_target(
            events_targets.SfnStateMachine(
                self.state_machine,
                role=ManagedPolicyRole(self, "OnApprovalRole", assumed_by=service_of_this_account(EVENTS_PRINCIPAL)),
            )
        )

    def _build_alarms(self) -> None:
        """A failed deployment, and each monitored feature's drift, alarm on the topic."""
        self._alarm(
            "DeploymentsFailedAlarm",
            self.state_machine.metric_failed(period=Duration.minutes(5)),
            description=f"{self.node.path}: a deployment failed",
        )
        monitoring, schedule, endpoint_name = self.monitoring, self.monitoring_schedule, self._endpoint_name
        if monitoring is None or schedule is None:
            return
        for feature in monitoring.alarm_features:
            # No data (not breaching): no monitoring run in the period (no traffic captured, or before the first run).
            drift = self._alarm(
                f"DriftAlarm{_alarm_id(feature)}",
                monitoring.drift_metric(endpoint_name, schedule.schedule_name, feature),
                threshold=monitoring.drift_threshold,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                description=f"{self.node.path}: feature {feature} of {endpoint_name} drifted from the "
                f"deployed version's baseline (Model Monitor, above {monitoring.drift_threshold})",
            )
            self.drift_alarms.append(drift)

    # ---- public -------------------------------------------------------------------------------
    def event_pattern(self) -> events.EventPattern:
        """Approvals of this group's versions only (rejections and other groups do not match)."""
        return events.EventPattern(
            source=[APPROVAL_EVENT["source"]],
            detail_type=[APPROVAL_EVENT["detail_type"]],
            detail={
                "ModelPackageGroupName": [self.group.group_name],
                "ModelApprovalStatus": [APPROVAL_EVENT["approved"]],
            },
        )

    @property
    def state_machine_arn(self) -> str:
        return self.state_machine.state_machine_arn

    @property
    def endpoint_name(self) -> str:
        """The endpoint each approved version is deployed to."""
        return self._endpoint_name

    @property
    def endpoint_arn(self) -> str:
        return self.endpoint.endpoint_arn

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """``sagemaker:InvokeEndpoint`` on the deployed endpoint only."""
        return self.endpoint.grant_invoke(grantee)

    # ---- building blocks ------------------------------------------------------------------------
    def _monitoring_states(self, group: IModelPackageGroup, deployed: sfn.Succeed) -> sfn.Chain:
        """Read the version's registered baseline, create its job definition, point the schedule at it."""
        assert self.monitoring_job is not None and self.monitoring_schedule is not None
        # The whole description: a ResultSelector path to an absent field would fail the state.
        read = self._read_version("MonitorBaseline", group)
        self._retry_then_catch(read, step="MonitorBaseline")
        baseline = "$.steps.MonitorBaseline.DriftCheckBaselines.ModelDataQuality"
        missing = sfn.Fail(
            self,
            "MonitoringBaselineMissing",
            error="MonitoringBaselineMissing",
            cause="The endpoint is deployed, but the approved version has no data-quality baseline "
            "(DriftCheckBaselines.ModelDataQuality with Statistics and Constraints), so its monitoring "
            "schedule was not changed. Register versions with ModelRegistrationDefinition(data_quality_baseline=...).",
        )
        job = self._task(self.monitoring_job)
        entry, done = self.monitoring_schedule.create_or_update()
        for task in self.monitoring_schedule.tasks:
            if task.node.id != f"{self.monitoring_schedule.node.id}DeleteReplaced":  # caught: skipped
                self._catch(task, self.monitoring_schedule.node.id)
        done.next(deployed)
        job.next(entry)
        registered = sfn.Choice(self, "BaselineRegistered")
        registered.when(
            sfn.Condition.and_(
                sfn.Condition.is_present(f"{baseline}.Statistics.S3Uri"),
                sfn.Condition.is_present(f"{baseline}.Constraints.S3Uri"),
            ),
            job,
        )
        registered.otherwise(missing)
        read.next(registered)
        return sfn.Chain.custom(read, [], registered)

    def _promotion_gate(self, group: IModelPackageGroup, required: Mapping[str, str]) -> sfn.Chain:
        """The version's metadata holds every required value; else ``NotPromoted``."""
        read = self._read_version("ReadPromotion", group)
        self._retry_then_catch(read, step="ReadPromotion")
        metadata = "$.steps.ReadPromotion.CustomerMetadataProperties"
        gate = sfn.Choice(self, "Promoted")
        gate.when(
            sfn.Condition.and_(
                *(
                    sfn.Condition.and_(
                        sfn.Condition.is_present(f"{metadata}.{key}"),
                        sfn.Condition.string_equals(f"{metadata}.{key}", value),
                    )
                    for key, value in required.items()
                )
            ),
            sfn.Pass(self, "PromotionChecked"),
        )
        gate.otherwise(
            sfn.Succeed(
                self,
                "NotPromoted",
                comment="The version lacks the required metadata (e.g. not passed staging or not approved): nothing changed.",
            )
        )
        return sfn.Chain.start(read).next(gate.afterwards(include_otherwise=False))

    def _smoke_test(self, test: SmokeTest, group: IModelPackageGroup, endpoint_name: str) -> sfn.Chain:
        """Invoke the endpoint with the sample payload, check the response's fields, record the result."""
        invoke = SageMakerTask(
            self,
            "SmokeTest",
            resource=f"arn:{aws('PARTITION')}:states:::aws-sdk:sagemakerruntime:invokeEndpoint",
            parameters={
                "EndpointName": endpoint_name,
                "Body": test.payload,
                "ContentType": test.content_type,
                "Accept": test.accept,
            },
            policy_statements=[
                statement(self, actions=list(INVOKE_ENDPOINT_ACTIONS), resources=[self.endpoint.endpoint_arn])
            ],
            result_selector={"Body.$": "States.StringToJson($.Body)"},
            result_path="$.steps.SmokeTest",
        )
        record = {
            result: SageMakerTask(
                self,
                f"RecordSmokeTest{result}",
                resource=f"arn:{aws('PARTITION')}:states:::aws-sdk:sagemaker:updateModelPackage",
                parameters={
                    "ModelPackageArn.$": "$.package.ModelPackageArn",
                    "CustomerMetadataProperties": {SMOKE_TEST_KEY: result},
                },
                policy_statements=[
                    statement(
                        self, actions=list(UPDATE_MODEL_PACKAGE_ACTIONS), resources=[group_versions_arn(self, group)]
                    )
                ],
                result_path=sfn.JsonPath.DISCARD,
            )
            for result in ("Passed", "Failed")
        }
        for task in record.values():
            add_default_retry(task)
            self._catch(task, "SmokeTest")
        failed = sfn.Pass(
            self,
            "SmokeTestFailedError",
            parameters={
                "Error": "SmokeTestFailed",
                "Cause": f"The endpoint answered the smoke test without the expected fields {list(test.expected_fields)} "
                "(or not with JSON); the version is recorded as SmokeTest=Failed.",
            },
            result_path="$.error",
        )
        # an endpoint that answers with an error fails the test too, and is recorded as Failed
        invoke.add_catch(record["Failed"], errors=["States.ALL"], result_path="$.steps.SmokeTestError")
        record["Failed"].next(failed)
        failed.next(self._failure)
        checked = sfn.Choice(self, "SmokeTestPassed")
        body = "$.steps.SmokeTest.Body"
        condition = sfn.Condition.is_present(body)
        for name in test.expected_fields:
            condition = sfn.Condition.and_(condition, sfn.Condition.is_present(f"{body}.{name}"))
        checked.when(condition, record["Passed"])
        checked.otherwise(record["Failed"])
        invoke.next(checked)
        return sfn.Chain.custom(invoke, [record["Passed"]], checked)

    def _catch(self, state: sfn.CustomState | sfn.TaskStateBase | sfn.Parallel, step: str) -> None:
        """Every error of ``state`` to the failure path: before the run's lineage through ``<step>Error``,
        which names the step (``$.error.Step``), and the lineage, which records what ran and the step
        the run failed at; after it (or without lineage), at once."""
        target: sfn.IChainable = self._failure
        if self._unrecorded is not None:
            target = self._named_failure(f"{step}Error", step)
        state.add_catch(target, errors=["States.ALL"], result_path="$.error")

    def _retry_then_catch(self, task: SageMakerTask, *errors: str, step: str) -> None:
        """Retry throttling (and ``errors``) three times, 5 s apart with full jitter; then the failure path."""
        task.add_retry(
            errors=[SDK_THROTTLING_ERROR, *errors],
            interval=Duration.seconds(5),
            max_attempts=3,
            jitter_strategy=sfn.JitterType.FULL,
        )
        self._catch(task, step)

    def _task(self, definition: SageMakerDefinition) -> sfn.CustomState:
        task = definition.task()
        add_default_retry(task)
        self._catch(task, definition.node.id)
        return task

    def _read_version(
        self, id: str, group: IModelPackageGroup, *, result_selector: dict[str, Any] | None = None
    ) -> SageMakerTask:
        """DescribeModelPackage of the released version (``$.package``) into ``$.steps.<id>``."""
        return SageMakerTask(
            self,
            id,
            resource=f"arn:{aws('PARTITION')}:states:::aws-sdk:sagemaker:describeModelPackage",
            parameters={"ModelPackageName.$": "$.package.ModelPackageArn"},
            policy_statements=[describe_versions_statement(self, group)],
            result_selector=result_selector,
            result_path=f"$.steps.{id}",
        )

    def _still_current(self, when: str, group: IModelPackageGroup, own_arn: str, superseded: sfn.Succeed) -> sfn.Chain:
        """The version is still Approved and this is the newest execution; else ``superseded``."""
        describe = self._read_version(
            f"ReadVersion{when}", group, result_selector={"ModelApprovalStatus.$": "$.ModelApprovalStatus"}
        )
        newest = SageMakerTask(
            self,
            f"NewestDeployment{when}",
            resource=f"arn:{aws('PARTITION')}:states:::aws-sdk:sfn:listExecutions",
            parameters={"StateMachineArn.$": "$$.StateMachine.Id", "MaxResults": 1},
            policy_statements=[statement(self, actions=list(LIST_EXECUTIONS_ACTIONS), resources=[own_arn])],
            # The newest execution (Step Functions lists them newest first); the whole item, read with
            # a path that ends in the index, is the same value on AWS and in the emulator.
            result_selector={"Newest.$": "$.Executions[0]"},
            result_path=f"$.steps.NewestDeployment{when}",
        )
        for task in (describe, newest):
            self._retry_then_catch(task, "Sfn.SfnException", "States.Timeout", step=f"StillCurrent{when}")
        current = sfn.Choice(self, f"StillCurrent{when}")
        current.when(
            sfn.Condition.and_(
                sfn.Condition.string_equals(
                    f"$.steps.ReadVersion{when}.ModelApprovalStatus", APPROVAL_EVENT["approved"]
                ),
                sfn.Condition.string_equals_json_path(
                    f"$.steps.NewestDeployment{when}.Newest.ExecutionArn", "$.execution"
                ),
            ),
            sfn.Pass(self, f"Current{when}"),
        )
        current.otherwise(superseded)
        return sfn.Chain.start(describe).next(newest).next(current.afterwards(include_otherwise=False))


def _check_monitoring(
    problems: Problems,
    monitoring: DataQualityMonitor,
    endpoint_name: str,
    data_capture: DataCapture | None,
    async_inference: AsyncInferenceConfig | None,
) -> None:
    """Monitoring reads the endpoint's captured requests; its schedule name and alarms must fit."""
    if data_capture is None:
        problems.add(
            "monitoring", "DataQualityMonitor", "monitoring reads the endpoint's data capture: give data_capture"
        )
    elif "Input" not in data_capture.capture_modes:
        problems.add(
            "data_capture.capture_modes",
            list(data_capture.capture_modes),
            "data-quality monitoring analyzes the requests: capture 'Input'",
        )
    if async_inference is not None:
        problems.conflict(["monitoring", "async_inference"], "data-quality monitoring here covers real-time endpoints")
    if monitoring.schedule_name is not None:
        problems.name(
            "monitoring.schedule_name",
            monitoring.schedule_name,
            max_len=MONITORING_SCHEDULE.name_max,
            what="schedule name",
        )
    problems.one_of("monitoring.frequency", monitoring.frequency, ("hourly", "daily"))
    ids = [_alarm_id(f) for f in monitoring.alarm_features]
    for feature in sorted({f for f, i in zip(monitoring.alarm_features, ids, strict=True) if ids.count(i) > 1}):
        problems.add("monitoring.alarm_features", feature, "features must be distinct (one alarm each)")
    if not monitoring.drift_threshold > 0:
        problems.add("monitoring.drift_threshold", monitoring.drift_threshold, "must be above 0")
    if monitoring.schedule_name is None and len(endpoint_name) > MONITORING_SCHEDULE.name_max - len("-data-quality"):
        problems.add(
            "monitoring.schedule_name",
            None,
            f"the default '<endpoint name>-data-quality' exceeds {MONITORING_SCHEDULE.name_max} chars "
            f"with endpoint_name '{endpoint_name}': give one",
        )


def _alarm_id(feature: str) -> str:
    """A construct id part for a feature name (letters and digits)."""
    return "".join(c for c in feature.title() if c.isalnum()) or "Feature"
