"""Lineage: what each run read, ran and made, as SageMaker ML Lineage Tracking entities.

Every run of an :class:`~sm_constructs.MlPipeline` or :class:`~sm_constructs.ModelDeployment` ends
its work by recording, through the Step Functions AWS SDK integrations (no Lambda):

* one **context** for the execution (``ContextType`` ``StepFunctionsExecution``, ``Source.SourceUri``
  the execution ARN), named ``<prefix>-<MD5 of the execution ARN>``;
* one **action** per step (``ActionType`` ``ProcessingJob``, ``TrainingJob``, ``TransformJob``,
  ``ModelRegistration``, ``ModelDeployment``; ``Source.SourceUri`` the job, version or endpoint ARN),
  named ``<context name>-<step>``, ``AssociatedWith`` the context;
* one **artifact** per thing a step read or wrote (``DataSet``, ``Code``, ``Image``, ``Model``,
  ``ModelPackage``), by its URI: ``ContributedTo`` the step's action (inputs) or ``Produced`` by it
  (outputs). A cached step's input data carries its listing fingerprint (``<uri>#sha256=<fingerprint>``:
  :class:`~sm_constructs.jobs.cache.DataFingerprint`), so each version of the data is its own artifact.

SageMaker itself creates a trial component for each job and artifacts for its image and S3
locations (SageMaker Developer Guide, "Amazon SageMaker AI–Created Tracking Entities",
lineage-tracking-auto-creation.html); an artifact is identified by its source (Service
Authorization Reference for SageMaker, resource type ``artifact``:
``arn:${Partition}:sagemaker:${Region}:${Account}:artifact/${HashOfArtifactSource}``) and "there can be
only one artifact with a unique SourceUri" (lineage-tracking-entities.html). So an artifact is looked
up by its URI first (``ListArtifacts``) and created only when missing, as the SageMaker Python SDK's
own lineage helpers do (``S3LineageEntityHandler.retrieve_raw_data_artifact``): the ones SageMaker
made are reused, never duplicated. Names follow botocore's SageMaker model (``ContextName``: 1-120
chars, ``[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,119}``; ``ActionName``: ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}``).

A retried or redriven state meets what its first attempt made. A second context or action of one
name, or a second association of two entities, is refused with ``ValidationException`` (through the
SDK integration: ``SageMaker.SageMakerException``, :mod:`sm_constructs._sfn_errors`); each such call
catches it and, when the cause says "already exists", reads the existing entity or goes on. The
throttling retry every SageMaker call carries sees the same error name first, so an existing entity
costs those retries' waits before it is read.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ._fragment import BuiltFragment
from ._iam_facts import (
    ANY_RESOURCE,
    LINEAGE_ACTION_ACTIONS,
    LINEAGE_ASSOCIATE_ACTIONS,
    LINEAGE_CONTEXT_ACTIONS,
    LINEAGE_CREATE_ARTIFACT_ACTIONS,
    LINEAGE_LIST_ARTIFACTS_ACTIONS,
)
from ._memo import statement
from ._nag import acknowledge, flatten_cfn_reference, iam5
from ._sfn_errors import ALREADY_EXISTS_CAUSE, ALREADY_EXISTS_ERROR
from .jobs._base import SageMakerDefinition
from .jobs._common import CODE_CHANNEL
from .jobs._task import SageMakerTask, add_default_retry, integration_arn, sagemaker_arn
from .jobs.cache import DataInput
from .jobs.hosting import EndpointDeployment, ModelDefinition
from .jobs.processing import ProcessingDefinition
from .jobs.registry import ModelRegistrationDefinition
from .jobs.training import TrainingDefinition
from .jobs.transform import TransformDefinition

__all__ = ["LineageArtifact", "LineageStep", "RunLineage", "acknowledge_lineage", "lineage_prefix", "lineage_step"]

#: ``ContextType`` of a run's context; the CLI finds a run's context by its source (the execution ARN).
RUN_CONTEXT_TYPE = "StepFunctionsExecution"
#: The longest context and action name (botocore's SageMaker model, ``ContextName`` / ``ExperimentEntityName``).
MAX_NAME = 120
#: ``<prefix>-<32 hex>``: the prefix's budget leaves room for the step names after it.
MAX_PREFIX = 40
_MD5_HEX = 32
#: Where a run's lineage facts live in the state.
_BASE = "$.lineage"
#: ``<prefix>-<MD5 of the execution ARN>``: a valid name whatever the execution is called.
_RUN_NAME = "States.Format('{prefix}-{{}}', States.Hash($$.Execution.Id, 'MD5'))"


@dataclass(frozen=True)
class LineageArtifact:
    """Something a step read or wrote: its ``ArtifactType`` and its URI (a literal or a JSONPath /
    intrinsic expression evaluated at the end of the run)."""

    type: str
    uri: str


@dataclass(frozen=True)
class LineageStep:
    """One step of a run as an action: its state id, ``ActionType``, source (the ARN of what it
    ran or made) and the artifacts it read (``inputs``) and wrote (``outputs``)."""

    id: str
    type: str
    source: str
    inputs: Sequence[LineageArtifact] = field(default_factory=tuple)
    outputs: Sequence[LineageArtifact] = field(default_factory=tuple)


def _slug(text: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", text.lower())).strip("-")


def lineage_prefix(path: str) -> str:
    """The name prefix of a workflow's lineage entities: its construct id as a slug plus 8 hex of its
    path (two workflows of one account never share names, and IAM is scoped to this prefix)."""
    digest = hashlib.sha256(path.encode()).hexdigest()[:8]
    base = _slug(path.rsplit("/", 1)[-1])[: MAX_PREFIX - 9] or "run"
    return f"{base}-{digest}"


def _value(key: str, value: str) -> dict[str, Any]:
    """``{key: literal}`` or ``{key.$: path}``, as Step Functions takes a field: a JSONPath or an
    intrinsic (as :func:`lineage_step` writes them) or a token of one (``sfn.JsonPath``)."""
    if value.startswith(("$.", "States.")):
        return {f"{key}.$": value}
    return dict(sfn.FieldUtils.render_object({key: value}) or {})


#: The States Language's limit on a state name.
MAX_STATE_NAME = 80


def _state_name(step: str, what: str) -> str:
    """``Lineage<step><what>``, within :data:`MAX_STATE_NAME` (a long step id is cut and told apart by a hash)."""
    name = f"Lineage{step}{what}"
    if len(name) <= MAX_STATE_NAME:
        return name
    digest = hashlib.sha256(step.encode()).hexdigest()[:8]
    return f"Lineage{step[: MAX_STATE_NAME - len('Lineage') - len(what) - 8]}{digest}{what}"


def _uri(value: Any) -> str:
    """A rendered request value (a literal, or a token of a JSONPath) as the expression a Pass reads."""
    rendered = _value("v", value)
    return str(rendered.get("v.$", rendered.get("v")))


def model_artifact(model: Any) -> LineageArtifact | None:
    """What a model (CreateModel) serves: the registered version it was made from, or its artifact."""
    if not isinstance(model, ModelDefinition):
        return None
    if model.model_package is not None:
        return LineageArtifact("ModelPackage", _uri(model.model_package.model_package_arn))
    return LineageArtifact("Model", _uri(model.model_data_url))


def lineage_step(what: Any, *, data: Mapping[str, str] | None = None, model: Any = None) -> LineageStep | None:
    """The lineage of one step of a workflow, from its definition (``None`` for a step that runs
    nothing lineage records: a model, an endpoint config, a tuning job, an approval).

    :param data: by input name, the expression of a cached input's versioned URI (replacing its URI).
    :param model: the model an :class:`EndpointDeployment` serves.
    """
    data = data or {}
    if isinstance(what, EndpointDeployment):
        inputs = [a for a in [model_artifact(model)] if a is not None]
        return LineageStep(what.node.id, "ModelDeployment", what.endpoint_arn, inputs=inputs)
    if not isinstance(what, SageMakerDefinition):
        return None
    id, result = what.node.id, f"$.steps.{what.node.id}"
    request = what.render_request()
    if isinstance(what, ProcessingDefinition):
        inputs = [
            LineageArtifact(
                "Code" if i["InputName"] == CODE_CHANNEL else "DataSet",
                data.get(i["InputName"], _uri(i["S3Input"]["S3Uri"])),
            )
            for i in request.get("ProcessingInputs", [])
            if "S3Input" in i
        ]
        inputs.append(LineageArtifact("Image", _uri(request["AppSpecification"]["ImageUri"])))
        outputs = [
            LineageArtifact("DataSet", f"{result}.Outputs[{i}]")
            for i, _ in enumerate(request.get("ProcessingOutputConfig", {}).get("Outputs", []))
        ]
        return LineageStep(id, "ProcessingJob", f"{result}.ProcessingJobArn", inputs=inputs, outputs=outputs)
    if isinstance(what, TrainingDefinition):
        inputs = [
            LineageArtifact(
                "Code" if c["ChannelName"] == CODE_CHANNEL else "DataSet",
                data.get(c["ChannelName"], _uri(c["DataSource"]["S3DataSource"]["S3Uri"])),
            )
            for c in request.get("InputDataConfig", [])
            if "S3DataSource" in c.get("DataSource", {})
        ]
        inputs.append(LineageArtifact("Image", f"{result}.Image"))
        outputs = [LineageArtifact("Model", f"{result}.ModelArtifacts")]
        return LineageStep(id, "TrainingJob", f"{result}.TrainingJobArn", inputs=inputs, outputs=outputs)
    if isinstance(what, TransformDefinition):
        source = request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
        inputs = [a for a in [model_artifact(what.model)] if a is not None]
        inputs.append(LineageArtifact("DataSet", _uri(source)))
        outputs = [LineageArtifact("DataSet", f"{result}.OutputPath")]
        return LineageStep(id, "TransformJob", f"{result}.TransformJobArn", inputs=inputs, outputs=outputs)
    if isinstance(what, ModelRegistrationDefinition):
        inputs = [LineageArtifact("Model", _uri(what.model_data_url))]
        outputs = [LineageArtifact("ModelPackage", f"{result}.ModelPackageArn")]
        return LineageStep(id, "ModelRegistration", f"{result}.ModelPackageArn", inputs=inputs, outputs=outputs)
    return None


def versioned_uris(step: str, inputs: Sequence[DataInput]) -> dict[str, str]:
    """By input name, where :class:`RunLineage` puts a cached step's input URI with its fingerprint."""
    return {d.name: f"$.lineage.data.{step}.d{i}" for i, d in enumerate(inputs)}


