"""Lineage: what each run read, ran and made, as SageMaker ML Lineage Tracking entities.

Every run of an :class:`~sm_constructs.MlPipeline` (a failed one too: its failure path passes
through these states, and so does a run its own rule ended: a quality gate or condition not met, a
``FailStep``, an invalid input) and every run of a :class:`~sm_constructs.ModelDeployment` (a
failed one too, up to its endpoint and batch transform) ends its work by recording, through the Step Functions AWS SDK integrations (no Lambda):

* one **context** for the execution (``ContextType`` ``StepFunctionsExecution``, ``Source.SourceUri``
  the execution ARN), named ``<prefix>-<MD5 of the execution ARN>``, with how the run ended in its
  properties (``Outcome``: ``Succeeded``, ``Failed`` or ``Rejected``; ``Error`` and ``Step``);
* one **action** per step that ran (``ActionType`` ``ProcessingJob``, ``TrainingJob``,
  ``HyperParameterTuningJob`` and its best ``TrainingJob``, ``TransformJob``, ``ModelRegistration``,
  ``ModelDeployment``; ``Source.SourceUri`` the job, version or endpoint ARN; ``Status``
  ``Completed``, or ``Failed`` for the job a failed run failed at), named ``<context name>-<step>``,
  ``AssociatedWith`` the context;
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

Which steps ran is known only at run time (a ``Condition``'s branch not taken, the steps after a
failure): the plan is one JSONata state (Step Functions lets a state of a JSONPath state machine use
JSONata: AWS Step Functions Developer Guide, "Transforming data with JSONata in Step Functions"),
where a path the state lacks is *undefined* and leaves its step out, where a JSONPath reference
would fail the state.

A retried or redriven state meets what its first attempt made. A second context or action of one
name, or a second association of two entities, is refused with ``ValidationException`` (through the
SDK integration: ``SageMaker.SageMakerException``, :mod:`sm_constructs._sfn_errors`); each such call
catches it and, when the cause says "already exists", updates the run's context to how this
attempt ended (``UpdateContext``), reads the existing action or goes on. The
throttling retry every SageMaker call carries sees the same error name first, so an existing entity
costs those retries' waits before it is read.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Annotations, Stack
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
from .jobs.tuning import TuningDefinition

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
#: Where a lineage error is kept: not ``$.error``, which on the failure path holds the run's own.
_ERROR = "$.lineage.error"
#: ``<prefix>-<MD5 of the execution ARN>``: a valid name whatever the execution is called.
_RUN_NAME = "States.Format('{prefix}-{{}}', States.Hash($$.Execution.Id, 'MD5'))"
#: Where a run that the workflow's own rule ended (a Fail state of its own: a quality gate or condition
#: not met, a ``FailStep``, an invalid input) says so: ``$.error`` is that Fail state's error, cause
#: and step, and ``$.error.Rejected`` is true.
REJECTED = "Rejected"
#: How the run ended (JSONata over the plan's ``$e``, the run's error): ``Succeeded``, ``Failed`` (a step
#: failed: the failure path) or ``Rejected`` (the workflow's own rule ended it), in the plan's ``outcome`` (the
#: manifest's) and its context's properties (the state machine, the execution's name, ``Outcome``,
#: and when it did not succeed its ``Error`` and ``Step``). A property value is at most 2,500
#: characters (botocore's SageMaker model, ``StringParameterValue``): error and state names are far
#: shorter; a cause may not be, so the context leaves it out (the execution and the manifest keep it).
_OUTCOME = (
    f"$o := $exists($e) ? ($exists($e.{REJECTED}) ? 'Rejected' : 'Failed') : 'Succeeded'; "
    "$o := {'status': $o, 'error': $e.Error, 'step': $e.Step, 'cause': $e.Cause}"
)
_PROPERTIES = (
    "{'StateMachine': $states.context.StateMachine.Id, 'ExecutionName': $states.context.Execution.Name, "
    "'Outcome': $o.status, 'Error': $o.error, 'Step': $o.step}"
)
#: Why a run that failed at a ``Parallel`` state records none of its steps: Step Functions keeps no result
#: of a ``Parallel`` state that failed (its catch's ``ResultPath`` adds the error to the state's input:
#: AWS Step Functions Developer Guide, "Parallel workflow state"), and keeping them
#: would take a store outside the state, or branches that never fail (the run would then wait for the
#: siblings of a failed step to end instead of stopping them).
UNRECORDED_WHY = (
    "the run failed at this Parallel state, whose results Step Functions does not keep: "
    "these steps may have run, and are neither in steps nor in the lineage"
)
#: The properties a run that succeeded has not and an attempt that failed wrote: a redrive that succeeds
#: removes them from the context its first attempt made (UpdateContext ``PropertiesToRemove``).
_STALE = "$o.status = 'Succeeded' ? ['Error', 'Step'] : []"


@dataclass(frozen=True)
class LineageArtifact:
    """Something a step read or wrote: its ``ArtifactType`` and its URI (a literal, a JSONPath, or a
    ``States.Format`` of those, read when the run's lineage is recorded). ``versions``: where the
    step's cache lookup put this input's listing (``$.cache.<step>.data[<i>]``): when it holds a
    fingerprint, the URI is recorded as ``<uri>#sha256=<fingerprint>``."""

    type: str
    uri: str
    versions: str | None = None


@dataclass(frozen=True)
class LineageStep:
    """One step of a run as an action: its state id, ``ActionType``, source (the ARN of what it
    ran or made) and the artifacts it read (``inputs``) and wrote (``outputs``).

    ``ran``: the JSONPath that is present once the step has run (default: ``source``); a step of a
    ``Condition`` branch not taken, or after the step a run failed at, is not recorded.
    ``failed_arn``: the field of the job's description (``Describe*``) that holds its ARN: when the
    run fails at this step and the failure's cause is that description (a ``.sync`` job that ended
    Failed or Stopped), the job is recorded as a ``Failed`` action with what it read.
    ``failed_at``: when the run fails at this step (``$.error.Step``, or the cause of a ``Parallel``
    branch it ended) and its result is not in the state (a ``Parallel`` state's catch keeps its input
    only), record it ``Failed`` with its ``source``, which must then be known before the step runs (an
    endpoint's ARN)."""

    id: str
    type: str
    source: str
    inputs: Sequence[LineageArtifact] = field(default_factory=tuple)
    outputs: Sequence[LineageArtifact] = field(default_factory=tuple)
    ran: str | None = None
    failed_arn: str | None = None
    failed_at: bool = False


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


def lineage_step(what: Any, *, data: Mapping[str, str] | None = None, model: Any = None) -> list[LineageStep]:
    """The lineage of one step of a workflow, from its definition: its actions (none for a step that
    runs nothing lineage records: a model, an endpoint config, an approval; two for a tuning job:
    the tuning job and its best training job, which made the model).

    :param data: by input name, where the step's cache lookup lists that input (:func:`versioned_uris`).
    :param model: the model an :class:`EndpointDeployment` serves.
    """
    data = data or {}
    if isinstance(what, EndpointDeployment):
        inputs = [a for a in [model_artifact(model)] if a is not None]
        # <id>Start writes $.steps.<id>.Busy before the endpoint is created or updated
        id = what.node.id
        return [LineageStep(id, "ModelDeployment", what.endpoint_arn, inputs, ran=f"$.steps.{id}", failed_at=True)]
    if not isinstance(what, SageMakerDefinition):
        return []
    id, result = what.node.id, f"$.steps.{what.node.id}"
    request = what.render_request()

    def read(kind: str, name: str, uri: Any) -> LineageArtifact:
        return LineageArtifact("Code" if name == CODE_CHANNEL else kind, _uri(uri), data.get(name))

    if isinstance(what, ProcessingDefinition):
        inputs = [
            read("DataSet", i["InputName"], i["S3Input"]["S3Uri"])
            for i in request.get("ProcessingInputs", [])
            if "S3Input" in i
        ]
        inputs.append(LineageArtifact("Image", _uri(request["AppSpecification"]["ImageUri"])))
        outputs = [
            LineageArtifact("DataSet", f"{result}.Outputs[{i}]")
            for i, _ in enumerate(request.get("ProcessingOutputConfig", {}).get("Outputs", []))
        ]
        source = f"{result}.ProcessingJobArn"
        return [LineageStep(id, "ProcessingJob", source, inputs, outputs, failed_arn="ProcessingJobArn")]
    if isinstance(what, TuningDefinition | TrainingDefinition):
        spec = request.get("TrainingJobDefinition", request)
        inputs = [
            read("DataSet", c["ChannelName"], c["DataSource"]["S3DataSource"]["S3Uri"])
            for c in spec.get("InputDataConfig", [])
            if "S3DataSource" in c.get("DataSource", {})
        ]
        image = LineageArtifact("Image", f"{result}.Image")
        model_out = [LineageArtifact("Model", f"{result}.ModelArtifacts")]
        if isinstance(what, TrainingDefinition):
            source = f"{result}.TrainingJobArn"
            return [LineageStep(id, "TrainingJob", source, [*inputs, image], model_out, failed_arn="TrainingJobArn")]
        tuning = LineageStep(
            id,
            "HyperParameterTuningJob",
            f"{result}.HyperParameterTuningJobArn",
            [*inputs, image],
            failed_arn="HyperParameterTuningJobArn",
        )
        best = LineageStep(f"{id}Best", "TrainingJob", f"{result}.BestTrainingJobArn", [*inputs, image], model_out)
        return [tuning, best]
    if isinstance(what, TransformDefinition):
        source_uri = request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
        inputs = [a for a in [model_artifact(what.model)] if a is not None]
        inputs.append(LineageArtifact("DataSet", _uri(source_uri)))
        outputs = [LineageArtifact("DataSet", f"{result}.OutputPath")]
        source = f"{result}.TransformJobArn"
        return [LineageStep(id, "TransformJob", source, inputs, outputs, failed_arn="TransformJobArn")]
    if isinstance(what, ModelRegistrationDefinition):
        inputs = [LineageArtifact("Model", _uri(what.model_data_url))]
        outputs = [LineageArtifact("ModelPackage", f"{result}.ModelPackageArn")]
        return [LineageStep(id, "ModelRegistration", f"{result}.ModelPackageArn", inputs, outputs)]
    return []


def versioned_uris(step: str, inputs: Sequence[DataInput]) -> dict[str, str]:
    """By input name, where a cached step's lookup lists that input (its URI and fingerprint)."""
    return {d.name: f"$.cache.{step}.data[{i}]" for i, d in enumerate(inputs)}


def _quote(text: str) -> str:
    """A JSONata string literal: single-quoted, or as JSON writes it (JSONata's escapes are JSON's,
    with no escape for a single quote) when it holds a quote or a backslash."""
    return json.dumps(text) if "'" in text or "\\" in text else f"'{text}'"


_PATH_PART = re.compile(r"\.([^.\[]+)|(\[\d+\])")


def _path(path: str) -> str:
    """A JSONPath of the state (``$.a.b[0]``) or the context (``$$.Execution.Id``) as JSONata over
    ``$i`` (the state) and ``$states.context``; a member that is not an identifier is back-quoted."""
    root, rest = ("$states.context", path[2:]) if path.startswith("$$") else ("$i", path[1:])
    out, at = [root], 0
    while at < len(rest):
        m = _PATH_PART.match(rest, at)
        if m is None:
            raise ValueError(f"not a plain JSONPath: {path}")
        name, index = m.groups()
        out.append(index if name is None else f".{name}" if name.isidentifier() else f".`{name}`")
        at = m.end()
    return "".join(out)


def _intrinsic(text: str, at: int) -> tuple[str, str | None, int]:
    """The argument at ``at`` of an intrinsic: ``(JSONata, the literal if it is a string literal, end)``."""
    while text[at] == " ":
        at += 1
    if text[at] == "'":
        end, chars = at + 1, []
        while text[end] != "'":
            if text[end] == "\\":
                end += 1
            chars.append(text[end])
            end += 1
        text_literal = "".join(chars)
        return _quote(text_literal), text_literal, end + 1
    call = re.compile(r"States\.(Format|ArrayGetItem)\(").match(text, at)
    if call is not None:
        args: list[tuple[str, str | None]] = []
        at = call.end()
        while True:
            arg, literal, at = _intrinsic(text, at)
            args.append((arg, literal))
            while text[at] == " ":
                at += 1
            at += 1
            if text[at - 1] == ")":
                break
        if call.group(1) == "ArrayGetItem":
            return f"({args[0][0]})[{args[1][0]}]", None, at
        template = args[0][1]
        if template is None or template.count("{}") != len(args) - 1:
            raise ValueError(f"not a States.Format this module reads: {text}")
        pieces = template.split("{}")
        joined = [_quote(pieces[0])] + [
            p for (arg, _), piece in zip(args[1:], pieces[1:], strict=True) for p in (arg, _quote(piece))
        ]
        return "(" + " & ".join(joined) + ")", None, at
    end = at
    while end < len(text) and text[end] not in ",) ":
        end += 1
    token = text[at:end]
    if token.startswith(("$.", "$$.")):
        return _path(token), None, end
    if re.fullmatch(r"-?\d+(\.\d+)?", token):
        return token, None, end
    raise ValueError(f"not an expression this module reads: {text[at:]}")


def jsonata_of(value: str) -> str:
    """A value as :func:`lineage_step` writes it (a literal, a JSONPath, ``States.Format`` /
    ``States.ArrayGetItem`` of those) as a JSONata expression over ``$i`` (the state): a path not
    present in the state is then *undefined* (the step is left out), where JSONPath would fail."""
    if value.startswith(("$.", "$$.")):
        return _path(value)
    if value.startswith("States."):
        try:
            expression, _, end = _intrinsic(value, 0)
        except IndexError:  # unbalanced: not an intrinsic Step Functions would take either
            raise ValueError(f"not an expression this module reads: {value}") from None
        if end != len(value):
            raise ValueError(f"not an expression this module reads: {value}")
        return expression
    return _quote(value)


def plan_expression(
    steps: Sequence[LineageStep],
    names: Sequence[str],
    unread: list[str] | None = None,
    *,
    failed_runs: bool = True,
    unrecorded: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """The JSONata expression of a run's plan: ``{actions: [{source, name, type, status}],
    artifacts: [{uri, type, edge, step}], outcome: {status, error, step, cause}, properties}``
    (``step``: the index of the action; ``properties``: the context's), over the steps
    that ran (:attr:`LineageStep.ran` present) and, with ``failed_runs``, the job the run failed at
    (``$.error.Step``, its description as ``$.error.Cause``: :attr:`LineageStep.failed_arn`). An artifact whose URI
    is not in the state (an output the step did not write) is left out; one built with an intrinsic
    function :func:`jsonata_of` does not read is left out and named in ``unread``. ``unrecorded``: the
    steps of each ``Parallel`` state, by its name: when the run failed at one, the outcome names its
    steps as ``unrecorded`` (:data:`UNRECORDED_WHY`)."""

    def artifacts(items: Sequence[LineageArtifact], edge: str) -> list[str]:
        out = []
        for a in items:
            try:
                uri = jsonata_of(a.uri)
            except ValueError:
                if unread is not None:
                    unread.append(a.uri)
                continue
            if a.versions is not None:
                v = _path(a.versions)
                uri = f"($v := {v}; $exists($v.fingerprint) ? $v.uri & '#sha256=' & $v.fingerprint : {uri})"
            out.append(f"{{'uri': {uri}, 'type': {_quote(a.type)}, 'edge': '{edge}'}}")
        return out

    parts = []
    for step, name in zip(steps, names, strict=True):
        head = f"'name': $r & {_quote('-' + name)}, 'type': {_quote(step.type)}"
        at = f"$e.Step = {_quote(step.id)}"
        source, ran = jsonata_of(step.source), jsonata_of(step.ran or step.source)
        status = f"{at} ? 'Failed' : 'Completed'"
        wrote = ", ".join(artifacts(step.outputs, "Produced"))
        done = (
            f"$exists({ran}) ? "
            f"{{'action': {{'source': {source}, {head}, 'status': {status}}}, 'artifacts': $append($a, [{wrote}])}}"
        )
        reads = ", ".join(artifacts(step.inputs, "ContributedTo"))
        part = f"$a := [{reads}]; {done}"
        # A step inside a Parallel branch ends the branch with "<id> failed: <cause>" (and the Parallel
        # state's catch names the Parallel as the step).
        in_branch = f"$substringBefore($e.Cause, ' failed: ') = {_quote(step.id)}"
        if step.failed_arn is not None and failed_runs:
            # the cause of a .sync job that ended Failed or Stopped is its description (JSON, one line),
            # as the emulator reports it and the CLI reads it; AWS does not document the cause's form,
            # so anything else (not a JSON object naming <Kind>JobArn) records no job rather than a wrong one.
            branch = f"{in_branch} ? $substringAfter($e.Cause, ' failed: ')"
            described = f'$contains($c, /^\\{{.*"{step.failed_arn}"/)'
            failed = f"{{'source': $parse($c).{step.failed_arn}, {head}, 'status': 'Failed'}}"
            part = f"$a := [{reads}]; $c := {at} ? $e.Cause : {branch}; {done}"
            part += f" : {described} ? {{'action': {failed}, 'artifacts': $a}}"
        elif step.failed_at and failed_runs:
            failed_here = f"({at} or {in_branch})"
            part += (
                f" : {failed_here} ? {{'action': {{'source': {source}, {head}, 'status': 'Failed'}}, 'artifacts': $a}}"
            )
        parts.append(f"({part})")
    outcome = _OUTCOME
    if failed_runs and unrecorded:
        groups = json.dumps({name: list(ids) for name, ids in unrecorded.items()}, separators=(",", ":"))
        outcome += (
            f"; $u := $lookup({groups}, $e.Step); "
            f"$o := $exists($u) ? $merge([$o, {{'unrecorded': {{'steps': $u, 'why': {_quote(UNRECORDED_WHY)}}}}}]) : $o"
        )
    return (
        f"($i := $states.input; $e := $i.error; $r := $i.lineage.run; $ran := [{', '.join(parts)}]; {outcome}; "
        "{'actions': [$ran.action], 'artifacts': $reduce([$map($ran, function($p, $n) "
        "{[$p.artifacts[$type(uri) = 'string'].{'uri': uri, 'type': type, 'edge': edge, 'step': $n}]})], $append, []), "
        f"'outcome': $o, 'properties': {_PROPERTIES}, 'stale': {_STALE}}})"
    )


class RunLineage(BuiltFragment):
    """The states that record a run's lineage (see the module): the run's context, the plan (a
    JSONata state: the steps that ran, each with what it read and wrote), a Map over the steps'
    actions, then a Map over their artifacts and associations, one at a time (so that two items with
    one URI share one artifact).

    :param prefix: the entities' name prefix (:func:`lineage_prefix`).
    :param steps: the steps, in run order; a step is recorded when it ran (:attr:`LineageStep.ran`).
    :param failure: where a failure goes (``$.error`` holds it): a lineage call that fails for
        another reason than "already exists" fails the run as the step ``<id>``, as any step would.
    :param failed_runs: the workflow's failure path enters these states too (with ``$.error`` the
        run's error, ``$.error.Step`` the step it failed at): they record what ran, the failed job,
        then go on to ``failure`` with the run's own error (a lineage error then is kept in
        ``$.lineage.error`` and does not replace it). Default: False.
    :param ended: where a run that the workflow's own rule ended goes once its lineage is recorded
        (``$.error.Rejected`` present, :data:`REJECTED`: the Fail states of its own enter these states
        first); a lineage error on such a run fails it as the step ``<id>``, as on a successful run.
        Default: - no such runs.
    :param unrecorded: the steps of each top-level ``Parallel`` state, by its name: a run that failed at
        one says in its outcome which steps it could not record (:func:`plan_expression`). Default: - none.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        prefix: str,
        steps: Sequence[LineageStep],
        failure: sfn.IChainable,
        failed_runs: bool = False,
        ended: sfn.IChainable | None = None,
        unrecorded: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        super().__init__(scope, id)
        self._id = id
        context_arn = sagemaker_arn(self, "context", f"{prefix}-*")
        action_arn = sagemaker_arn(self, "action", f"{prefix}-*")
        self._artifact_arn = sagemaker_arn(self, "artifact", "*")
        self._associate_statements = [
            statement(
                self, actions=list(LINEAGE_ASSOCIATE_ACTIONS), resources=[context_arn, action_arn, self._artifact_arn]
            )
        ]
        named = sfn.Pass(
            self,
            f"{id}Failed",
            parameters={"Error.$": f"{_ERROR}.Error", "Cause.$": f"{_ERROR}.Cause", "Step": id},
            result_path="$.error",
        )
        named.next(failure)
        #: where a lineage error goes: the failure path, named as this step (a run that already failed
        #: keeps its own error)
        self._failure: sfn.IChainable = named
        if failed_runs:
            error = sfn.Choice(self, f"{id}Error")
            if ended is not None:
                error.when(sfn.Condition.is_present(f"$.error.{REJECTED}"), named)
            self._failure = error.when(sfn.Condition.is_present("$.error"), failure).otherwise(named)
        names = sfn.Pass(
            self,
            f"{id}Names",
            parameters={"run.$": _RUN_NAME.format(prefix=prefix)},
            result_path=_BASE,
            comment="The run's lineage names: <prefix>-<MD5 of the execution ARN> (valid whatever the execution name)",
        )
        # the plan comes first: the context's properties say how the run ended
        actions, artifacts = self._actions(action_arn), self._artifacts()
        plan = self._plan(prefix, steps, failed_runs=failed_runs, unrecorded=unrecorded)
        names.next(plan).next(self._context(context_arn, actions))
        actions.next(artifacts)
        self._start = names
        self._ends = [artifacts]
        if failed_runs:
            recorded = sfn.Choice(self, f"{id}Recorded", comment="A failed run goes on to its failure path")
            if ended is not None:
                recorded.when(sfn.Condition.is_present(f"$.error.{REJECTED}"), ended)
            recorded.when(sfn.Condition.is_present("$.error"), failure)
            artifacts.next(recorded)
            # the Choice's default is the state after these (``DefaultAsNext``); the failure path ends in Fail
            self._ends = [
                e for e in recorded.afterwards(include_otherwise=True).end_states if not isinstance(e, sfn.State)
            ]

    def _catch(self, state: Any) -> None:
        state.add_catch(self._failure, errors=["States.ALL"], result_path=_ERROR)

    def _plan(
        self,
        prefix: str,
        steps: Sequence[LineageStep],
        *,
        failed_runs: bool,
        unrecorded: Mapping[str, Sequence[str]] | None,
    ) -> sfn.Pass:
        """``$.lineage.plan``: the actions (one per step that ran, and the job a failed run failed at)
        and the artifacts (one per read or write), computed by one JSONata state (:func:`plan_expression`)."""
        names = self._step_names(prefix, steps)
        unread: list[str] = []
        expression = plan_expression(steps, names, unread, failed_runs=failed_runs, unrecorded=unrecorded)
        for uri in unread:
            Annotations.of(self).add_warning_v2(
                "sm-constructs:lineage-unread-uri",
                f"Lineage: {uri} is built with an intrinsic function the lineage plan does not evaluate "
                "(it reads JSONPaths, States.Format and States.ArrayGetItem): that artifact is not recorded",
            )
        return sfn.Pass.jsonata(
            self,
            f"{self._id}Plan",
            outputs=f"{{% $merge([$states.input, {{'lineage': $merge([$states.input.lineage, {{'plan': {expression}}}])}}]) %}}",
            comment="The steps that ran (their results are present), each with what it read and wrote",
        )

    def _context(self, context_arn: str, then: sfn.IChainable) -> SageMakerTask:
        """The run's context, created with the plan's properties, then ``then``. When it exists (a redrive,
        or a retry of the creation), ``<id>RunExisting`` updates it to this attempt's properties
        (``UpdateContext``: ``Properties``, and ``PropertiesToRemove`` the ones an attempt that failed
        wrote and a successful one has not), so the context says how the run ended last."""
        id = self._id
        statements = [statement(self, actions=list(LINEAGE_CONTEXT_ACTIONS), resources=[context_arn])]
        create_run = self._call(
            "createContext",
            f"{id}Run",
            {
                "ContextName.$": f"{_BASE}.run",
                "ContextType": RUN_CONTEXT_TYPE,
                "Source": {"SourceUri.$": "$$.Execution.Id", "SourceType": RUN_CONTEXT_TYPE},
                "Properties.$": f"{_BASE}.plan.properties",
            },
            statements,
            result_selector={"arn.$": "$.ContextArn"},
            result_path=f"{_BASE}.context",
        )
        update_run = self._call(
            "updateContext",
            f"{id}RunExisting",
            {
                "ContextName.$": f"{_BASE}.run",
                "Properties.$": f"{_BASE}.plan.properties",
                "PropertiesToRemove.$": f"{_BASE}.plan.stale",
            },
            statements,
            result_selector={"arn.$": "$.ContextArn"},
            result_path=f"{_BASE}.context",
        )
        create_run.next(then)
        self._exists_then(create_run, f"{id}RunExists", update_run.next(then), otherwise=self._failure, error=_ERROR)
        for call in (create_run, update_run):
            self._catch(call)
        return create_run

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
                "Status.$": "$.item.status",
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
        self,
        task: SageMakerTask,
        id: str,
        then: sfn.IChainable,
        *,
        otherwise: sfn.IChainable | None = None,
        error: str = "$.error",
    ) -> None:
        """When ``task`` fails because what it creates already exists, go on with ``then``; any other
        failure goes to ``otherwise`` (default: a Fail state, which inside a Map fails the Map, whose
        catch handles it). ``error``: where the caught error is kept (inside a Map, the item's own)."""
        if otherwise is None:
            otherwise = sfn.Fail(self, f"{id}Not", error_path=f"{error}.Error", cause_path=f"{error}.Cause")
        exists = sfn.Choice(self, id)
        exists.when(sfn.Condition.string_matches(f"{error}.Cause", ALREADY_EXISTS_CAUSE), then).otherwise(otherwise)
        task.add_catch(exists, errors=[ALREADY_EXISTS_ERROR], result_path=error)


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
