"""Data-quality monitoring: a baseline from the training data, a monitoring schedule on an endpoint's
data capture, and alarms on the drift SageMaker Model Monitor measures.

* :class:`DataQualityBaselineDefinition`: a processing job on Model Monitor's analyzer image
  (``ContainerImage.model_monitor()``) that writes ``statistics.json`` and ``constraints.json``
  for a dataset, as the SageMaker Python SDK's ``DefaultModelMonitor.suggest_baseline`` runs it.
* :class:`DataQualityJobDefinition`: CreateDataQualityJobDefinition, the monitoring job that compares
  captured requests with a baseline.
* :class:`MonitoringScheduleDefinition`: CreateMonitoringSchedule / UpdateMonitoringSchedule of a
  schedule with a fixed name, pointed at the job definition of the deployed version.
* :class:`DataQualityMonitor`: what :class:`~sm_constructs.ModelDeployment` needs to build the two
  above for every approved version, from the baseline registered with that version
  (``DriftCheckBaselines.ModelDataQuality``), and the CloudWatch alarms on drift.

The analyzer's contract (SageMaker Python SDK ``sagemaker/model_monitor/model_monitoring.py``): the
dataset is mounted at ``/opt/ml/processing/input/baseline_dataset_input`` and named in the
``dataset_source`` environment variable, results are written to ``output_path``
(``/opt/ml/processing/output``), ``dataset_format`` is the JSON of the SDK's ``DatasetFormat``
(``{"csv": {"header": ..., "output_columns_position": "START"}}`` or ``{"json": {"lines": ...}}``), and
``publish_cloudwatch_metrics`` is ``Enabled`` or ``Disabled``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .._iam_facts import (
    DATA_QUALITY_JOB_DEFINITION,
    DELETE_DATA_QUALITY_JOB_DEFINITION_ACTIONS,
    DESCRIBE_MONITORING_SCHEDULE_ACTIONS,
    MONITORING_SCHEDULE,
    MONITORING_SCHEDULE_NOT_FOUND_ERROR,
    UPDATE_MONITORING_SCHEDULE_ACTIONS,
)
from .._kms import STACK_JOB_KEY, StackJobKey, resolve_job_key
from .._memo import attribute, statement
from .._validation import check_request, is_token, typed, whole_seconds
from ..images import ContainerImage
from ._base import RETRYABLE_ERRORS, SageMakerDefinition, SageMakerTask, integration_arn
from ._common import ClusterConfig, NetworkConfig, grant_role, render_network, validate_network
from ._task import named_arn
from .cache import StepCache
from .processing import ProcessingDefinition, ProcessingInput, ProcessingOutput

__all__ = [
    "DATA_METRICS_NAMESPACE",
    "DataQualityBaselineDefinition",
    "DataQualityJobDefinition",
    "DataQualityMonitor",
    "MonitoringScheduleDefinition",
]

_ROOT = "/opt/ml/processing"
_ONE_HOUR = Duration.hours(1)
#: Where the analyzer reads the baseline dataset and writes its results (SDK model_monitoring.py:
#: ``_BASELINE_DATASET_INPUT_NAME``, ``_CONTAINER_OUTPUT_PATH``).
BASELINE_INPUT = "baseline_dataset_input"
BASELINE_OUTPUT = "monitoring_output"
#: Where a monitoring job gets the endpoint's captured data (SDK ``_CONTAINER_ENDPOINT_INPUT_PATH``).
ENDPOINT_INPUT_PATH = f"{_ROOT}/input/endpoint"
#: File names the analyzer writes (SDK ``STATISTICS_JSON_DEFAULT_FILE_NAME`` ...).
STATISTICS_FILE = "statistics.json"
CONSTRAINTS_FILE = "constraints.json"

#: The CloudWatch namespace Model Monitor publishes an endpoint's data-quality metrics to, with the
#: dimensions ``Endpoint`` and ``MonitoringSchedule``; the drift of a feature from its baseline is
#: ``feature_baseline_drift_<feature>`` (SageMaker Developer Guide, "CloudWatch Metrics"
#: (model-monitor-interpreting-cloudwatch) and "CloudWatch Metrics for Bring Your Own Containers"
#: (model-monitor-byoc-cloudwatch): dimensions ``Endpoint`` and ``MonitoringSchedule``).
DATA_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
DRIFT_METRIC = "feature_baseline_drift_{feature}"
#: The analyzer's suggested ``distribution_constraints.comparison_threshold``: a feature whose
#: distance from the baseline exceeds it is a ``baseline_drift_check`` violation (SageMaker Developer
#: Guide, "Schema for Constraints (constraints.json file)").
DEFAULT_DRIFT_THRESHOLD = 0.1

#: Model Monitor's schedule expressions (CreateMonitoringSchedule ``ScheduleConfig``: hourly
#: ``cron(0 * ? * * *)``, daily ``cron(0 0 ? * * *)``; the SDK's ``CronExpressionGenerator``).
SCHEDULES: dict[str, tuple[str, int]] = {"hourly": ("cron(0 * ? * * *)", 3600), "daily": ("cron(0 0 ? * * *)", 86400)}


#: The analyzer's dataset formats (the SDK's ``DatasetFormat``: CSV, JSON, JSON Lines).
DATASET_FORMATS = ("csv", "json", "jsonl")


def _dataset_format(dataset_format: str, header: bool) -> str:
    """The SDK's ``DatasetFormat.csv(header, output_columns_position="START")`` / ``json(lines)``."""
    if dataset_format == "csv":
        return json.dumps({"csv": {"header": header, "output_columns_position": "START"}})
    return json.dumps({"json": {"lines": dataset_format == "jsonl"}})


