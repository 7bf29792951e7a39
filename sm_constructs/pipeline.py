"""MlPipeline: SageMaker job definitions composed into one Standard state machine.

preprocessing → training / tuning → evaluation → quality gate → registration → hosting and/or
batch transform. Every stage is optional, every task retries throttling and capacity errors and
routes any other failure to one notification path, and the run's parameters come from a typed
execution input with documented defaults.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, Literal, get_args

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from ._flags import pin_feature_flags
from ._iam import ManagedPolicyRole, service_of_this_account
from ._iam_facts import (
    ANY_RESOURCE,
    DESCRIBE_MODEL_PACKAGE_ACTIONS,
    EVENTS_PRINCIPAL,
    LIST_MODEL_PACKAGES_ACTIONS,
    S3_GET_OBJECT_ACTIONS,
    S3_KMS_READ_ACTIONS,
    SCHEDULER_PRINCIPAL,
    VIA_SERVICE,
)
from ._memo import json_path, node_id
from ._nag import acknowledge, acknowledge_in_packs, bucket_prefix_findings, iam5, state_machine_executions
from ._validation import (
    Problems,
    check_jsonpath_member,
    check_request,
    check_state_machine_name,
    is_token,
    s3_uri_rule,
    schedule_expression_rule,
    typed,
)
from ._workflow import NotifiedWorkflow
from .cost import USES, JobCost, JobState, PriceTable, dollars, manifest_cost, manifest_prices, worst_case
from .graph import (
    MAX_BRANCHES,
    MAX_STATE_NAME,
    Condition,
    FailStep,
    Group,
    Node,
    PipelineGraph,
    Report,
    Series,
    Step,
    format_text,
    merge_results,
    parallel_name,
    plan_nodes,
    static_prefix,
)
from .jobs._base import SageMakerDefinition, add_default_retry, integration_arn
from .jobs._task import SageMakerTask
from .jobs.cache import CachedStep, StepCache, acknowledge_lookups
from .jobs.hosting import EndpointDeployment, ModelDefinition
from .jobs.refs import group_versions_arn
from .jobs.registry import ModelApprovalDefinition, ModelRegistrationDefinition
from .lineage import REJECTED, RunLineage, acknowledge_lineage, lineage_prefix, lineage_step, versioned_uris
from .manifest import RunManifest, acknowledge_manifest, manifest_states
from .storage import MlDataBucket

__all__ = ["FanOut", "InputField", "MlPipeline", "QualityGate", "S3Trigger"]  # the graph's steps: .graph

#: Subject of the failure notification (SNS Publish).
_FAILURE_SUBJECT = "SageMaker pipeline failed"
#: QualityGate comparisons and the Choice rule each becomes.
_COMPARISONS = {
    ">=": "number_greater_than_equals_json_path",
    ">": "number_greater_than_json_path",
    "<=": "number_less_than_equals_json_path",
    "<": "number_less_than_json_path",
}
#: The stages of a pipeline, in the order ``_validate`` receives them.
_STAGES = ("preprocessing", "training", "evaluation", "registration", "model", "deployment", "batch_transform")
InputKind = Literal["string", "s3_uri", "number", "instance_type", "object"]


@dataclass(frozen=True)
class _Kind:
    """What a value of an input kind looks like: said in errors, checked at run time (Choice) and,
    for a default, at synth."""

    text: str
    #: A string of this kind starts with ``prefix`` ("" for any string; None: not a string).
    prefix: str | None
    #: The types a default may have.
    types: tuple[type, ...]


_KINDS: dict[str, _Kind] = {
    "string": _Kind("a string", "", (str,)),
    "s3_uri": _Kind("a string that starts with s3://", "s3://", (str,)),
    "number": _Kind("a number", None, (int, float)),
    "instance_type": _Kind("a string that starts with ml.", "ml.", (str,)),
    "object": _Kind("any JSON value", None, (object,)),
}


@dataclass(frozen=True)
class InputField:
    """One documented field of the pipeline's execution input (``$.input.<name>`` in the states).

    :param name: field name in the execution input JSON.
    :param kind: what a valid value looks like: ``string``, ``s3_uri`` (``s3://...``), ``number``,
        ``instance_type`` (``ml.*``) or ``object`` (e.g. hyperparameters). Default: ``string``.
    :param default: value used when the input omits the field. Default: - none: the field is required.
    :param description: shown in the generated input documentation. Default: - none.
    """

    name: str
    _: KW_ONLY
    kind: InputKind = "string"
    default: Any = None
    description: str = ""

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class QualityGate:
    """Continue only when a metric in the evaluation report passes a threshold (no Lambda).

    The report (``evaluation.json`` written by the evaluation step) is read with the Step Functions
    S3 SDK integration and parsed with ``States.StringToJson``; a Choice compares the metric.

    :param bucket: bucket holding the report.
    :param key: object key of the report; may be a JSONPath token, e.g. one that includes
        ``$$.Execution.Name`` when every run writes its own report.
    :param metric: dotted path of the metric inside the report, e.g. ``metrics.auc``.
    :param threshold: default threshold; the execution input field ``threshold_input`` overrides it.
    :param comparison: ``>=`` (default, higher is better), ``>``, ``<=`` or ``<``.
    :param threshold_input: execution input field for a per-run threshold. Default: ``"threshold"``.
    :param key_prefix: fixed start of every key the gate may read; the state machine may read objects
        under it only. Default: - ``key`` itself when it is fixed; for a ``sfn.JsonPath.format`` key,
        its text before the first run-time value (``evaluation/`` for
        ``JsonPath.format("evaluation/{}/evaluation.json", ...)``). Required for any other run-time key.
    """

    bucket: s3.IBucket
    key: str
    metric: str
    threshold: float
    _: KW_ONLY
    comparison: Literal[">=", ">", "<=", "<"] = ">="
    threshold_input: str = "threshold"
    key_prefix: str | None = None

    def static_prefix(self) -> str:
        """The key prefix the gate's IAM is scoped to ("" when none can be derived)."""
        return static_prefix(self.key, self.key_prefix)


@dataclass(frozen=True)
class FanOut:
    """Run a processing definition once per S3 object under a prefix (Distributed Map).

    The iteration input is the S3 item (``$.Key``, ``$.Size`` ...), so the definition reads its
    input from ``sfn.JsonPath.string_at("$.Key")``. ``max_concurrency`` bounds parallel jobs
    (and so the account's processing-instance quota in use).

    :param definition: the processing definition run per object (reads ``$.Key``).
    :param bucket: the bucket listed.
    :param prefix: the key prefix listed.
    :param max_concurrency: jobs at once. Default: 10.
    :param tolerated_failure_percentage: failed items allowed before the map fails. Default: 0.
    """

    definition: SageMakerDefinition
    bucket: s3.IBucket
    prefix: str
    _: KW_ONLY
    max_concurrency: int = 10
    tolerated_failure_percentage: int = 0


@dataclass(frozen=True)
class S3Trigger:
    """Start the pipeline when an object is created under ``prefix`` in ``bucket``.

    The bucket must send events to EventBridge: an :class:`MlDataBucket` (or its ``bucket``)
    turns that on itself (CloudFormation's ``EventBridgeConfiguration``, no custom resource); any
    other bucket must already have it. The new object's URI is passed as ``input_field``.

    :param bucket: the bucket watched.
    :param prefix: the key prefix watched.
    :param input_field: the execution input field the object's ``s3://`` URI goes to. Default: ``inputDataUri``.
    """

    bucket: MlDataBucket | s3.IBucket
    prefix: str
    _: KW_ONLY
    input_field: str = "inputDataUri"


class MlPipeline(NotifiedWorkflow):
    """A SageMaker workflow as one Step Functions Standard state machine.

    Stages run in this order, each optional: ``preprocessing`` (processing definitions, or
    :class:`FanOut` steps), ``training`` (a training or tuning definition), ``evaluation``,
    ``quality_gate``, ``registration``, ``model`` (CreateModel, shared by what follows), then
    ``deployment`` (endpoint config → :class:`EndpointDeployment`) and ``batch_transform`` — in
    parallel when both are given.

    ``approval`` decides what the Model Registry's approval means:

    * ``"auto"``: the quality gate passing approves the registered version (``<id>`` state
      ``Approve``, UpdateModelPackage → ``Approved``) and the release deploys *from that version*
      (the ``model`` must be built with ``model_package=<the registration>``);
    * ``"manual"``: the pipeline ends after registering the version as ``PendingManualApproval``;
      a person approves it and a :class:`~sm_constructs.ModelDeployment` deploys it;
    * not given: the registration is a record only and the release deploys the trained artifact.

    Reliability defaults: throttling / capacity errors are retried with backoff and jitter; any
    other error goes to one failure path that publishes to an SNS topic (KMS-encrypted) and ends
    in ``Fail``; every job task has a timeout (its max runtime + 1 h) and the state machine a
    timeout that is the sum of them. Stopping an execution stops its running jobs (``.sync``).

    Observability and triggers: alarms on failed and timed-out executions (``alarms``), and after
    construction :meth:`add_dashboard`, :meth:`add_schedule`, :meth:`add_s3_trigger` (the
    ``dashboard``, ``schedule`` / ``schedule_input`` and ``s3_trigger`` props call them) and the
    ``metric_*`` helpers. :attr:`endpoints` lists the endpoints it deploys (e.g. to grant invoking them).

    :param alarms: alarms on failed and timed-out executions, to the notification topic. Default: True.
    :param dashboard: add a dashboard (:meth:`add_dashboard`). Default: False.
    :param schedule: start on a schedule (:meth:`add_schedule`). Default: - no schedule.
    :param schedule_input: the scheduled executions' input. Default: - empty (field defaults apply).
    :param s3_trigger: start for new objects under a prefix (:meth:`add_s3_trigger`). Default: - none.
    :param cache: step caching (:class:`StepCache`) for the preprocessing, training and evaluation
        steps that have no cache of their own. Default: - only the steps given a cache.
    :param max_cost_per_run: fail synth when a run's worst case (every job step at its maximum
        runtime, priced from the repository's price table: :meth:`worst_case_cost`) exceeds this many
        US dollars. Default: - no budget.
    :param preprocessing: processing definitions and :class:`FanOut` steps, run in order. Default: - none.
    :param training: a training or tuning definition. Default: - none.
    :param evaluation: a processing definition that writes the evaluation report. Default: - none.
    :param quality_gate: continue only when the report's metric passes (:class:`QualityGate`). Default: - none.
    :param registration: registers the model version in the Model Registry. Default: - none.
    :param model: CreateModel, shared by deployment and batch transform. Default: - none.
    :param deployment: endpoint config definitions and :class:`EndpointDeployment` steps. Default: - none.
    :param batch_transform: a transform definition. Default: - none.
    :param approval: ``"auto"`` or ``"manual"`` (see above). Default: - the registration is a record only.
    :param inputs: documented execution input fields (:class:`InputField`). Default: - none.
    :param encryption_key: for the state machine, its logs and the topic. Default: - a new rotating key.
    :param retry_attempts: attempts of the throttling / capacity retry on each job; 0 turns it off. Default: 4.
    :param state_machine_name: Default: - a name unique in the app, from the construct path.
    :param removal_policy: for the key, the log group and the state machine. Default: ``RemovalPolicy.RETAIN``.
    :param notification_topic: told of failures; a topic encrypted with a customer-managed key
        (``master_key``) is published to with that key. Default: - a new topic encrypted with ``encryption_key``.
    :param log_group: the execution logs (one shared by several workflows lets a stack hold more of
        them). Default: - a new log group encrypted with ``encryption_key``, kept for one year.
    :param steps: the workflow as a graph (:mod:`sm_constructs.graph`): definitions, :class:`FanOut`,
        ``Condition``, ``FailStep``, ``Step`` and ``sfn`` chainables, ordered by what each reads;
        instead of the stage arguments. Default: - the graph the stage arguments build.
    :param max_concurrency: the most branches of one ``Parallel`` state (Step Functions' limit of
        10 nested intrinsic functions bounds the merge of their results). Default: 10.
    :param lineage: record each run's data, jobs, model version and endpoint as SageMaker ML Lineage
        Tracking entities (:mod:`sm_constructs.lineage`, docs/provenance.md); a failed run records the
        steps that ran and the job it failed at. Default: True.
    :param manifest: write each successful run's facts as JSON beside its outputs
        (:class:`~sm_constructs.manifest.RunManifest`). Default: - no manifest.
    """

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        steps: Sequence[Any] = (),
        max_concurrency: int = 10,
        preprocessing: Sequence[SageMakerDefinition | FanOut] = (),
        training: SageMakerDefinition | None = None,
        evaluation: SageMakerDefinition | None = None,
        quality_gate: QualityGate | None = None,
        registration: SageMakerDefinition | None = None,
        model: SageMakerDefinition | None = None,
        deployment: Sequence[SageMakerDefinition | sfn.StateMachineFragment] = (),
        batch_transform: SageMakerDefinition | None = None,
        approval: Literal["auto", "manual"] | None = None,
        inputs: Sequence[InputField] = (),
        encryption_key: kms.IKey | None = None,
        notification_topic: sns.ITopic | None = None,
        alarms: bool = True,
        dashboard: bool = False,
        schedule: scheduler.ScheduleExpression | None = None,
        schedule_input: Mapping[str, Any] | None = None,
        s3_trigger: S3Trigger | None = None,
        retry_attempts: int = 4,
        state_machine_name: str | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        cache: StepCache | None = None,
        max_cost_per_run: float | None = None,
        log_group: logs.ILogGroup | None = None,
        lineage: bool = True,
        manifest: RunManifest | None = None,
    ) -> None:
        if manifest is not None:
            problems = Problems.for_construct(type(self).__name__, scope, id)
            manifest.check(problems, "manifest")
            problems.raise_if_any()
        self._validate(
            scope,
            id,
            stages=[preprocessing, training, evaluation, registration, model, deployment, batch_transform],
            steps=steps,
            max_concurrency=max_concurrency,
            preprocessing=preprocessing,
            evaluation=evaluation,
            quality_gate=quality_gate,
            inputs=inputs,
            s3_trigger=s3_trigger,
            retry_attempts=retry_attempts,
            state_machine_name=state_machine_name,
            approval=(approval, registration, model, deployment, batch_transform),
            schedule=schedule,
        )
        super().__init__(scope, id)
        pin_feature_flags(self)

        self._retry_attempts = retry_attempts
        self._build_notifications(
            encryption_key=encryption_key,
            notification_topic=notification_topic,
            removal_policy=removal_policy,
            key_description=f"Encrypts the {self.node.path} workflow, its logs and notifications",
        )
        self.inputs: list[InputField] = list(inputs)
        gates = [quality_gate] if quality_gate is not None else []
        gates += [g.what if isinstance(g, Step) else g for g in steps]
        for gate in gates:
            if not isinstance(gate, QualityGate):
                continue
            self.inputs.append(
                InputField(
                    gate.threshold_input,
                    kind="number",
                    default=gate.threshold,
                    description="quality gate threshold",
                )
            )
        self.definitions: list[SageMakerDefinition] = []
        if not steps:
            self.approval = self._approval_step(approval, registration, quality_gate)
            items = _slot_steps(
                preprocessing=preprocessing,
                training=training,
                evaluation=evaluation,
                quality_gate=quality_gate,
                registration=registration,
                approval=self.approval,
                model=model,
                deployment=deployment,
                batch_transform=batch_transform,
            )
            self._release_steps = _identities([*deployment, batch_transform])
        else:
            #: The approval step (``approval="auto"``), or None.
            self.approval = None
            self._release_steps = set()
            items = [(f"steps[{i}]", s) for i, s in enumerate(steps)]
        # the stage arguments keep their states: their only Parallel (Release) is not resumed into
        self._resume_branches = bool(steps)
        problems = Problems.at(type(self).__name__, self)
        #: The graph of steps: nodes, edges, layout (see :mod:`sm_constructs.graph`).
        self.graph = PipelineGraph(items, problems, describe=_describe_step)
        self._check_graph(problems, self.graph, declared=None if not steps else {f.name for f in self.inputs})
        if problems:
            self.node.scope.node.try_remove_child(self.node.id)  # type: ignore[union-attr]
        problems.raise_if_any()
        nodes = self.graph.all_nodes()
        #: The endpoints this pipeline deploys (its :class:`EndpointDeployment` steps), e.g. to grant invoking them.
        self.endpoints: list[EndpointDeployment] = [n.what for n in nodes if isinstance(n.what, EndpointDeployment)]

        # step caching: every job step without a cache of its own
        if cache is not None:
            for n in nodes:
                if isinstance(n.what, SageMakerDefinition) and n.what.cacheable and n.what.cache is None:
                    n.what.enable_cache(cache)
        self._cached = any(isinstance(n.what, SageMakerDefinition) and n.what.cache is not None for n in nodes)
        self._cached_steps: list[CachedStep] = []
        self._max_concurrency = max_concurrency
        self._failure = self._build_failure_path(
            "PipelineFailed", _FAILURE_SUBJECT, {"step": sfn.JsonPath.string_at("$.error.Step")}
        )
        self._failures: dict[str, sfn.IChainable] = {}
        #: the top-level failure states that lead to the run's lineage, until it is built
        self._unrecorded = [] if lineage else None
        #: the pipeline's own ends of a run that lead to its lineage (:meth:`_end`)
        self._ended: list[sfn.Pass] = []
        #: the steps of each top-level Parallel state, by its name (:meth:`_render`)
        self._parallel_steps: dict[str, list[str]] = {}
        self._reads_newest_version = False
        self._lineage = lineage
        self._manifest = manifest
        chain = self._build_graph()
        timeout = self._total_timeout()
        self._build_state_machine(
            chain,
            timeout=timeout,
            state_machine_name=state_machine_name,
            removal_policy=removal_policy,
            comment=f"SageMaker pipeline {self.node.path}",
            log_group=log_group,
        )
        if self._cached_steps:
            acknowledge_lookups(self.state_machine, self._cached_steps)
        if lineage:
            acknowledge_lineage(self.state_machine.role)
        if manifest is not None:
            acknowledge_manifest(self.state_machine.role, manifest)
        if max_cost_per_run is not None:
            self._check_budget(max_cost_per_run, has_fan_out=any(isinstance(n.what, FanOut) for n in nodes))
        if self._reads_newest_version:
            acknowledge(
                self.state_machine.role,
                [iam5(resource=ANY_RESOURCE)],
                "A registration after a cached training step lists the group's newest version with "
                "sagemaker:ListModelPackages, which takes no resource ARN (SageMaker API permissions reference); "
                "reading it (DescribeModelPackage) is scoped to the group's versions.",
            )
        self._grant_publish()
        for n in nodes:
            if isinstance(n.what, QualityGate):
                self._grant_report_read(n.what)
            elif isinstance(n.what, Condition):
                for report in n.what.reports():
                    self._grant_report_read(report)
        if any(isinstance(n.what, FanOut) for n in nodes):
            self._acknowledge_distributed_map()
        self._dashboard: cloudwatch.Dashboard | None = None
        self._schedules: list[scheduler.Schedule] = []
        self._s3_triggers: list[events.Rule] = []
        if alarms:
            self._alarms()
        if dashboard:
            self.add_dashboard()
        if schedule is not None:
            self.add_schedule(schedule, input=schedule_input)
        if s3_trigger is not None:
            self.add_s3_trigger(s3_trigger)

    # ---- validate ---------------------------------------------------------------------------
    @classmethod
    def _validate(
        cls,
        scope: Construct,
        id: str,
        *,
        stages: Sequence[Any],
        preprocessing: Sequence[SageMakerDefinition | FanOut],
        steps: Sequence[Any] = (),
        max_concurrency: int = 10,
        evaluation: SageMakerDefinition | None,
        quality_gate: QualityGate | None,
        inputs: Sequence[InputField],
        s3_trigger: S3Trigger | None,
        retry_attempts: int,
        state_machine_name: str | None,
        approval: tuple[Any, ...] = (None, None, None, (), None),
        schedule: scheduler.ScheduleExpression | None = None,
    ) -> None:
        """Every prop checked; all problems raised together."""
        problems = Problems.for_construct(cls.__name__, scope, id)
        if schedule is not None:
            check_schedule(problems, "schedule", schedule)
        mode, registration, model, deployment, batch_transform = approval
        cls._check_approval(problems, mode, registration, quality_gate, model, deployment, batch_transform)
        problems.int_range("max_concurrency", max_concurrency, 1, MAX_BRANCHES)
        if steps:
            given = [n for n, v in zip(_STAGES, stages, strict=True) if v]
            given += [n for n, v in (("quality_gate", quality_gate), ("approval", approval[0])) if v]
            if given:
                problems.conflict(
                    ["steps", *given],
                    "give the steps as a graph, or the stage arguments (which build the same graph), not both",
                )
        elif not any(stages):
            problems.add(
                "stages", None, "give at least one of preprocessing, training, evaluation, deployment, batch_transform"
            )
        if quality_gate is not None and evaluation is None:
            problems.conflict(
                ["quality_gate", "evaluation"], "a quality gate needs the evaluation step that writes its report"
            )
        names = [f.name for f in inputs]
        for dup in sorted({n for n in names if names.count(n) > 1}):
            problems.add("inputs", dup, "input field names must be unique")
        for i, f in enumerate(inputs):
            check_jsonpath_member(problems, f"inputs[{i}].name", f.name)
            problems.one_of(f"inputs[{i}].kind", f.kind, get_args(InputKind))
            check_input_default(problems, f"inputs[{i}].default", f)
        if s3_trigger is not None:
            check_jsonpath_member(problems, "s3_trigger.input_field", s3_trigger.input_field)
        gates = [("quality_gate", quality_gate)] if quality_gate is not None else []
        for i, step in enumerate(steps):
            gate = step.what if isinstance(step, Step) else step
            if isinstance(gate, QualityGate):
                gates.append((f"steps[{i}]", gate))
                if not isinstance(step, Step) or not step.depends_on:
                    reads = json.dumps(sfn.FieldUtils.render_object({"Key": gate.key}), default=str)
                    if "$.steps." not in reads:
                        problems.add(
                            f"steps[{i}]",
                            "QualityGate",
                            "nothing orders the gate after the step that writes its report: give "
                            "Step(gate, depends_on=[<that step>])",
                        )
        for at, gate in gates:
            cls._check_quality_gate(problems, at, gate, names)
        check_request(problems, "sns", "Publish", {"Subject": _FAILURE_SUBJECT, "Message": "{}"})
        problems.int_range("retry_attempts", retry_attempts, 0, 10)
        check_state_machine_name(problems, "state_machine_name", state_machine_name)
        fans = [(f"preprocessing[{i}]", f) for i, f in enumerate(preprocessing)]
        fans += [(f"steps[{i}]", f.what if isinstance(f, Step) else f) for i, f in enumerate(steps)]
        for at, fan in fans:
            if isinstance(fan, FanOut):
                problems.int_range(f"{at}.max_concurrency", fan.max_concurrency, 1, 10000)
                problems.int_range(f"{at}.tolerated_failure_percentage", fan.tolerated_failure_percentage, 0, 100)
                problems.s3_prefix(f"{at}.prefix", fan.prefix)
                state = f"{fan.definition.node.id}FanOut"
                if len(state) > 80:  # the States Language limits state names to 80 characters
                    problems.add(f"{at}.definition", fan.definition.node.id, f"state '{state}' is over 80 chars")
        if s3_trigger is not None:
            problems.s3_prefix("s3_trigger.prefix", s3_trigger.prefix)
        problems.raise_if_any()

    @staticmethod
    def _check_quality_gate(problems: Problems, at: str, gate: QualityGate, inputs: Sequence[str]) -> None:
        """A quality gate's props, the same for ``quality_gate=`` and a gate among ``steps=`` (``at``)."""
        if not is_token(gate.threshold) and not isinstance(gate.threshold, int | float):
            problems.add(f"{at}.threshold", gate.threshold, "must be a number")
        if not gate.metric or any(not part.isidentifier() for part in gate.metric.split(".")):
            problems.add(f"{at}.metric", gate.metric, "must be a dotted path such as 'metrics.auc'")
        check_jsonpath_member(problems, f"{at}.threshold_input", gate.threshold_input)
        problems.one_of(f"{at}.comparison", gate.comparison, list(_COMPARISONS))
        # The report is read with S3 GetObject (aws-sdk integration): its model rules the key.
        check_request(problems, "s3", "GetObject", {"Bucket": gate.bucket.bucket_name, "Key": gate.key})
        prefix = gate.static_prefix()
        if not prefix:
            problems.add(
                f"{at}.key_prefix",
                gate.key_prefix,
                "the report key is read at run time with no fixed prefix: give key_prefix (e.g. 'evaluation/') "
                "so the state machine may read that prefix only, not the whole bucket",
            )
        else:
            problems.s3_prefix(f"{at}.key_prefix", prefix)
        if gate.threshold_input in inputs:
            problems.add("inputs", gate.threshold_input, "is declared by the quality gate; do not declare it again")

    @staticmethod
    def _check_name_prefixes(problems: Problems, steps: Sequence[tuple[str, SageMakerDefinition]]) -> None:
        """Two steps that create the same kind of resource need distinct name prefixes: their IAM is
        scoped to ``<prefix>-*`` and cached steps find earlier jobs by name, so a prefix equal to
        another, or another's prefix followed by '-', would let one step act on the other's jobs."""
        for i, (where_a, a) in enumerate(steps):
            for where_b, b in steps[i + 1 :]:
                if a.api.arn_type != b.api.arn_type or is_token(a.name_prefix) or is_token(b.name_prefix):
                    continue
                (short_at, short), (long_at, long) = sorted(
                    ((where_a, a), (where_b, b)), key=lambda x: len(x[1].name_prefix)
                )
                if long.name_prefix == short.name_prefix or long.name_prefix.startswith(short.name_prefix + "-"):
                    problems.add(
                        f"{long_at}.name_prefix",
                        long.name_prefix,
                        f"{short_at} ({short.node.id}, also a SageMaker {a.api.arn_type}) has name prefix "
                        f"{short.name_prefix!r}: give each step of a pipeline its own name prefix, neither "
                        "starting with the other followed by '-'",
                    )

    # ---- build steps ------------------------------------------------------------------------
    def _approval_step(
        self, approval: str | None, registration: SageMakerDefinition | None, gate: QualityGate | None
    ) -> ModelApprovalDefinition | None:
        """``approval="auto"``: the gate passing approves the registered version (``Approve``)."""
        if approval != "auto" or not isinstance(registration, ModelRegistrationDefinition) or gate is None:
            return None
        return ModelApprovalDefinition(
            self,
            "Approve",
            version=registration,
            approval_description=f"Approved by {self.node.path}: {gate.metric} passed the quality gate",
        )

    def _check_graph(self, problems: Problems, graph: PipelineGraph, *, declared: set[str] | None) -> None:
        """Distinct name prefixes over every step; with ``steps=``, every input a step reads is declared
        (so the run-time check covers it) and the layout's limits."""
        steps = []
        for n in graph.all_nodes():
            what = n.what.definition if isinstance(n.what, FanOut) else n.what
            if isinstance(what, SageMakerDefinition) and what.run_suffix:  # versions of one group share its name
                steps.append((n.where, what))
        self._check_name_prefixes(problems, steps)
        gates = [n for n in graph.all_nodes() if isinstance(n.what, QualityGate)]
        for n in gates[1:]:
            problems.add(n.where, "QualityGate", "a pipeline has at most one QualityGate: use a Condition for more")
        if declared is None:
            return
        for n in graph.all_nodes():
            for name in sorted(n.inputs - declared - {"resume"}):
                problems.add(
                    n.where,
                    n.id,
                    f"reads $.input.{name}, which is not a declared input: add InputField('{name}', ...) to inputs "
                    "so every run checks it",
                )
            if isinstance(n.what, Condition):
                for m in n.what.when.metrics():
                    kinds = {f.name: f.kind for f in self.inputs}
                    if m.kind == "input" and kinds.get(m.path, "number") != "number":
                        problems.add(
                            n.where, m.path, "a metric read from the input must be an InputField of kind number"
                        )

    def _build_graph(self) -> sfn.Chain:
        """Input handling, the ``Resume`` choice (selective re-runs, when a top-level job step can be
        started at), the graph's layout, then success."""
        self._resumable: list[tuple[str, sfn.IChainable]] = []
        inputs = self._input_states()  # its Fail states lead to the lineage too
        plan = self.graph.layout(self._max_concurrency)
        assert plan is not None  # _validate: steps or stages are given
        top = plan.parts if isinstance(plan, Series) else [plan]
        self._resume_order = [step_id for part in top for step_id in self._resumable_ids(part)]
        chain: sfn.Chain | None = None
        for part in top:
            step = self._render(part, in_branch=False)
            # a step in a Parallel branch is started at through its Parallel state, whose branches skip to it
            if isinstance(part, Node) or self._resume_branches:
                self._resumable += [(step_id, step) for step_id in self._resumable_ids(part)]
            chain = sfn.Chain.start(step) if chain is None else chain.next(step)
        assert chain is not None
        self._build_end(chain, plan)
        if not self._resumable:  # a Choice needs at least one rule
            return inputs.next(chain)
        resume = sfn.Choice(
            self, "Resume", comment="Selective re-run: start at input.resume.from with input.resume.steps as results"
        )
        self._resume_states(resume, first=chain)
        return inputs.next(resume)

    def _build_end(self, chain: sfn.Chain, plan: Node | Series | Group) -> None:
        """After the steps: the run's lineage, its manifest, then ``PipelineSucceeded``. A run the
        pipeline's own rule ended (:meth:`_end`) records its lineage and writes its manifest too, then
        fails with its error (``PipelineFailed``, after the manifest through ``RunEnded``), unnotified."""
        succeeded = sfn.Succeed(self, "PipelineSucceeded")
        after: sfn.IChainable = succeeded
        failed = self.node.find_child("PipelineFailed")
        assert isinstance(failed, sfn.Fail)  # the failure path's end (_build_failure_path)
        ended: sfn.IChainable | None = failed if self._ended else None
        put = None
        if self._manifest is not None:
            manifest, put = self._manifest_states(self._manifest)
            if ended is not None:
                outcome = sfn.Choice(self, "RunEnded", comment="A run the pipeline's own rule ended fails")
                manifest.next(outcome.when(sfn.Condition.is_present(f"$.error.{REJECTED}"), ended).otherwise(succeeded))
                ended = manifest
            else:
                manifest.next(succeeded)
            after = manifest
        # a FailStep that runs last ends every run itself (through the lineage, as any of the pipeline's own ends)
        runs_on = any(end not in self._ended for end in chain.end_states)
        if self._lineage:
            lineage = self._lineage_states(plan, ended=ended)
            chain = chain.next(lineage) if runs_on else chain
        if put is not None:  # after the lineage: a failure to write the manifest notifies at once
            self._catch(put, "Manifest", False)
        if runs_on:
            chain.next(after)

    def _lineage_states(self, plan: Node | Series | Group, *, ended: sfn.IChainable | None) -> RunLineage:
        """The run's lineage (:class:`RunLineage`), recorded by successful and failed runs alike (every
        top-level catch, and every Fail state of the pipeline's own, leads here first): each step of the
        layout, and of its conditions' branches, that ran a job, registered a version or deployed an
        endpoint; a cached step's inputs with their data fingerprint. ``ended``: where a run the
        pipeline's own rule ended goes next."""
        nodes = [n.what for n in self._recorded_nodes(plan)]
        model = next((what for what in nodes if isinstance(what, ModelDefinition)), None)
        fingerprinted = {c.node.scope.node.id: c.data_inputs for c in self._cached_steps if c.data_inputs}  # type: ignore[union-attr]
        steps = []
        for what in nodes:
            inputs = fingerprinted.get(getattr(getattr(what, "node", None), "id", ""), [])
            steps += lineage_step(what, data=versioned_uris(what.node.id, inputs) if inputs else None, model=model)
        lineage = RunLineage(
            self,
            "Lineage",
            prefix=lineage_prefix(self.node.path),
            steps=steps,
            failure=self._failure,
            failed_runs=True,
            ended=ended,
            unrecorded=self._parallel_steps,
        )
        self._record_failures(lineage)  # a failure after the lineage (the manifest) notifies at once
        return lineage

    def _recorded_nodes(self, plan: Node | Series | Group | None) -> list[Node]:
        """The nodes of a layout in run order, each ``Condition`` followed by the nodes of its branches."""
        out: list[Node] = []
        for node in plan_nodes(plan):
            out.append(node)
            for branch in (node.then, node.otherwise):
                if branch is not None:
                    out += self._recorded_nodes(branch.layout(self._max_concurrency))
        return out

    def _manifest_states(self, manifest: RunManifest) -> tuple[sfn.Chain, SageMakerTask]:
        """The run manifest: the input, every step's result, the data fingerprints, the lineage and how
        the run ended, what each job cost (computed in-state by a JSONata ``ManifestCost`` state: JSONPath
        cannot multiply). ``(chain, the write)``: the caller catches the write."""
        facts: dict[str, Any] = {"input": sfn.JsonPath.object_at("$.input"), "steps": sfn.JsonPath.object_at("$.steps")}
        facts["cost"] = sfn.JsonPath.object_at("$.cost")
        if self._cached:
            facts["cache"] = sfn.JsonPath.object_at("$.cache")
        if self._lineage:
            facts["lineage"] = {
                "context": sfn.JsonPath.string_at("$.lineage.context.arn"),
                "actions": sfn.JsonPath.object_at("$.lineage.actions"),
            }
            facts["outcome"] = sfn.JsonPath.object_at("$.lineage.plan.outcome")
        build, put = manifest_states(self, manifest, facts=facts)
        return sfn.Chain.start(self._cost_state()).next(build).next(put), put

    def _cost_state(self) -> sfn.Pass:
        """``$.cost``: what each job step of the run cost (:func:`sm_constructs.cost.manifest_cost`), priced
        from the repository's table in the run's region (read from its execution ARN)."""
        steps = {
            node_id(n.what): n.what.api.operation
            for n in self.graph.all_nodes()
            if isinstance(n.what, SageMakerDefinition) and n.what.sync
        }
        region = Stack.of(self).region
        prices = manifest_prices(self._job_states(), region=None if is_token(region) else region)
        expression = manifest_cost(steps, prices, source=PriceTable.load().describe())
        return sfn.Pass.jsonata(
            self,
            "ManifestCost",
            outputs=f"{{% $merge([$states.input, {{'cost': {expression}}}]) %}}",
            comment="What each job of the run cost: its billed seconds x instances x the price table's hourly price",
        )

    def _render(self, plan: Node | Series | Group, *, in_branch: bool) -> sfn.IChainable:
        """The states of a part of the layout; inside a ``Parallel`` branch a failure ends the branch
        (naming the step in its cause) and the ``Parallel`` state's catch notifies."""
        if isinstance(plan, Series):
            chain: sfn.Chain | None = None
            for part in plan.parts:
                step = self._render(part, in_branch=in_branch)
                chain = sfn.Chain.start(step) if chain is None else chain.next(step)
            assert chain is not None
            return chain
        if isinstance(plan, Group):
            release = _identities([n.what for n in plan_nodes(plan)]) <= self._release_steps
            name = "Release" if release else parallel_name(plan)  # the stage arguments' name for it
            keys = ["steps", *(["cache"] if self._cached else [])]
            parallel = sfn.Parallel(
                self,
                name,
                result_selector=merge_results(len(plan.branches), keys),
                result_path="$",
                comment="Independent steps; their results are merged back into $.steps",
            )
            for branch in plan.branches:
                parallel.branch(self._branch(branch))
            self._catch(parallel, name, in_branch)
            if not in_branch:  # a run that fails here cannot record these (lineage.UNRECORDED_WHY)
                self._parallel_steps[name] = [n.id for n in self._recorded_nodes(plan)]
            return parallel
        return self._render_node(plan, in_branch=in_branch)

    def _resumable_ids(self, plan: Node | Series | Group) -> list[str]:
        """The job steps of a part of the layout a selective re-run can start at, in run order."""
        return [
            n.id for n in plan_nodes(plan) if isinstance(n.what, SageMakerDefinition) and n.what is not self.approval
        ]

    def _branch(self, plan: Node | Series | Group) -> sfn.IChainable:
        """A ``Parallel`` branch. When it holds a step a selective re-run can start at, it begins with
        ``ResumeBranch_<first step>``: a re-run from one of its steps skips to the part holding it; a
        re-run from a step after all of them ends the branch at once (``SkipBranch_<first step>``:
        their results are among ``input.resume.steps``); otherwise the whole branch runs."""
        parts = plan.parts if isinstance(plan, Series) else [plan]
        rendered = [(part, self._render(part, in_branch=True)) for part in parts]
        chain = sfn.Chain.start(rendered[0][1])
        for _, state in rendered[1:]:
            chain = chain.next(state)
        # a re-run starts at top-level steps and the steps of their Parallel states only (``_resume_order``):
        # a Condition's branches run whole whenever the Condition does
        ids = [step_id for step_id in self._resumable_ids(plan) if step_id in self._resume_order]
        if not ids or not self._resume_branches:
            return chain
        first = plan_nodes(plan)[0].id
        at = "$.input.resume.from"

        def starting_at(step_ids: Sequence[str]) -> sfn.Condition:
            named = [sfn.Condition.string_equals(at, step_id) for step_id in step_ids]
            return sfn.Condition.and_(
                sfn.Condition.is_present(at), named[0] if len(named) == 1 else sfn.Condition.or_(*named)
            )

        resume = sfn.Choice(self, f"ResumeBranch_{first}"[:MAX_STATE_NAME], comment="Selective re-run in this branch")
        for part, state in rendered:
            part_ids = self._resumable_ids(part)
            if part_ids:
                resume.when(starting_at(part_ids), state)
        later = self._resume_order[self._resume_order.index(ids[-1]) + 1 :]
        if later:
            resume.when(starting_at(later), sfn.Pass(self, f"SkipBranch_{first}"[:MAX_STATE_NAME]))
        resume.otherwise(chain)
        return resume

    def _render_node(self, node: Node, *, in_branch: bool) -> sfn.IChainable:
        what = node.what
        if isinstance(what, ModelRegistrationDefinition):
            return self._registration(what, in_branch=in_branch)
        if isinstance(what, SageMakerDefinition):
            return self._task(what, in_branch=in_branch)
        if isinstance(what, FanOut):
            return self._fan_out(what, in_branch=in_branch)
        if isinstance(what, QualityGate):
            return self._gate(what, in_branch=in_branch)
        if isinstance(what, FailStep):
            return self._end(what.id, step=what.id, error=what.error, cause=what.message, in_branch=in_branch)
        if isinstance(what, Condition):
            return self._condition_states(node, in_branch=in_branch)
        if isinstance(what, EndpointDeployment):
            return self._endpoint(node, in_branch=in_branch)
        return self._custom(node, in_branch=in_branch)

    def _endpoint(self, node: Node, *, in_branch: bool) -> sfn.Parallel:
        """An endpoint step: its tasks retried as a custom step's are, the step in its ``Parallel`` state
        (:meth:`_endpoint_step`), whose one catch takes its tasks' errors and its own ``Fail`` states (an
        endpoint that went ``Failed``, rolled back, stayed busy) to the step's failure path (``<id>StepFailed``),
        as for any step."""
        endpoint: EndpointDeployment = node.what
        for task in endpoint.tasks if self._retry_attempts else []:
            if isinstance(task, sfn.TaskStateBase):
                add_default_retry(task, max_attempts=self._retry_attempts, quota_attempts=0)
        wrapped = self._endpoint_step(endpoint)
        id = endpoint.node.id  # <id>Failed is the endpoint's own Fail state (an endpoint that went Failed)
        self._catch(wrapped, id, in_branch, f"{id}StepFailed")
        return wrapped

    def _end(
        self,
        id: str,
        *,
        step: str,
        error: str,
        in_branch: bool,
        cause: str | None = None,
        cause_path: str | None = None,
    ) -> sfn.State:
        """One of the pipeline's own ends of a run (a quality gate or condition not met, a ``FailStep``,
        an invalid input): a ``Fail`` state. ``cause``: text, rendered as it is whatever it holds (a
        ``FailStep``'s message that starts with ``$.`` or ``States.``, or holds a CDK token, is still
        text: a ``Fail`` state's ``Cause`` and a ``Pass`` state's ``Result`` are literal JSON, where a
        ``CausePath`` and a ``Parameters`` value carrying a ``sfn.JsonPath`` token are read as paths:
        AWS Step Functions Developer Guide, "Fail workflow state" and "Pass workflow state");
        ``cause_path``: a ``sfn.JsonPath`` of it, read at run time. At the top level of a pipeline that
        records lineage, a ``Pass`` of that name keeps the error where the failure path keeps a step's
        (``$.error``: ``Error``, ``Cause``, ``Step``, and ``Rejected``: true) and the run records its
        lineage and writes its manifest, then fails with that error, without notifying (a verdict, not
        a fault). Inside a ``Parallel`` branch the ``Fail`` ends the branch, and the ``Parallel``
        state's catch records the run and notifies, as for a failed step."""
        if in_branch or self._unrecorded is None:
            return sfn.Fail(self, id, error=error, cause=cause, cause_path=cause_path)
        fields = {"Error": error, "Step": step, REJECTED: True}
        if cause_path is not None:
            ended = sfn.Pass(self, id, parameters={**fields, "Cause": cause_path}, result_path="$.error")
        else:
            ended = sfn.Pass(self, id, result=sfn.Result.from_object({**fields, "Cause": cause}), result_path="$.error")
        self._unrecorded.append(ended)
        self._ended.append(ended)
        return ended

    def _failure_for(self, step: str, in_branch: bool, name: str | None = None) -> sfn.IChainable:
        """Where a failure of ``step`` goes: ``<step>Failed`` (or ``name``) adds the step's name to the
        error, then the notification (or, inside a Parallel branch, ends the branch with the step in the cause)."""
        name = name or f"{step}Failed"
        key = f"{name}/{in_branch}"
        if key not in self._failures:
            if in_branch:
                self._failures[key] = sfn.Fail(
                    self,
                    name,
                    error_path="$.error.Error",
                    cause_path=json_path(
                        "format", f"{format_text(step)} failed: {{}}", json_path("string_at", "$.error.Cause")
                    ),
                )
            else:
                self._failures[key] = self._named_failure(name, step)
        return self._failures[key]

    def _catch(self, state: Any, step: str, in_branch: bool, name: str | None = None) -> None:
        state.add_catch(self._failure_for(step, in_branch, name), errors=["States.ALL"], result_path="$.error")

    def _read_report(
        self, state: str, report: QualityGate | Report, *, result_path: str, step: str, in_branch: bool
    ) -> tasks.CallAwsService:
        """``report``'s JSON read from S3 into ``<result_path>.report``, retried on S3's transient
        errors and caught into ``step``'s failure path."""
        read = tasks.CallAwsService(
            self,
            state,
            service="s3",
            action="getObject",
            parameters={"Bucket": report.bucket.bucket_name, "Key": report.key},
            iam_action=S3_GET_OBJECT_ACTIONS[0],
            iam_resources=[report.bucket.arn_for_objects(f"{report.static_prefix()}*")],
            result_selector={"report": sfn.JsonPath.string_to_json(sfn.JsonPath.string_at("$.Body"))},
            result_path=result_path,
        )
        if self._retry_attempts:
            read.add_retry(errors=["S3.SdkClientException", "S3.S3Exception"], max_attempts=3)
        self._catch(read, step, in_branch)
        return read

    def _condition_states(self, node: Node, *, in_branch: bool) -> sfn.IChainable:
        """Read the reports, check every metric is a number, then choose (or fail: a gate)."""
        cond: Condition = node.what
        reads: list[tasks.CallAwsService] = []
        for report in cond.reports():
            state = cond.report_state(report)
            reads.append(
                self._read_report(state, report, result_path=f"$.steps.{state}", step=cond.id, in_branch=in_branch)
            )
        metrics = cond.when.metrics()
        paths = [cond.path_of(m) for m in metrics]
        missing = self._end(
            f"{cond.id}MetricMissing",
            step=cond.id,
            error="ConditionMetricMissing",
            cause=f"Condition {cond.id}: one of {', '.join(m.describe() for m in metrics)} is missing or not a number",
            in_branch=in_branch,
        )
        choice = sfn.Choice(self, cond.id, comment=cond.when.describe())
        present = [c for p in paths for c in (sfn.Condition.is_present(p), sfn.Condition.is_numeric(p))]
        choice.when(sfn.Condition.not_(sfn.Condition.and_(*present)) if len(present) > 1 else present[0], missing)
        done = sfn.Pass(self, f"{cond.id}Done")
        then = self.graph_branch(node.then, in_branch) or sfn.Pass(self, f"{cond.id}Met")
        choice.when(cond.when.render(cond.path_of), then)
        if cond.otherwise is None:
            values = "; ".join(f"{format_text(m.describe())} is {{}}" for m in metrics)
            choice.otherwise(
                self._end(
                    f"{cond.id}NotMet",
                    step=cond.id,
                    error="ConditionNotMet",
                    cause_path=sfn.JsonPath.format(
                        f"Condition {format_text(cond.id)} not met: {format_text(cond.when.describe())} does not "
                        f"hold ({values})",
                        *[sfn.JsonPath.json_to_string(sfn.JsonPath.object_at(p)) for p in paths],
                    ),
                    in_branch=in_branch,
                )
            )
            ends = [then]
        else:
            otherwise = self.graph_branch(node.otherwise, in_branch) or sfn.Pass(self, f"{cond.id}NotMet")
            choice.otherwise(otherwise)
            ends = [then, otherwise]
        for end in ends:
            for last in end.end_states:
                if hasattr(last, "next") and not isinstance(last, sfn.Fail | sfn.Succeed) and last not in self._ended:
                    last.next(done)
        start: sfn.IChainable = choice
        for earlier in reversed(reads):
            earlier.next(start)
            start = earlier
        return sfn.Chain.custom(start.start_state, [done], done)

    def graph_branch(self, graph: PipelineGraph | None, in_branch: bool) -> sfn.IChainable | None:
        plan = graph.layout(self._max_concurrency) if graph is not None else None
        return self._render(plan, in_branch=in_branch) if plan is not None else None

    def _custom(self, node: Node, *, in_branch: bool) -> sfn.IChainable:
        """A custom step: retries on its task states that have none of their own, a catch on each."""
        what = node.what
        tasks_of = getattr(what, "tasks", None)
        start = what.start_state if hasattr(what, "start_state") else what
        states = list(tasks_of) if tasks_of is not None else sfn.State.find_reachable_states(start)
        for state in states:
            kind = state.to_state_json().get("Type")
            if kind in ("Task", "Parallel", "Map") and hasattr(state, "add_catch"):
                if kind == "Task" and self._retry_attempts and isinstance(state, sfn.TaskStateBase):
                    add_default_retry(state, max_attempts=self._retry_attempts, quota_attempts=0)
                self._catch(state, node.id, in_branch)
        return what

    # ---- public ---------------------------------------------------------------------------
    @property
    def state_machine_arn(self) -> str:
        return self.state_machine.state_machine_arn

    @typed
    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Start executions and read them back; the grant covers both."""
        return self.state_machine.grant_start_and_read(grantee)

    # ---- metrics: executions (ExecutionMetrics) and job durations ------------------------
    def metric_job_duration(self, definition: SageMakerDefinition, **props: Any) -> cloudwatch.Metric:
        """How long the SageMaker calls of ``definition``'s kind run, in milliseconds (Average over 5 minutes).

        Step Functions publishes ``ServiceIntegrationRunTime`` (namespace ``AWS/States``) per
        integration resource, e.g. ``arn:aws:states:::sagemaker:createTrainingJob.sync`` (AWS docs:
        "Monitoring Step Functions metrics using Amazon CloudWatch", service integration metrics).
        That dimension is the integration, not the state machine: the metric covers every state
        machine in the account and region that runs the same kind of job. For a ``.sync`` job it is
        the job's whole run (start to completion); SageMaker itself publishes no duration metric.
        """
        if definition not in self.definitions:
            problems = Problems.at(type(self).__name__, self)
            problems.add("metric_job_duration(definition)", definition.node.path, "is not a step of this pipeline")
            problems.raise_if_any()
        api = definition.api
        return cloudwatch.Metric(
            namespace="AWS/States",
            metric_name="ServiceIntegrationRunTime",
            dimensions_map={
                "ServiceIntegrationResourceArn": integration_arn(
                    self, api.create_action, sync=definition.sync, sdk=api.sdk
                )
            },
            statistic=props.pop("statistic", "Average"),
            period=props.pop("period", Duration.minutes(5)),
            **props,
        )

    def input_documentation(self) -> str:
        """Markdown table of the execution input: field, kind, default, description."""
        rows = ["| field | kind | default | description |", "| --- | --- | --- | --- |"]
        for f in self.inputs:
            default = "*required*" if f.required else f"`{json.dumps(f.default)}`"
            rows.append(f"| `{f.name}` | {f.kind} | {default} | {f.description} |")
        return "\n".join(rows)

    # ---- building blocks --------------------------------------------------------------------
    @staticmethod
    def _check_approval(
        problems: Problems,
        approval: str | None,
        registration: SageMakerDefinition | None,
        gate: QualityGate | None,
        model: SageMakerDefinition | None,
        deployment: Sequence[Any],
        batch_transform: SageMakerDefinition | None,
    ) -> None:
        if approval is None:
            return
        problems.one_of("approval", approval, ["auto", "manual"])
        if not isinstance(registration, ModelRegistrationDefinition):
            problems.conflict(["approval", "registration"], "approval acts on the version the registration step makes")
            return
        if registration.approval_status != "PendingManualApproval":
            problems.add(
                "registration.approval_status",
                registration.approval_status,
                f"with approval='{approval}' the version is registered PendingManualApproval and approved "
                + ("by the quality gate" if approval == "auto" else "by a person"),
            )
        if approval == "manual":
            given = [
                n for n, v in (("model", model), ("deployment", deployment), ("batch_transform", batch_transform)) if v
            ]
            if given:
                problems.conflict(
                    ["approval", *given],
                    "with approval='manual' the build pipeline ends at registration; deploy approved versions "
                    "with a ModelDeployment",
                )
        if approval == "auto":
            if gate is None:
                problems.conflict(["approval", "quality_gate"], "approval='auto' approves when the quality gate passes")
            if model is not None and getattr(model, "model_package", None) is not registration:
                problems.add(
                    "model",
                    model.node.path,
                    "with approval='auto' the release deploys the approved version: build the ModelDefinition "
                    "with model_package=<the ModelRegistrationDefinition>",
                )

    def _registration(self, definition: ModelRegistrationDefinition, *, in_branch: bool) -> sfn.IChainable:
        """Register only a new model: when the model's training step is cached (a reused job brings back
        the same artifact), the group's newest version is read first, and when it holds the same
        artifact it is this run's version (``<id>Reused``) instead of a duplicate. Runs on unchanged
        data then add no version; a new artifact (new data, new hyperparameters, an expired cache
        entry) registers one. The newest version counts whatever its approval status: a rejected
        artifact stays rejected."""
        register = self._task(definition, in_branch=in_branch)
        training = definition.training
        if training is None or training.cache is None:
            return register
        id, base = definition.node.id, f"$.cache.{definition.node.id}"
        self._reads_newest_version = True
        newest = tasks.CallAwsService(
            self,
            f"{id}Newest",
            service="sagemaker",
            action="listModelPackages",
            parameters={
                "ModelPackageGroupName": definition.group.group_name,
                "SortBy": "CreationTime",
                "SortOrder": "Descending",
                "MaxResults": 1,
            },
            iam_action=LIST_MODEL_PACKAGES_ACTIONS[0],
            iam_resources=[ANY_RESOURCE],
            result_selector={"arns.$": "$.ModelPackageSummaryList[*].ModelPackageArn"},
            result_path=base,
        )
        described = tasks.CallAwsService(
            self,
            f"{id}NewestArtifact",
            service="sagemaker",
            action="describeModelPackage",
            parameters={"ModelPackageName": sfn.JsonPath.string_at(f"{base}.arns[0]")},
            iam_action=DESCRIBE_MODEL_PACKAGE_ACTIONS[0],
            iam_resources=[group_versions_arn(self, definition.group)],
            result_selector={
                "arn.$": "$.ModelPackageArn",
                "artifacts.$": "$.InferenceSpecification.Containers[*].ModelDataUrl",
            },
            result_path=base,
        )
        for call in (newest, described):
            add_default_retry(call, max_attempts=3, quota_attempts=0)
            self._catch(call, id, in_branch)
        reused = sfn.Pass(
            self,
            f"{id}Reused",
            comment="The newest version holds this model's artifact: it is this run's version",
            parameters={"ModelPackageArn": sfn.JsonPath.string_at(f"{base}.arn")},
            result_path=f"$.steps.{id}",
        )
        artifact = (sfn.FieldUtils.render_object({"a": definition.model_data_url}) or {}).get("a.$")
        same = sfn.Condition.is_present(f"{base}.artifacts[0]")
        if artifact is not None:
            same = sfn.Condition.and_(same, sfn.Condition.string_equals_json_path(f"{base}.artifacts[0]", artifact))
        else:
            same = sfn.Condition.and_(
                same, sfn.Condition.string_equals(f"{base}.artifacts[0]", definition.model_data_url)
            )
        is_new = sfn.Choice(self, f"{id}IsNewModel").when(same, reused).otherwise(register)
        any_version = sfn.Choice(self, f"{id}HasVersions")
        any_version.when(sfn.Condition.is_present(f"{base}.arns[0]"), described.next(is_new)).otherwise(register)
        newest.next(any_version)
        return sfn.Chain.custom(newest, [*register.end_states, reused], reused)

    def _task(self, definition: SageMakerDefinition, *, in_branch: bool) -> sfn.IChainable:
        """A retried task (behind its cache lookup when cached), its failures caught under its name."""
        self.definitions.append(definition)
        step = definition.step(input_defaults=self._s3_input_defaults())
        cached = step if isinstance(step, CachedStep) else None
        if cached is not None:
            self._cached_steps.append(cached)
        task = cached.task if cached is not None else step
        assert isinstance(task, sfn.CustomState)
        if self._retry_attempts:
            add_default_retry(task, max_attempts=self._retry_attempts)
        guarded: list[sfn.CustomState | sfn.Map] = [task]
        if cached is not None:
            guarded += [*cached.lookups, *([cached.fingerprint] if cached.fingerprint is not None else [])]
        for state in guarded:
            self._catch(state, definition.node.id, in_branch)
        return step

    def worst_case_cost(self) -> list[JobCost]:
        """The worst-case cost of each job step of a run (:func:`sm_constructs.cost.worst_case`), in the
        stack's region (the price table's default region for an environment-agnostic stack)."""
        region = Stack.of(self).region
        defaults = {f.name: f.default for f in self.inputs if not f.required}
        return worst_case(self._job_states(), defaults, region=None if is_token(region) else region)

    def _job_states(self) -> list[JobState]:
        """The job steps of a run as rendered (:class:`~sm_constructs.cost.JobState`)."""
        return [
            JobState(d.node.id, d.api.operation, d.request_parameters(), int(t.to_seconds()) if t else None)
            for d in self.definitions
            if d.api.operation in USES
            for t in [d.default_timeout()]
        ]

    def _check_budget(self, budget: float, *, has_fan_out: bool) -> None:
        problems = Problems.at(type(self).__name__, self)
        costs = self.worst_case_cost()
        unpriced = [c.line() for c in costs if c.problem is not None]
        total = sum(c.usd for c in costs)
        if has_fan_out:
            unpriced.append("a FanOut step runs one job per object, a number unknown before the run")
        if unpriced:
            problems.add("max_cost_per_run", budget, "the worst case cannot be bounded: " + "; ".join(unpriced))
        elif total > budget:
            steps = "; ".join(c.line() for c in sorted(costs, key=lambda c: -c.usd) if c.usd)
            problems.add(
                "max_cost_per_run",
                budget,
                f"a run's worst case is {dollars(total)} ({steps}); lower the steps' max_runtime, instance counts "
                f"or instance types, or raise the budget ({PriceTable.load().describe()})",
            )
        problems.raise_if_any()

    def _s3_input_defaults(self) -> dict[str, str]:
        """``$.input.<field>`` → default URI of each s3_uri input: where a cached step may list its data."""
        return {
            f"$.input.{f.name}": f.default for f in self.inputs if f.kind == "s3_uri" and isinstance(f.default, str)
        }

    def _fan_out(self, fan: FanOut, *, in_branch: bool) -> sfn.DistributedMap:
        self.definitions.append(fan.definition)
        task = fan.definition.task(result_path=sfn.JsonPath.DISCARD)
        if self._retry_attempts:
            add_default_retry(task, max_attempts=self._retry_attempts)
        name = f"{fan.definition.node.id}FanOut"
        mapped = sfn.DistributedMap(
            self,
            name,
            item_reader=sfn.S3ObjectsItemReader(bucket=fan.bucket, prefix=fan.prefix),
            max_concurrency=fan.max_concurrency,
            tolerated_failure_percentage=fan.tolerated_failure_percentage,
            result_path=sfn.JsonPath.DISCARD,
        )
        mapped.item_processor(task)
        self._catch(mapped, name, in_branch)
        return mapped

    def _input_states(self) -> sfn.Chain:
        defaults = {f.name: f.default for f in self.inputs if not f.required}
        load = sfn.Pass(self, "LoadDefaults", result=sfn.Result.from_object({"defaults": defaults}))
        merge = sfn.Pass(
            self,
            "ApplyDefaults",
            parameters={
                "input": sfn.JsonPath.json_merge(
                    sfn.JsonPath.object_at("$.defaults"), sfn.JsonPath.object_at("$$.Execution.Input")
                ),
                "steps": {},
                **({"cache": {}} if self._cached else {}),
            },
        )
        chain = sfn.Chain.start(load).next(merge)
        if not self.inputs:
            return chain
        # One rule per way a field can be wrong, each to its own Fail state, so that the cause names the
        # field, its value and what was expected (the value is read with States.JsonToString).
        choice = sfn.Choice(self, "ValidateInput")
        for f in self.inputs:
            path = f"$.input.{f.name}"
            expected = f"{f.kind} ({_KINDS[f.kind].text})"
            if f.required:
                missing = self._end(
                    f"MissingInput_{f.name}",
                    step="ValidateInput",
                    error="InvalidInput",
                    cause=f"Execution input has no field {f.name}: it is required, expected {expected}",
                    in_branch=False,
                )
                choice.when(sfn.Condition.not_(sfn.Condition.is_present(path)), missing)
            condition = self._condition(f)
            if condition is not None:
                invalid = self._end(
                    f"InvalidInput_{f.name}",
                    step="ValidateInput",
                    error="InvalidInput",
                    cause_path=sfn.JsonPath.format(
                        f"Execution input field {format_text(f.name)} is {{}}: expected {format_text(expected)}",
                        sfn.JsonPath.json_to_string(sfn.JsonPath.object_at(path)),
                    ),
                    in_branch=False,
                )
                choice.when(sfn.Condition.not_(condition), invalid)
        valid = sfn.Pass(self, "InputValid")
        chain.next(choice.otherwise(valid))
        return sfn.Chain.custom(chain.start_state, [valid], valid)  # the ends (:meth:`_end`) lead elsewhere

    def _resume_states(self, resume: sfn.Choice, *, first: sfn.IChainable) -> None:
        """``Resume`` jumps to the step named in ``input.resume.from`` with ``input.resume.steps`` as the
        earlier steps' results (``sm-pipeline run --from <step> --reuse <execution>`` fills both);
        without ``resume`` every step runs. The choices list the steps in pipeline order."""
        at = "$.input.resume.from"
        for step_id, step in self._resumable:
            fill: dict[str, Any] = {"input.$": "$.input", "steps.$": "$.input.resume.steps"}
            if self._cached:
                fill["cache"] = {}
            jump = sfn.CustomState(
                self, f"ResumeAt{step_id}", state_json={"Type": "Pass", "Parameters": fill, "ResultPath": "$"}
            )
            jump.next(step)
            resume.when(
                sfn.Condition.and_(sfn.Condition.is_present(at), sfn.Condition.string_equals(at, step_id)), jump
            )
        resume.otherwise(first)

    @staticmethod
    def _condition(f: InputField) -> sfn.Condition | None:
        """What a present value of the field must satisfy at run time (None: any value)."""
        path = f"$.input.{f.name}"
        prefix = _KINDS[f.kind].prefix
        if f.kind == "number":
            return sfn.Condition.is_numeric(path)
        if f.kind == "object":
            return None
        if prefix:
            return sfn.Condition.and_(sfn.Condition.is_string(path), sfn.Condition.string_matches(path, f"{prefix}*"))
        return sfn.Condition.is_string(path)

    def _gate(self, gate: QualityGate, *, in_branch: bool) -> sfn.IChainable:
        read = self._read_report(
            "ReadEvaluation", gate, result_path="$.steps.QualityGate", step="QualityGate", in_branch=in_branch
        )
        metric = f"$.steps.QualityGate.report.{gate.metric}"
        threshold = f"$.input.{gate.threshold_input}"
        compare = getattr(sfn.Condition, _COMPARISONS[gate.comparison])
        # The causes name the metric, its value, the comparison and the threshold (States.Format).
        rejected = self._end(
            "QualityGateNotMet",
            step="QualityGate",
            in_branch=in_branch,
            error="QualityGateNotMet",
            cause_path=sfn.JsonPath.format(
                f"{format_text(gate.metric)} is {{}}, which does not pass {gate.comparison} {{}} (the threshold, "
                f"input field {format_text(gate.threshold_input)}); nothing was deployed",
                sfn.JsonPath.json_to_string(sfn.JsonPath.object_at(metric)),
                sfn.JsonPath.json_to_string(sfn.JsonPath.object_at(threshold)),
            ),
        )
        missing = self._end(
            "QualityGateMetricMissing",
            step="QualityGate",
            in_branch=in_branch,
            error="QualityGateNotMet",
            cause=f"The evaluation report has no {gate.metric}, so it cannot pass {gate.comparison} the threshold "
            f"(input field {gate.threshold_input}); nothing was deployed",
        )
        passed = sfn.Pass(self, "QualityGatePassed")
        choice = (
            sfn.Choice(self, "QualityGate")
            .when(sfn.Condition.and_(sfn.Condition.is_numeric(metric), compare(metric, threshold)), passed)
            .when(sfn.Condition.not_(sfn.Condition.is_present(metric)), missing)
            .otherwise(rejected)
        )
        read.next(choice)
        return sfn.Chain.custom(read, [passed], passed)  # the ends (:meth:`_end`) lead elsewhere

    def _total_timeout(self) -> Duration:
        seconds = 3600  # input handling, gate, notifications, endpoint waits
        for definition in self.definitions:
            t = definition.default_timeout()
            if t is not None:
                seconds += int(t.to_seconds())
        return Duration.seconds(seconds)

    def _grant_report_read(self, gate: QualityGate | Report) -> None:
        """Decrypt the report (SSE-KMS) through S3 only; the read itself is the ReadEvaluation task's own grant."""
        prefix = gate.static_prefix()
        role = self.state_machine.role
        key = gate.bucket.encryption_key
        if key is not None:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=list(S3_KMS_READ_ACTIONS),
                    resources=[key.key_arn],
                    conditions={"StringEquals": {VIA_SERVICE: f"s3.{Stack.of(self).region}.amazonaws.com"}},
                )
            )
        findings = bucket_prefix_findings(gate.bucket, prefix, actions=())
        if findings:
            acknowledge(
                role,
                findings,
                f"The quality gate reads the evaluation report, whose key is only known per run under '{prefix}'.",
            )

    def _acknowledge_distributed_map(self) -> None:
        """aws-cdk gives a Distributed Map its self-invocation rights as a separate inline policy."""
        sm = self.state_machine.resource  # aws-cdk adds the Distributed Map policy to the StateMachine
        execution = state_machine_executions(sm)
        reason = (
            "aws-cdk attaches the Distributed Map's rights (start, describe and stop child executions of this "
            "same state machine) as its own policy; it is scoped to this state machine's executions."
        )
        acknowledge(sm, [iam5(resource=f"{execution}:*"), iam5(resource=f"{execution}/*:*")], reason)
        acknowledge_in_packs(sm, "IAMNoInlinePolicy", reason)

    def _alarms(self) -> None:
        for name, metric in (
            ("ExecutionsFailed", self.metric_failed(period=Duration.minutes(5))),
            ("ExecutionsTimedOut", self.metric_timed_out(period=Duration.minutes(5))),
        ):
            self._alarm(f"{name}Alarm", metric, description=f"{self.node.path}: an execution {name[10:].lower()}")

    # ---- triggers and dashboard ------------------------------------------------------------
    def add_dashboard(self) -> cloudwatch.Dashboard:
        """A CloudWatch dashboard of executions, execution time and each job's run time (made once)."""
        if self._dashboard is not None:
            return self._dashboard
        board = self._dashboard = cloudwatch.Dashboard(self, "Dashboard")
        board.add_widgets(
            cloudwatch.GraphWidget(
                title="Executions",
                left=[self.metric_started(), self.metric_succeeded(), self.metric_failed(), self.metric_timed_out()],
            ),
            cloudwatch.GraphWidget(title="Execution time", left=[self.metric_time()]),
        )
        jobs = [d for d in self.definitions if d.sync]
        if jobs:
            board.add_widgets(
                cloudwatch.GraphWidget(
                    title="Job run time (all state machines running the same job kind)",
                    left=[self.metric_job_duration(d, label=d.node.id) for d in jobs],
                )
            )
        return board

    def add_schedule(
        self, expression: scheduler.ScheduleExpression, *, input: Mapping[str, Any] | None = None
    ) -> scheduler.Schedule:
        """Start the pipeline on a schedule (EventBridge Scheduler, with its own role).

        :param input: the execution input. Default: - empty: the input fields' defaults apply.
        """
        problems = Problems.at(type(self).__name__, self)
        check_schedule(problems, "add_schedule(expression)", expression)
        problems.raise_if_any()
        n = len(self._schedules)
        id = "Schedule" if n == 0 else f"Schedule{n + 1}"
        schedule = scheduler.Schedule(
            self,
            id,
            schedule=expression,
            description=f"Starts {self.node.path}",
            target=scheduler_targets.StepFunctionsStartExecution(
                self.state_machine,
                input=scheduler.ScheduleTargetInput.from_object(dict(input or {})),
                role=ManagedPolicyRole(self, f"{id}Role", assumed_by=service_of_this_account(SCHEDULER_PRINCIPAL)),
            ),
        )
        self._schedules.append(schedule)
        return schedule

    def add_s3_trigger(self, trigger: S3Trigger) -> events.Rule:
        """Start the pipeline for each object created under ``trigger.prefix`` (an EventBridge rule).

        An :class:`MlDataBucket` (or its ``bucket``) is switched to send events to EventBridge by
        the data bucket itself; any other bucket must already send them (set where it is defined).
        """
        problems = Problems.at(type(self).__name__, self)
        problems.s3_prefix("s3_trigger.prefix", trigger.prefix)
        bucket_name = (
            trigger.bucket.bucket.bucket_name
            if isinstance(trigger.bucket, MlDataBucket)
            else trigger.bucket.bucket_name
        )
        bucket_rule = s3_uri_rule(f"s3://{bucket_name}/")
        if bucket_rule is not None:
            problems.add("s3_trigger.bucket", bucket_name, bucket_rule)
        problems.raise_if_any()
        owner = trigger.bucket if isinstance(trigger.bucket, MlDataBucket) else trigger.bucket.node.scope
        if isinstance(owner, MlDataBucket):
            owner.enable_event_bridge()
        bucket = trigger.bucket.bucket if isinstance(trigger.bucket, MlDataBucket) else trigger.bucket
        n = len(self._s3_triggers)
        id = "OnNewData" if n == 0 else f"OnNewData{n + 1}"
        rule = events.Rule(
            self,
            id,
            description=f"Starts {self.node.path} for new objects under {trigger.prefix}",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [bucket.bucket_name]},
                    "object": {"key": [{"prefix": trigger.prefix}]},
                },
            ),
        )
        rule.add_target(
            events_targets.SfnStateMachine(
                self.state_machine,
                role=ManagedPolicyRole(self, f"{id}Role", assumed_by=service_of_this_account(EVENTS_PRINCIPAL)),
                input=events.RuleTargetInput.from_object(
                    {
                        trigger.input_field: "s3://{}/{}".format(
                            events.EventField.from_path("$.detail.bucket.name"),
                            events.EventField.from_path("$.detail.object.key"),
                        )
                    }
                ),
            )
        )
        self._s3_triggers.append(rule)
        return rule