class RunLineage(BuiltFragment):
    """The states that record a run's lineage (see the module): the run's context, a Map over the
    steps' actions, then a Map over their artifacts and associations, one at a time (so that two
    items with one URI share one artifact).

    :param prefix: the entities' name prefix (:func:`lineage_prefix`).
    :param steps: the steps, in run order.
    :param versioned: by step id, the data inputs a cached step fingerprinted (their URIs become
        ``<uri>#sha256=<fingerprint>`` when this run fingerprinted them, else stay plain). Default: - none.
    :param failure: where a failure goes (``$.error`` holds it): a lineage call that fails for
        another reason than "already exists" fails the run, as any step would.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        prefix: str,
        steps: Sequence[LineageStep],
        failure: sfn.IChainable,
        versioned: Mapping[str, Sequence[DataInput]] | None = None,
    ) -> None:
        super().__init__(scope, id)
        self._id, self._failure = id, failure
        context_arn = sagemaker_arn(self, "context", f"{prefix}-*")
        action_arn = sagemaker_arn(self, "action", f"{prefix}-*")
        self._artifact_arn = sagemaker_arn(self, "artifact", "*")
        self._associate_statements = [
            statement(
                self, actions=list(LINEAGE_ASSOCIATE_ACTIONS), resources=[context_arn, action_arn, self._artifact_arn]
            )
        ]
        names = sfn.Pass(
            self,
            f"{id}Names",
            parameters={"run.$": _RUN_NAME.format(prefix=prefix), "data": {}},
            result_path=_BASE,
            comment="The run's lineage names: <prefix>-<MD5 of the execution ARN> (valid whatever the execution name)",
        )
        chain = sfn.Chain.start(names)
        for step_id, inputs in (versioned or {}).items():
            chain = chain.next(self._versions(step_id, inputs))
        context, plan = self._context(context_arn, self._plan(prefix, steps))
        chain.next(context)
        artifacts = self._artifacts()
        plan.next(self._actions(action_arn)).next(artifacts)
        self._start = names
        self._ends = [artifacts]

    def _catch(self, state: Any) -> None:
        state.add_catch(self._failure, errors=["States.ALL"], result_path="$.error")

    def _plan(self, prefix: str, steps: Sequence[LineageStep]) -> sfn.Pass:
        """``$.lineage.plan``: the actions (one per step) and the artifacts (one per read or write)."""
        return sfn.Pass(
            self,
            f"{self._id}Plan",
            parameters={
                "actions": [
                    {
                        **_value("source", step.source),
                        "name.$": f"States.Format('{{}}-{{}}', {_BASE}.run, '{name}')",
                        "type": step.type,
                    }
                    for step, name in zip(steps, self._step_names(prefix, steps), strict=True)
                ],
                "artifacts": [
                    {**_value("uri", artifact.uri), "type": artifact.type, "step": i, "edge": edge}
                    for i, step in enumerate(steps)
                    for edge, artifacts in (("ContributedTo", step.inputs), ("Produced", step.outputs))
                    for artifact in artifacts
                ],
            },
            result_path=f"{_BASE}.plan",
        )

    def _context(self, context_arn: str, plan: sfn.Pass) -> tuple[SageMakerTask, sfn.Pass]:
        """The run's context, created (or, when it exists, read): ``(entry, exit)``, the exit being ``plan``."""
        id = self._id
        statements = [statement(self, actions=list(LINEAGE_CONTEXT_ACTIONS), resources=[context_arn])]
        create_run = self._call(
            "createContext",
            f"{id}Run",
            {
                "ContextName.$": f"{_BASE}.run",
                "ContextType": RUN_CONTEXT_TYPE,
                "Source": {"SourceUri.$": "$$.Execution.Id", "SourceType": RUN_CONTEXT_TYPE},
                "Properties": {"StateMachine.$": "$$.StateMachine.Id", "ExecutionName.$": "$$.Execution.Name"},
            },
            statements,
            result_selector={"arn.$": "$.ContextArn"},
            result_path=f"{_BASE}.context",
        )
        describe_run = self._call(
            "describeContext",
            f"{id}RunExisting",
            {"ContextName.$": f"{_BASE}.run"},
            statements,
            result_selector={"arn.$": "$.ContextArn"},
            result_path=f"{_BASE}.context",
        )
        create_run.next(plan)
        self._exists_then(create_run, f"{id}RunExists", describe_run.next(plan), otherwise=self._failure)
        for call in (create_run, describe_run):
            self._catch(call)
        return create_run, plan

    def _plan_map(self, plan_list: str, also: Mapping[str, str], *, result_path: str, comment: str) -> sfn.Map:
        """``<id><Plan_list>``: a Map over one list of the plan (``actions`` or ``artifacts``), one item
        at a time, each item given as ``item`` with the ``also`` fields."""
        return sfn.Map(
            self,
            f"{self._id}{plan_list.capitalize()}",
            items_path=f"{_BASE}.plan.{plan_list}",
            item_selector={"item.$": "$$.Map.Item.Value", **also},
            max_concurrency=1,
            result_path=result_path,
            comment=comment,
        )

    def _actions(self, action_arn: str) -> sfn.Map:
        """A Map over the planned actions: each created (or read) and ``AssociatedWith`` the context;
        its result is each action's ``{arn}``, in the plan's order."""
        id = self._id
        statements = [statement(self, actions=list(LINEAGE_ACTION_ACTIONS), resources=[action_arn])]
        actions = self._plan_map(
            "actions",
            {"context.$": f"{_BASE}.context.arn"},
            result_path=f"{_BASE}.actions",
            comment="One action per step, AssociatedWith the run's context",
        )
        create_action = self._call(
            "createAction",
            f"{id}Action",
            {
                "ActionName.$": "$.item.name",
                "ActionType.$": "$.item.type",
                "Source": {"SourceUri.$": "$.item.source"},
                "Status": "Completed",
            },
            statements,
            result_selector={"arn.$": "$.ActionArn"},
            result_path="$.action",
        )
        describe_action = self._call(
            "describeAction",
            f"{id}ActionExisting",
            {"ActionName.$": "$.item.name"},
            statements,
            result_selector={"arn.$": "$.ActionArn"},
            result_path="$.action",
        )
        in_run = self._associate(f"{id}ActionInRun", "$.action.arn", "$.context", "AssociatedWith")
        done = sfn.Pass(self, f"{id}ActionDone", parameters={"arn.$": "$.action.arn"}, comment="The step's action ARN")
        create_action.next(in_run)
        self._exists_then(create_action, f"{id}ActionExists", describe_action.next(in_run))
        in_run.next(done)
        self._exists_then(in_run, f"{id}ActionInRunExists", done)
        actions.item_processor(create_action)
        self._catch(actions)
        return actions

    def _artifacts(self) -> sfn.Map:
        """A Map over the planned artifacts: each found by URI or created, then associated with its
        step's action (``ContributedTo`` it, or ``Produced`` by it)."""
        id = self._id
        artifacts = self._plan_map(
            "artifacts",
            {"actions.$": f"{_BASE}.actions"},
            result_path=sfn.JsonPath.DISCARD,
            comment="Each artifact a step read (ContributedTo its action) or wrote (Produced by it)",
        )
        step = sfn.Pass(
            self,
            f"{id}Step",
            parameters={"item.$": "$.item", "action.$": "States.ArrayGetItem($.actions, $.item.step)"},
            comment="The action of the step that read or wrote this artifact",
        )
        find = self._call(
            "listArtifacts",
            f"{id}Find",
            {"SourceUri.$": "$.item.uri", "MaxResults": 1},
            [statement(self, actions=list(LINEAGE_LIST_ARTIFACTS_ACTIONS), resources=[ANY_RESOURCE])],
            result_selector={"arns.$": "$.ArtifactSummaries[*].ArtifactArn"},
            result_path="$.found",
        )
        known = sfn.Pass(self, f"{id}Known", parameters={"arn.$": "$.found.arns[0]"}, result_path="$.artifact")
        create = self._call(
            "createArtifact",
            f"{id}Create",
            {"ArtifactType.$": "$.item.type", "Source": {"SourceUri.$": "$.item.uri"}},
            [statement(self, actions=list(LINEAGE_CREATE_ARTIFACT_ACTIONS), resources=[self._artifact_arn])],
            result_selector={"arn.$": "$.ArtifactArn"},
            result_path="$.artifact",
        )
        self._exists_then(create, f"{id}CreateExists", find)  # made meanwhile: find it again
        direction = sfn.Choice(self, f"{id}Direction")
        contributed = self._associate(f"{id}Read", "$.artifact.arn", "$.action.arn", "ContributedTo")
        produced = self._associate(f"{id}Wrote", "$.action.arn", "$.artifact.arn", "Produced")
        linked = sfn.Succeed(self, f"{id}Linked")
        for call in (contributed, produced):
            call.next(linked)
            self._exists_then(call, f"{call.node.id}Exists", linked)
        direction.when(sfn.Condition.string_equals("$.item.edge", "Produced"), produced).otherwise(contributed)
        find.next(
            sfn.Choice(self, f"{id}Found")
            .when(sfn.Condition.is_present("$.found.arns[0]"), known.next(direction))
            .otherwise(create.next(direction))
        )
        artifacts.item_processor(step.next(find))
        self._catch(artifacts)
        return artifacts

    def _versions(self, step: str, inputs: Sequence[DataInput]) -> sfn.Chain:
        """``$.lineage.data.<step>.d<i>``: each input's URI with the fingerprint this run's cache
        lookup listed (``$.cache.<step>.data``), or the plain URI when it did not (a step run uncached,
        or resumed)."""
        cache = f"$.cache.{step}.data"
        versioned = sfn.Pass(
            self,
            _state_name(step, "Versions"),
            parameters={
                f"d{i}.$": f"States.Format('{{}}#sha256={{}}', {cache}[{i}].uri, {cache}[{i}].fingerprint)"
                for i, _ in enumerate(inputs)
            },
            result_path=f"$.lineage.data.{step}",
        )
        plain = sfn.Pass(
            self,
            _state_name(step, "Uris"),
            parameters={
                f"d{i}{'.$' if 'uri.$' in d.value else ''}": next(iter(d.value.values())) for i, d in enumerate(inputs)
            },
            result_path=f"$.lineage.data.{step}",
        )
        choice = sfn.Choice(self, _state_name(step, "Data"))
        choice.when(sfn.Condition.is_present(f"{cache}[{len(inputs) - 1}].fingerprint"), versioned)
        return choice.otherwise(plain).afterwards()

    @staticmethod
    def _step_names(prefix: str, steps: Sequence[LineageStep]) -> list[str]:
        """Each step's part of its action name: its id as a slug, distinct within the run, within
        what :data:`MAX_NAME` leaves after ``<prefix>-<32 hex>-``."""
        budget = MAX_NAME - len(prefix) - _MD5_HEX - 2
        names: list[str] = []
        for step in steps:
            name = _slug(step.id)[:budget].strip("-") or "step"
            if name in names:
                suffix = f"-{len(names)}"
                name = name[: budget - len(suffix)].strip("-") + suffix
            names.append(name)
        return names

    def _call(
        self,
        action: str,
        id: str,
        parameters: Mapping[str, Any],
        statements: Sequence[Any],
        **kwargs: Any,
    ) -> SageMakerTask:
        task = SageMakerTask(
            self,
            id,
            resource=integration_arn(self, action, sync=False, sdk=True),
            parameters=parameters,
            policy_statements=statements,
            **kwargs,
        )
        add_default_retry(task, max_attempts=3, quota_attempts=0)
        return task

    def _associate(self, id: str, source: str, destination: str, edge: str) -> SageMakerTask:
        return self._call(
            "addAssociation",
            id,
            {"SourceArn.$": source, "DestinationArn.$": destination, "AssociationType": edge},
            self._associate_statements,
            result_path=sfn.JsonPath.DISCARD,
        )

    def _exists_then(
        self, task: SageMakerTask, id: str, then: sfn.IChainable, *, otherwise: sfn.IChainable | None = None
    ) -> None:
        """When ``task`` fails because what it creates already exists, go on with ``then``; any other
        failure goes to ``otherwise`` (default: a Fail state, which inside a Map fails the Map, whose
        catch handles it)."""
        if otherwise is None:
            otherwise = sfn.Fail(self, f"{id}Not", error_path="$.error.Error", cause_path="$.error.Cause")
        exists = sfn.Choice(self, id)
        exists.when(sfn.Condition.string_matches("$.error.Cause", ALREADY_EXISTS_CAUSE), then).otherwise(otherwise)
        task.add_catch(exists, errors=[ALREADY_EXISTS_ERROR], result_path="$.error")


def acknowledge_lineage(role: Any) -> None:
    """The two wildcards lineage needs, with their reasons, on the state machine role."""
    stack = Stack.of(role)
    artifacts = flatten_cfn_reference(stack.resolve(sagemaker_arn(role, "artifact", "*")))
    acknowledge(
        role,
        [iam5(resource=ANY_RESOURCE)],
        "Lineage: sagemaker:ListArtifacts takes no resource ARN (Service Authorization Reference: List* calls); "
        "the state machine finds an artifact by its source URI before creating one.",
    )
    acknowledge(
        role,
        [iam5(resource=artifacts)],
        "Lineage: an artifact's ARN is a hash of its source (Service Authorization Reference, resource type "
        "artifact: artifact/${HashOfArtifactSource}), unknown before it is created; contexts and actions are "
        "limited to this workflow's name prefix.",
    )