def _under(base: str, name: str) -> str:
    """``<base><name>``; ``base`` is an S3 prefix ending in ``/`` (or a token that yields one)."""
    if is_token(base):
        return sfn.JsonPath.format("{}" + name, base)
    return f"{base}{name}"


class DataQualityBaselineDefinition(ProcessingDefinition):
    """Statistics and constraints of a dataset from Model Monitor's analyzer (a processing job).

    Run it on the training data (e.g. the train split of preprocessing): the monitoring schedule
    compares what the endpoint receives with it. Register the result with the model version
    (``ModelRegistrationDefinition(data_quality_baseline=...)``) so a :class:`ModelDeployment` with
    monitoring uses the baseline of the version it deploys.

    :param role: the execution role the job runs as; it must read ``dataset_uri`` and write ``output_uri``.
    :param dataset_uri: S3 URI of the dataset (static or a run-time reference).
    :param output_uri: S3 prefix ending in ``/`` for ``statistics.json`` and ``constraints.json``.
    :param dataset_format: ``csv`` (default), ``json`` or ``jsonl`` (JSON Lines).
    :param header: the CSV has a header row. Default: False: columns are named ``_c0``, ``_c1``, ...
        The label (the model's output) is the first column, as in SageMaker's CSV training data.
    :param output_kms_key: encrypts the results. Default: - the stack's job key (``sm_constructs._kms.job_key``);
        ``None``: the bucket's default encryption.
    :param cluster: Default: 1 × ml.m5.xlarge, 30 GB.
    :param max_runtime: Default: 1 hour.
    :param network: Default: - no VPC, network isolation (the analyzer needs no network).
    :param cache: reuse a Completed baseline of the same request (see :class:`StepCache`). Default: - none.
    :param name_prefix: job names are ``<prefix>-<12 hex>``. Default: - ``<stack>-<id>``.
    :param tags: tags on what the request creates, beside the ``sm-constructs:execution`` tag every run adds.
        Default: - none.
    """

    _needs_program = False

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        role: iam.IRole,
        dataset_uri: str,
        output_uri: str,
        dataset_format: Literal["csv", "json", "jsonl"] = "csv",
        header: bool = False,
        output_kms_key: kms.IKey | StackJobKey | None = STACK_JOB_KEY,
        cluster: ClusterConfig | None = None,
        max_runtime: Duration = _ONE_HOUR,
        network: NetworkConfig | None = None,
        name_prefix: str | None = None,
        tags: Mapping[str, str] | None = None,
        cache: StepCache | None = None,
    ) -> None:
        # Checked before the processing job's own props (raised on their own: the request cannot render).
        problems = self._start_validation(type(self).__name__, scope, id)
        if isinstance(output_uri, str) and not is_token(output_uri) and not output_uri.endswith("/"):
            problems.add(
                "output_uri", output_uri, "must be an S3 prefix ending in '/' (the analyzer writes files under it)"
            )
        problems.one_of("dataset_format", dataset_format, DATASET_FORMATS)
        if dataset_format != "csv" and header:
            problems.conflict(["header", "dataset_format"], "a header row applies to CSV datasets only")
        problems.raise_if_any()
        super().__init__(
            scope,
            id,
            role=role,
            image=ContainerImage.model_monitor(),
            environment={
                "dataset_format": _dataset_format(dataset_format, header),
                "dataset_source": f"{_ROOT}/input/{BASELINE_INPUT}",
                "output_path": f"{_ROOT}/output",
                "publish_cloudwatch_metrics": "Disabled",
            },
            inputs=[ProcessingInput(BASELINE_INPUT, dataset_uri)],
            outputs=[ProcessingOutput(BASELINE_OUTPUT, output_uri, source=f"{_ROOT}/output")],
            output_kms_key=output_kms_key,
            cluster=cluster,
            max_runtime=max_runtime,
            network=network,
            name_prefix=name_prefix,
            tags=tags,
            cache=cache,
        )
        self.dataset_format = dataset_format
        self.header = header

    @property
    def statistics_uri(self) -> str:
        """S3 URI of this run's ``statistics.json`` (the earlier job's, on a cache hit)."""
        return _under(self.output_uri(BASELINE_OUTPUT), STATISTICS_FILE)

    @property
    def constraints_uri(self) -> str:
        """S3 URI of this run's ``constraints.json`` (the earlier job's, on a cache hit)."""
        return _under(self.output_uri(BASELINE_OUTPUT), CONSTRAINTS_FILE)