# ---- rules of props shared with other workflows ------------------------------------------------------
def check_schedule(problems: Problems, field: str, schedule: scheduler.ScheduleExpression) -> None:
    """A schedule EventBridge Scheduler would refuse at deploy (a 5-field Unix cron, hour 25 ...)."""
    expression = schedule.expression_string
    rule = schedule_expression_rule(expression)
    if rule is not None:
        problems.add(field, expression, rule)


def check_input_default(problems: Problems, field: str, f: InputField) -> None:
    """A default must pass the run-time check of its kind (else every run that omits the field fails)."""
    if f.default is None or is_token(f.default):
        return
    kind = _KINDS.get(f.kind)
    if kind is None:
        return  # the kind itself is reported
    if (
        (isinstance(f.default, bool) and f.kind != "object")
        or not isinstance(f.default, kind.types)
        or (kind.prefix and isinstance(f.default, str) and not f.default.startswith(kind.prefix))
    ):
        problems.add(field, f.default, f"a default of kind {f.kind} must be {kind.text}")
    elif f.kind == "s3_uri" and isinstance(f.default, str) and (rule := s3_uri_rule(f.default)) is not None:
        problems.add(field, f.default, rule)
    elif f.kind == "instance_type":
        problems.instance_type(field, f.default)
    elif f.kind == "object":
        try:
            json.dumps(f.default, allow_nan=False)
        except (TypeError, ValueError) as exc:
            problems.add(field, f.default, f"a default of kind object must be a JSON value ({exc})")


