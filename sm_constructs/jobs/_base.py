"""The shared machinery of every SageMaker job definition.

A *definition* holds validated, typed settings and renders one SageMaker API request body
(PascalCase, exactly as the API takes it). From that one object we derive:

* the Step Functions task state (:class:`SageMakerTask`) that sends the request,
* the IAM statements the state machine role needs (scoped to the definition's name prefix),
* a one-step state machine, so a single job is deployable and schedulable on its own.

Values may be fixed at synth time or read at run time with JSONPath
(``sfn.JsonPath.string_at("$.input.instanceType")``); validation skips run-time values.
"""

from __future__ import annotations

import contextlib
import inspect
import re
from collections.abc import Iterator, Mapping
from typing import Any

import jsii
from aws_cdk import Arn, ArnComponents, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct, IValidation

from .._iam_facts import EVENTS_RULE_ACTIONS, PASSED_TO_SERVICE, SAGEMAKER_PRINCIPAL, SageMakerApi
from .._memo import attribute, json_path, node_id, stack_memo, statement
from .._notify import failure_path
from .._validation import ConstructValidationError, Problems, carry, check_request, traced, whole_days
from ..cost import billing_selector
from ..state_machine import MlStateMachine
from ._task import (
    QUOTA_ERRORS,
    RETRYABLE_ERRORS,
    SageMakerTask,
    add_default_retry,
    integration_arn,
    sagemaker_arn,
)
from .cache import CACHE_DAY_TAG, CACHE_KEY_TAG, CachedStep, StepCache, acknowledge_lookups

__all__ = [
    "QUOTA_ERRORS",
    "RETRYABLE_ERRORS",
    "RUN_SUFFIX_CHARS",
    "SageMakerDefinition",
    "SageMakerTask",
    "add_default_retry",
    "integration_arn",
    "run_unique_name",
    "sagemaker_arn",
    "uuid_group",
]

#: Characters appended to a job-name prefix per run: ``-`` and 12 random hex digits.
RUN_SUFFIX_CHARS = 13
#: Tag that links every job to the Step Functions execution that started it.
EXECUTION_TAG = "sm-constructs:execution"
#: ``sfn.JsonPath.DISCARD`` (a constant: read from jsii once).
_DISCARD = sfn.JsonPath.DISCARD
_STATE_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")


def uuid_group(index: int) -> str:
    """``States.ArrayGetItem(States.StringSplit(States.UUID(), '-'), index)``: a group of a fresh UUID."""
    return json_path("array_get_item", json_path("string_split", json_path("uuid"), "-"), index)


def run_unique_name(prefix: str) -> str:
    """A JSONPath intrinsic that yields ``<prefix>-<12 hex>``, new for every task attempt.

    The suffix is the last group of a fresh UUID (48 random bits), so names stay valid and unique
    whatever the execution name is (1 to 80 chars), and a retried create never collides with an
    earlier attempt. The execution is recorded on the job as the ``sm-constructs:execution`` tag.
    """
    return json_path("format", "{}-{}", prefix, uuid_group(4))


def _events_rule_arn(scope: Construct, rule: str) -> str:
    return stack_memo(
        scope,
        ("events-rule-arn", rule),
        lambda stack: Arn.format(ArnComponents(service="events", resource="rule", resource_name=rule), stack),
    )


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


@jsii.implements(IValidation)
class _RequestCheck:
    """The request of a definition that was never rendered into a task, checked when the app is
    synthesized (aws-cdk runs every construct's validations then): its problems fail synth."""

    def __init__(self, owner: SageMakerDefinition) -> None:
        self._owner = owner

    def validate(self) -> list[str]:
        if self._owner._request_checked:
            return []
        try:
            self._owner._check_request(detach=False)
        except ConstructValidationError as error:
            return [str(error)]
        return []