class DataQualityJobDefinition(SageMakerDefinition):
    """A data-quality monitoring job (CreateDataQualityJobDefinition) on an endpoint's captured data.

    Model Monitor's analyzer compares the captured requests (and responses) with the baseline's
    statistics and constraints, writes ``constraint_violations.json`` under ``output_uri`` and
    publishes the drift metrics to CloudWatch (:data:`DATA_METRICS_NAMESPACE`).

    :param role: the execution role the monitoring jobs run as: it reads the capture prefix and the
        baseline, writes ``output_uri``, uses the keys, and publishes CloudWatch metrics.
    :param endpoint_name: the monitored endpoint (with data capture).
    :param statistics_uri: the baseline's ``statistics.json`` (static or a run-time reference).
    :param constraints_uri: the baseline's ``constraints.json``.
    :param output_uri: S3 prefix of the monitoring reports.
    :param output_kms_key: encrypts the reports. Default: - the stack's job key (``sm_constructs._kms.job_key``);
        ``None``: the bucket's default encryption.
    :param cluster: Default: 1 × ml.m5.xlarge, 30 GB, encrypted with the stack's job key.
    :param max_runtime: Default: 1 hour (an hourly schedule allows at most 1 hour).
    :param network: Default: - no VPC, network isolation (the analyzer needs no network).
    :param name_prefix: names are ``<prefix>-<12 hex>``, lower case. Default: - ``<stack>-<id>``.
    :param tags: tags on what the request creates, beside the ``sm-constructs:execution`` tag every run adds.
        Default: - none.
    """

    api = DATA_QUALITY_JOB_DEFINITION

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        role: iam.IRole,
        endpoint_name: str,
        statistics_uri: str,
        constraints_uri: str,
        output_uri: str,
        output_kms_key: kms.IKey | StackJobKey | None = STACK_JOB_KEY,
        cluster: ClusterConfig | None = None,
        max_runtime: Duration = _ONE_HOUR,
        network: NetworkConfig | None = None,
        name_prefix: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        problems = self._start_validation(type(self).__name__, scope, id)
        if name_prefix is not None and not is_token(name_prefix) and name_prefix != name_prefix.lower():
            problems.add("name_prefix", name_prefix, "use lower case: the name is read back from the (lower-case) ARN")
        network = network or NetworkConfig()
        validate_network(problems, network)
        super().__init__(scope, id, name_prefix=name_prefix, role=role, tags=tags, problems=problems)
        self.name_prefix = self.name_prefix.lower()
        self.endpoint_name = endpoint_name
        self.statistics_uri = statistics_uri
        self.constraints_uri = constraints_uri
        self.output_uri = output_uri
        self.output_kms_key = resolve_job_key(self, output_kms_key)
        self.cluster = (cluster or ClusterConfig()).with_key(self)
        self.max_runtime = max_runtime
        self.network = network
        self.image = ContainerImage.model_monitor()
        self.image_uri = self.image.bind(self).image_uri
        self._check_request()
        grant_role(self, role, self.image, None, [self.cluster.volume_key, self.output_kms_key])

    @property
    def result_path(self) -> str:
        """Where its task puts the result (``JobDefinitionArn``, ``JobDefinitionName``)."""
        return self._result_path

    @property
    def job_definition_name(self) -> str:
        """This run's job definition name, read at run time from the task's result."""
        return self.state_output("JobDefinitionName")

    def render_request(self) -> dict[str, Any]:
        output: dict[str, Any] = {
            "MonitoringOutputs": [
                {"S3Output": {"S3Uri": self.output_uri, "LocalPath": f"{_ROOT}/output", "S3UploadMode": "EndOfJob"}}
            ]
        }
        if self.output_kms_key is not None:
            output["KmsKeyId"] = attribute(self.output_kms_key, "key_arn")
        return {
            "JobDefinitionName": self._name(),
            "DataQualityBaselineConfig": {
                "ConstraintsResource": {"S3Uri": self.constraints_uri},
                "StatisticsResource": {"S3Uri": self.statistics_uri},
            },
            "DataQualityAppSpecification": {
                "ImageUri": self.image_uri,
                # The SDK's DefaultModelMonitor sets this for schedules with CloudWatch metrics (the default).
                "Environment": {"publish_cloudwatch_metrics": "Enabled"},
            },
            "DataQualityJobInput": {
                "EndpointInput": {
                    "EndpointName": self.endpoint_name,
                    "LocalPath": ENDPOINT_INPUT_PATH,
                    "S3InputMode": "File",
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
            "DataQualityJobOutputConfig": output,
            "JobResources": {"ClusterConfig": self.cluster.render()},
            "NetworkConfig": render_network(self.network, self.cluster.instance_count),
            "RoleArn": attribute(self.role, "role_arn") if self.role else None,
            "StoppingCondition": {"MaxRuntimeInSeconds": whole_seconds(self.max_runtime)},
            "Tags": self._tags(),
        }

    def result_selector(self) -> dict[str, Any]:
        return {
            "JobDefinitionArn.$": "$.JobDefinitionArn",
            "JobDefinitionName.$": "States.ArrayGetItem(States.StringSplit($.JobDefinitionArn, '/'), 1)",
        }


class MonitoringScheduleDefinition(SageMakerDefinition):
    """A monitoring schedule with a fixed name, created once and updated on every later run.

    :meth:`create_or_update` is the chain to use: UpdateMonitoringSchedule, and when the schedule
    does not exist yet (``ResourceNotFound``) CreateMonitoringSchedule, both through the AWS SDK
    integration (Step Functions has no optimized one), with the same configuration.

    :param schedule_name: the schedule's name (SageMaker names are unique per account and region).
    :param job_definition: the data-quality job definition each run starts.
    :param frequency: ``hourly`` or ``daily`` (at midnight UTC). Default: ``daily``.
    :param tags: tags on what the request creates, beside the ``sm-constructs:execution`` tag every run adds.
        Default: - none.
    """

    api = MONITORING_SCHEDULE
    run_suffix = False

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        schedule_name: str,
        job_definition: DataQualityJobDefinition,
        frequency: Literal["hourly", "daily"] = "daily",
        tags: Mapping[str, str] | None = None,
    ) -> None:
        problems = self._start_validation(type(self).__name__, scope, id)
        problems.one_of("frequency", frequency, tuple(SCHEDULES))
        runtime = job_definition.max_runtime
        if frequency == "hourly" and not runtime.is_unresolved() and runtime.to_seconds() > 3600:
            # CreateMonitoringSchedule (ScheduleConfig): hourly schedules allow MaxRuntimeInSeconds up to 3600.
            problems.add(
                "job_definition.max_runtime", runtime.to_human_string(), "an hourly schedule allows at most 1 hour"
            )
        super().__init__(scope, id, name_prefix=schedule_name, role=None, tags=tags, problems=problems)
        self.schedule_name = schedule_name
        self.job_definition = job_definition
        self.frequency = frequency
        self._check_update()
        self._check_request()

    def _config(self) -> dict[str, Any]:
        return {
            "ScheduleConfig": {"ScheduleExpression": SCHEDULES.get(self.frequency, ("", 0))[0]},
            "MonitoringJobDefinitionName": self.job_definition.job_definition_name,
            "MonitoringType": "DataQuality",
        }

    def render_request(self) -> dict[str, Any]:
        return {
            "MonitoringScheduleName": self.schedule_name,
            "MonitoringScheduleConfig": self._config(),
            "Tags": self._tags(),
        }

    def render_update_request(self) -> dict[str, Any]:
        """UpdateMonitoringSchedule: the same configuration, without tags."""
        return {"MonitoringScheduleName": self.schedule_name, "MonitoringScheduleConfig": self._config()}

    def _check_update(self) -> None:
        check_request(self._problems, "sagemaker", "UpdateMonitoringSchedule", self.render_update_request())

    def result_selector(self) -> dict[str, Any]:
        return {"MonitoringScheduleArn.$": "$.MonitoringScheduleArn"}

    def resource_arn_pattern(self) -> str:
        return named_arn(self, self.api.arn_type, self.schedule_name)

    @property
    def schedule_arn(self) -> str:
        return self.resource_arn_pattern()

    def create_or_update(self) -> tuple[sfn.State, sfn.Pass]:
        """The states that point the schedule at this run's job definition: ``(entry, end)``.

        ``<id>Read`` (DescribeMonitoringSchedule) notes the job definition the schedule runs now;
        ``<id>Update`` (UpdateMonitoringSchedule) points it at this run's; a schedule that does not
        exist yet (``ResourceNotFound`` on either) is created instead (``<id>Create``). The replaced
        job definition is then deleted (``<id>DeleteReplaced``) when it is one of this definition's
        own (name prefix; IAM allows no other), so releases do not pile definitions up; a delete that
        fails is skipped (``$.steps.<id>DeleteSkipped``), the schedule being updated already. All
        paths end in ``<id>Done``: chain what follows to it.
        """
        id = self.node.id
        schedule = {"MonitoringScheduleName": self.schedule_name}
        read = SageMakerTask(
            self,
            f"{id}Read",
            resource=integration_arn(self, "describeMonitoringSchedule", sync=False, sdk=True),
            parameters=schedule,
            policy_statements=[
                statement(self, actions=list(DESCRIBE_MONITORING_SCHEDULE_ACTIONS), resources=[self.schedule_arn])
            ],
            # kept whole: a schedule with an inline job definition has no MonitoringJobDefinitionName
            result_path=f"$.steps.{id}Previous",
        )
        create = self.task(f"{id}Create", result_path=f"$.steps.{id}")
        update = SageMakerTask(
            self,
            f"{id}Update",
            resource=integration_arn(self, "updateMonitoringSchedule", sync=False, sdk=True),
            parameters=sfn.FieldUtils.render_object(self.render_update_request()) or {},
            policy_statements=[
                statement(self, actions=list(UPDATE_MONITORING_SCHEDULE_ACTIONS), resources=[self.schedule_arn])
            ],
            result_selector=self.result_selector(),
            result_path=f"$.steps.{id}",
        )
        previous = f"$.steps.{id}Previous.MonitoringScheduleConfig.MonitoringJobDefinitionName"
        delete = SageMakerTask(
            self,
            f"{id}DeleteReplaced",
            resource=integration_arn(self, "deleteDataQualityJobDefinition", sync=False, sdk=True),
            parameters={"JobDefinitionName.$": previous},
            policy_statements=[
                statement(
                    self,
                    actions=list(DELETE_DATA_QUALITY_JOB_DEFINITION_ACTIONS),
                    resources=[self.job_definition.resource_arn_pattern()],
                )
            ],
            result_path=sfn.JsonPath.DISCARD,
        )
        done = sfn.Pass(self, f"{id}Done")
        for task in (read, update, create, delete):
            task.add_retry(
                errors=RETRYABLE_ERRORS,
                interval=Duration.seconds(10),
                backoff_rate=2,
                max_attempts=4,
                jitter_strategy=sfn.JitterType.FULL,
            )
        for task in (read, update):
            task.add_catch(create, errors=[MONITORING_SCHEDULE_NOT_FOUND_ERROR], result_path=sfn.JsonPath.DISCARD)
        delete.add_catch(done, errors=["States.ALL"], result_path=f"$.steps.{id}DeleteSkipped")
        own = f"{self.job_definition.name_prefix}-*"
        replaced = sfn.Choice(self, f"{id}Replaced")
        replaced.when(
            sfn.Condition.and_(
                sfn.Condition.is_present(previous),
                sfn.Condition.string_matches(previous, own),
                sfn.Condition.not_(
                    sfn.Condition.string_equals_json_path(
                        previous, f"{self.job_definition.result_path}.JobDefinitionName"
                    )
                ),
            ),
            delete,
        )
        replaced.otherwise(done)
        read.next(update)
        update.next(replaced)
        create.next(done)
        delete.next(done)
        self.tasks = [read, update, create, delete]
        return read, done


@dataclass(frozen=True, kw_only=True)
class DataQualityMonitor:
    """Data-quality monitoring of a :class:`~sm_constructs.ModelDeployment`'s endpoint.

    Each approved version is monitored against the baseline registered with it
    (``DriftCheckBaselines.ModelDataQuality``, see ``ModelRegistrationDefinition(data_quality_baseline=...)``):
    after the endpoint is InService the deployment creates a job definition for that baseline and
    points the endpoint's schedule at it (created on the first release). A version without a
    registered baseline ends the deployment in ``MonitoringBaselineMissing`` (the endpoint is
    deployed, the schedule keeps the previous baseline).

    :param output_uri: S3 prefix of the monitoring reports (``constraint_violations.json``, statistics).
    :param role: the execution role the monitoring jobs run as. Default: - the deployment's role.
    :param frequency: ``hourly`` or ``daily``. Default: ``daily``.
    :param cluster: Default: 1 × ml.m5.xlarge, 30 GB.
    :param output_kms_key: encrypts the reports. Default: - the stack's job key; ``None``: the bucket's
        default encryption.
    :param max_runtime: Default: 1 hour.
    :param network: Default: - the deployment's network (VPC and isolation).
    :param alarm_features: features whose drift raises an alarm (``feature_baseline_drift_<feature>``
        above ``drift_threshold``), told to the deployment's topic. Names are the baseline's columns
        (``_c1`` ... for CSV without a header, ``_c0`` being the model's output). Default: - no alarm.
    :param drift_threshold: Default: 0.1, the analyzer's suggested ``comparison_threshold``.
    :param schedule_name: Default: ``<endpoint name>-data-quality``.
    """

    output_uri: str
    role: iam.IRole | None = None
    frequency: Literal["hourly", "daily"] = "daily"
    cluster: ClusterConfig | None = None
    output_kms_key: kms.IKey | StackJobKey | None = STACK_JOB_KEY
    max_runtime: Duration = _ONE_HOUR
    network: NetworkConfig | None = None
    alarm_features: Sequence[str] = ()
    drift_threshold: float = DEFAULT_DRIFT_THRESHOLD
    schedule_name: str | None = None

    def drift_metric(self, endpoint_name: str, schedule_name: str, feature: str) -> cloudwatch.Metric:
        """The drift of ``feature`` from its baseline, the largest per schedule period."""
        return cloudwatch.Metric(
            namespace=DATA_METRICS_NAMESPACE,
            metric_name=DRIFT_METRIC.format(feature=feature),
            dimensions_map={"Endpoint": endpoint_name, "MonitoringSchedule": schedule_name},
            statistic="Maximum",
            period=Duration.seconds(SCHEDULES[self.frequency][1]),
        )