def _describe_step(what: Any) -> tuple[set[str], list[str]] | None:
    """What a FanOut or a QualityGate writes under ``$.steps`` and reads (see :class:`PipelineGraph`)."""
    if isinstance(what, FanOut):
        return set(), [json.dumps(what.definition.request_parameters(), default=str)]
    if isinstance(what, QualityGate):
        return {"QualityGate"}, [json.dumps(sfn.FieldUtils.render_object({"Key": what.key}), default=str)]
    return None


def _identities(items: Sequence[Any]) -> set[int]:
    return {id(x) for x in items if x is not None}


# ---- the stage arguments as a graph ---------------------------------------------------------------
def _slot_steps(
    *,
    preprocessing: Sequence[SageMakerDefinition | FanOut],
    training: SageMakerDefinition | None,
    evaluation: SageMakerDefinition | None,
    quality_gate: QualityGate | None,
    registration: SageMakerDefinition | None,
    approval: SageMakerDefinition | None,
    model: SageMakerDefinition | None,
    deployment: Sequence[SageMakerDefinition | sfn.StateMachineFragment],
    batch_transform: SageMakerDefinition | None,
) -> list[tuple[str, Any]]:
    """The stages in their order, as before the graph: each step waits for the one before (a
    preprocessing step may rely on the files of the one before without reading its result); the
    deployment steps run in their order, beside the batch transform. ``steps=`` runs independent
    steps in parallel."""
    stages: list[list[tuple[str, Any]]] = [
        *[[(f"preprocessing[{i}]", p)] for i, p in enumerate(preprocessing)],
        *[[(name, s)] for name, s in (("training", training), ("evaluation", evaluation)) if s is not None],
        *[[(name, s)] for name, s in (("quality_gate", quality_gate), ("registration", registration)) if s],
        *[[(name, s)] for name, s in (("approval", approval), ("model", model)) if s is not None],
    ]
    items: list[tuple[str, Any]] = []
    before: list[Any] = []
    for stage in stages:
        if stage:
            items += [(where, Step(s, depends_on=before)) for where, s in stage]
            before = [s for _, s in stage]
    previous = before
    for i, d in enumerate(deployment):
        items.append((f"deployment[{i}]", Step(d, depends_on=previous)))
        previous = [d]
    if batch_transform is not None:
        items.append(("batch_transform", Step(batch_transform, depends_on=before)))
    return items