class SageMakerDefinition(Construct):
    """Base of every definition: name prefix, execution role, tags and the task/IAM derivation.

    Subclasses set :attr:`api`, validate their own props into the :class:`Problems` they get
    from :meth:`_start_validation`, implement :meth:`render_request` and :meth:`result_selector`,
    and end their constructor with :meth:`_check_request` (so bad input fails where it is written);
    one that does not is checked when its task is made and, at the latest, at synth.

    :param name_prefix: names are ``<prefix>-<12 hex>``; None: ``<stack name>-<id>``.
    :param role: the execution role the resource runs as (None for kinds without one).
    :param tags: tags on what the request creates, beside the ``sm-constructs:execution`` tag every run adds.
        Default: - none.
    :param problems: the subclass's problems so far, raised with the base's own.
    """

    api: SageMakerApi
    #: Attributes rendered into the request that hold a prop under another name: ``{attribute: prop}``.
    _rendered_props: Mapping[str, str] = {"image_config": "image"}
    #: Whether each run appends ``-<12 hex>`` to the name prefix (model packages are versioned instead).
    run_suffix = True

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name_prefix: str | None,
        role: iam.IRole | None,
        tags: Mapping[str, str] | None = None,
        problems: Problems,
    ) -> None:
        if not _STATE_ID_RE.fullmatch(id):
            problems.add("id", id, "definition ids become state names: use letters, digits and '_' (max 80)")
            problems.raise_if_any()  # the construct cannot be created under that id
        self.name_prefix = name_prefix if name_prefix is not None else self._default_prefix(scope, id)
        problems.name(
            "name_prefix",
            self.name_prefix,
            max_len=self.api.name_max,
            reserve=RUN_SUFFIX_CHARS if self.run_suffix else 0,
            what=f"{self.api.name_field} prefix" if self.run_suffix else self.api.name_field,
        )
        for key in tags or {}:  # lengths, characters and the count (50 with the execution tag) come from the model
            if isinstance(key, str) and key.startswith("aws:"):
                problems.add("tags", key, "tag keys starting with 'aws:' are reserved by AWS")
        # No pinned feature flags here (see _flags.py): a definition renders requests and states, no
        # policy document or bucket; the state machine to_state_machine() makes pins its own.
        super().__init__(scope, id)
        # Raised with the request's problems by _check_request, so that all are reported at once.
        self._problems = problems
        self._request_checked = False
        self.role = role
        self.tags: dict[str, str] = dict(tags or {})
        self._extra_fields: dict[str, Any] = {}
        # Where the task puts its result; other definitions read this definition's outputs there.
        self._result_path = f"$.steps.{id}"
        self._outputs: dict[str, str] = {}
        #: The step cache of this definition's tasks (see :meth:`enable_cache`). Default: - none.
        self.cache: StepCache | None = None
        self._prefix_given = name_prefix is not None
        self._tasks_made = False
        # A definition whose constructor does not check its request itself is checked when it is
        # first rendered into a task, and at the latest when the app is synthesized.
        self.node.add_validation(_RequestCheck(self))

    @staticmethod
    def _start_validation(kind: str, scope: Construct, id: str) -> Problems:
        return Problems.for_construct(kind, scope, id)

    def _default_prefix(self, scope: Construct, id: str) -> str:
        """``<stack name>-<id>`` lower-cased, cut to fit the name limit with the run suffix."""
        stack_name = Stack.of(scope).stack_name if not Stack.of(scope).node.id.startswith("${") else ""
        raw = f"{stack_name}-{id}" if stack_name else id
        cleaned = re.sub(r"[^a-zA-Z0-9]+", "-", raw).strip("-").lower()
        limit = self.api.name_max - RUN_SUFFIX_CHARS
        return cleaned[:limit].rstrip("-") or "job"

    # ---- what subclasses provide ---------------------------------------------------------
    def render_request(self) -> dict[str, Any]:
        """The request body, PascalCase, with run-time values as JSONPath tokens."""
        raise NotImplementedError

    def result_selector(self) -> dict[str, Any] | None:
        """What the task keeps of the API response (the ``.sync`` Describe output is large)."""
        return None

    def task_result_selector(self) -> dict[str, Any] | None:
        """The task's ``ResultSelector``: :meth:`result_selector` and, for a job the run manifest prices,
        what it is billed for (``Billing``: :func:`sm_constructs.cost.billing_selector`)."""
        selected = {**(self.result_selector() or {}), **(billing_selector(self.api.operation) if self.sync else {})}
        return selected or None

    @property
    def sync(self) -> bool:
        return self.api.is_job

    def _check_request(self, extra: Mapping[str, Any] | None = None, *, detach: bool = True) -> None:
        """Walk the rendered request (with ``extra`` fields) against botocore's model of the API.

        Called last in every built-in definition's constructor, before any grant, together with the
        constructor's own problems: on any problem the definition is taken out of the construct
        tree again (unless ``detach`` is false) and all problems are raised at once. A definition
        that does not call it is checked by :meth:`request_parameters` and at synth (:class:`_RequestCheck`).
        """
        if extra is None:
            self._request_checked = True
        problems = self._problems if extra is None else Problems.at(type(self).__name__, self)
        try:
            request = _merge(self.render_request(), {**self._extra_fields, **(extra or {})})
        except Exception:
            if not problems:  # a bug, not bad input: let it through
                raise
            request = None  # props already reported make the request impossible to render
        if request is not None:
            start = len(problems)
            check_request(problems, "sagemaker", self.api.operation, request)
            if len(problems) > start:
                self._name_props(problems, start, extra)
        if problems and extra is None and detach:
            scope = self.node.scope
            if scope is not None:
                scope.node.try_remove_child(self.node.id)
        problems.raise_if_any()

    def _name_props(self, problems: Problems, start: int, extra: Mapping[str, Any] | None) -> None:
        """Name the props behind the request's problems: the request is rendered again from traced
        props (see :func:`~sm_constructs._validation.traced`) and walked again; the problems found
        since ``start`` are replaced by the named ones. Only done when there is something to report."""
        named = Problems(problems.kind, "")
        try:
            with self._traced_props():
                request = _merge(self.render_request(), {**self._extra_fields, **(extra or {})})
        except Exception:  # a renderer that cannot take traced values keeps the request paths
            return
        check_request(named, "sagemaker", self.api.operation, request)
        if named:
            problems.replace_from(start, named)

    @contextlib.contextmanager
    def _traced_props(self) -> Iterator[None]:
        """The constructor's props, kept as attributes of the same name, traced while the block runs."""
        params = inspect.signature(type(self).__init__).parameters
        props = {**{n: n for n in params if n not in ("self", "scope", "id")}, **self._rendered_props}
        saved = {n: v for n, v in vars(self).items() if n in props}
        try:
            for name, value in saved.items():
                setattr(self, name, traced(value, props[name]))
            yield
        finally:
            for name, value in saved.items():
                setattr(self, name, value)

    # ---- derived ------------------------------------------------------------------------
    def add_request_fields(self, **fields: Any) -> None:
        """Escape hatch: add API fields this definition does not model (e.g. ``ExperimentConfig``).

        Nested dicts are merged into the rendered request; a field the definition already sets is
        refused, so the typed, validated props stay the single source of truth.
        """
        rendered = self.render_request()
        clash = sorted(k for k, v in fields.items() if k in rendered and not isinstance(v, Mapping))
        if clash:
            problems = Problems.at(type(self).__name__, self)
            problems.add("add_request_fields", clash, "already set from the definition's props; use those")
            problems.raise_if_any()
        self._check_request(fields)
        self._extra_fields.update(fields)

    def request_parameters(self) -> dict[str, Any]:
        """The task's ``Parameters``: the request with JSONPath fields as ``Key.$``."""
        if not self._request_checked:
            self._check_request()
        request = _merge(self.render_request(), self._extra_fields)
        rendered = sfn.FieldUtils.render_object(request)
        return dict(rendered or {})

    def _tags(self) -> list[dict[str, Any]]:
        tags: list[dict[str, Any]] = carry([{"Key": k, "Value": v} for k, v in sorted(self.tags.items())], self.tags)
        tags.append({"Key": EXECUTION_TAG, "Value": json_path("string_at", "$$.Execution.Id")})
        if self.cache is not None:
            base = f"$.cache.{node_id(self)}"
            tags.append({"Key": CACHE_KEY_TAG, "Value": json_path("string_at", f"{base}.key")})
            tags.append({"Key": CACHE_DAY_TAG, "Value": json_path("string_at", f"{base}.day")})
        return tags

    # ---- step caching ---------------------------------------------------------------------
    #: Whether jobs of this kind can be found again by their cache key (see :mod:`.cache`).
    cacheable = False

    def enable_cache(self, cache: StepCache) -> None:
        """Reuse a Completed job with the same request instead of running it again (see :class:`StepCache`).

        Call before the definition's task is made (an :class:`MlPipeline` with ``cache=`` calls it
        for its processing and training steps that have none of their own).
        """
        problems = Problems.at(type(self).__name__, self)
        if not self.cacheable:
            problems.add("cache", type(cache).__name__, "only processing and training jobs can be cached")
        elif self._tasks_made:
            problems.add("cache", type(cache).__name__, "enable the cache before task() or to_state_machine()")
        elif cache.expire_after.is_unresolved():
            problems.add("cache.expire_after", cache.expire_after.to_human_string(), "must be known at synth")
        elif (days := whole_days(problems, "cache.expire_after", cache.expire_after)) is not None and days < 1:
            problems.add("cache.expire_after", cache.expire_after.to_human_string(), "must be at least 1 day")
        problems.raise_if_any()
        self.cache = cache
        self._check_cached_name(problems)
        problems.raise_if_any()

    def _check_cached_name(self, problems: Problems) -> None:
        """Room in the job name for what a cached run adds to the prefix (subclasses that add more)."""

    def step(self, *, input_defaults: Mapping[str, str] | None = None) -> sfn.IChainable:
        """This definition's task, behind its cache lookup when :attr:`cache` is set.

        :param input_defaults: the default S3 URI of each execution-input path (``$.input.<field>``)
            an input reads: where the cache may list that input's data. Default: - none.
        """
        task = self.task()
        if self.cache is None:
            return task
        return CachedStep(self, task, self.cache, input_defaults=input_defaults)

    def _name(self) -> str:
        return run_unique_name(self.name_prefix)

    def resource_arn_pattern(self) -> str:
        """ARN pattern of everything this definition creates (``.../<prefix>-*``)."""
        return sagemaker_arn(self, self.api.arn_type, f"{self.name_prefix}-*")

    def policy_statements(self) -> list[iam.PolicyStatement]:
        """Least privilege for the state machine role, derived from the request and the IAM facts table."""
        api = self.api
        actions = api.resource_actions(sync=self.sync, tagged=bool(self.render_request().get("Tags")))
        statements = [statement(self, actions=actions, resources=[self.resource_arn_pattern()])]
        if self.sync and api.events_rule:
            statements.append(
                statement(self, actions=list(EVENTS_RULE_ACTIONS), resources=[_events_rule_arn(self, api.events_rule)])
            )
        if api.passes_role and self.role is not None:
            statements.append(
                statement(
                    self,
                    actions=["iam:PassRole"],
                    resources=[attribute(self.role, "role_arn")],
                    conditions={"StringEquals": {PASSED_TO_SERVICE: SAGEMAKER_PRINCIPAL}},
                )
            )
        statements.extend(self.extra_policy_statements())
        return statements

    def extra_policy_statements(self) -> list[iam.PolicyStatement]:
        """Statements a subclass needs beyond create/describe/stop/tag and PassRole."""
        return []

    def task(
        self,
        id: str | None = None,
        *,
        result_path: str | None = None,
        timeout: Duration | None = None,
        comment: str | None = None,
    ) -> SageMakerTask:
        """A Task state sending this request.

        :param id: state name. Default: - the definition's id.
        :param result_path: where the selected result goes. Default: - ``$.steps.<id>``, so the
            execution input and earlier results are kept for later states.
        :param timeout: state timeout. Default: - the job's maximum runtime plus 1 hour for jobs
            (queueing and upload), none for request-response calls.
        """
        state_id = id or node_id(self)
        if self.node.try_find_child(state_id) is not None:
            problems = Problems.at(type(self).__name__, self)
            problems.add(
                "task(id)",
                state_id,
                "this definition already has a task of that name (task() or to_state_machine() was called "
                "before); give each further task its own id, e.g. task('" + state_id + "Again')",
            )
            problems.raise_if_any()
        result_path = result_path if result_path is not None else f"$.steps.{state_id}"
        self._bind_result_path(result_path)
        self._tasks_made = True
        return SageMakerTask(
            self,
            state_id,
            resource=integration_arn(self, self.api.create_action, sync=self.sync, sdk=self.api.sdk),
            parameters=self.request_parameters(),
            policy_statements=self.policy_statements(),
            result_selector=self.task_result_selector(),
            result_path=result_path,
            timeout=timeout if timeout is not None else self.default_timeout(),
            comment=comment,
        )

    def default_timeout(self) -> Duration | None:
        return None

    def _failure_path(self, id: str, topic: sns.ITopic | None) -> sfn.IChainable:
        """Where a one-step state machine's catch leads: notify (with a topic), then fail with the job's error."""
        return failure_path(
            self,
            failed_id=f"{id}Failed",
            notify_id=f"{id}NotifyFailure",
            topic=topic,
            subject=f"{self.node.id} failed",
            fields={},
        )

    # ---- run-time references ------------------------------------------------------------------
    def state_output(self, field: str) -> str:
        """A run-time reference (a JSONPath token) to ``field`` of this definition's task result.

        Other definitions take the object and call this, so a reference always names the state
        the task really writes to. The task keeps its default ``result_path`` (``$.steps.<id>``)
        once something refers to it.
        """
        if self._result_path == _DISCARD:
            problems = Problems.at(type(self).__name__, self)
            problems.add("task(result_path)", self._result_path, f"the result is discarded, so {field} cannot be read")
            problems.raise_if_any()
        if field not in self._outputs:
            self._outputs[field] = sfn.JsonPath.string_at(f"{self._result_path}.{field}")
        return self._outputs[field]

    def _bind_result_path(self, result_path: str) -> None:
        if result_path != self._result_path and self._outputs:
            problems = Problems.at(type(self).__name__, self)
            problems.add(
                "task(id / result_path)",
                result_path,
                f"other definitions already read this task's result at {self._result_path} "
                f"({', '.join(sorted(self._outputs))}); keep the default id and result_path",
            )
            problems.raise_if_any()
        self._result_path = result_path

    def to_state_machine(
        self, id: str = "StateMachine", *, notification_topic: sns.ITopic | None = None, **kwargs: Any
    ) -> MlStateMachine:
        """A one-step :class:`MlStateMachine` running just this definition, with the default retries.

        Makes a single job deployable and schedulable without a pipeline. A failure (after the
        retries) is caught into a failure path that ends the execution failed with the job's error
        and cause: ``<id>Failed``, after publishing them to ``notification_topic`` when given (as
        :class:`MlPipeline` notifies). ``kwargs`` go to :class:`MlStateMachine` (encryption key, log
        retention, timeout, name ...).

        :param notification_topic: told of every failed execution (execution, error, cause).
            Default: - none: alarm on the state machine's ``metric_failed()``.
        """
        if self.node.try_find_child(id) is not None:
            problems = Problems.at(type(self).__name__, self)
            problems.add("to_state_machine(id)", id, "this definition already has a state machine of that id")
            problems.raise_if_any()
        task = self.task(self.node.id if self.node.try_find_child(self.node.id) is None else f"{self.node.id}Run")
        add_default_retry(task)
        task.add_catch(self._failure_path(id, notification_topic), errors=["States.ALL"], result_path="$.error")
        body: sfn.IChainable = task if self.cache is None else CachedStep(self, task, self.cache)
        timeout = self.default_timeout()
        if timeout is not None:
            kwargs.setdefault("timeout", Duration.seconds(int(timeout.to_seconds()) + 3600))  # retries' backoff
        machine = MlStateMachine(self, id, definition_body=sfn.DefinitionBody.from_chainable(body), **kwargs)
        if isinstance(body, CachedStep):
            acknowledge_lookups(machine, [body])
        return machine
