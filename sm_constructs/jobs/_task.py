"""The Task state every SageMaker call becomes, the ARNs it names and the retries it carries.

Below the definitions (:mod:`._base`) and the step cache (:mod:`.cache`), which both build tasks.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .._memo import aws, duration, stack_memo
from .._sfn_errors import OPTIMIZED_THROTTLING_ERROR, QUOTA_ERROR, SDK_THROTTLING_ERROR
from .._validation import is_token, whole_seconds

__all__ = [
    "QUOTA_ERRORS",
    "RETRYABLE_ERRORS",
    "SageMakerTask",
    "add_default_retry",
    "integration_arn",
    "sagemaker_arn",
]

#: Errors worth retrying: throttling and capacity, by the names Step Functions reports them under
#: through the optimized and the AWS SDK integration (:mod:`sm_constructs._sfn_errors` has the sources).
RETRYABLE_ERRORS = [OPTIMIZED_THROTTLING_ERROR, QUOTA_ERROR, SDK_THROTTLING_ERROR]


#: Statements already registered per state graph (by identity: statements are shared per stack).
_REGISTERED: weakref.WeakKeyDictionary[sfn.StateGraph, set[iam.PolicyStatement]] = weakref.WeakKeyDictionary()


#: The error of a job create over the account's instance quota for its type (either integration).
QUOTA_ERRORS = [QUOTA_ERROR]


def add_default_retry(
    state: sfn.CustomState | sfn.TaskStateBase, *, max_attempts: int = 4, quota_attempts: int = 9
) -> None:
    """Retry throttling / capacity errors with exponential backoff and full jitter (10 s, 20 s, 40 s ...).

    A create refused for the instance quota waits longer, since a burst drains only as running jobs
    finish: 1, 2, 4, 8, then every 10 minutes (full jitter), ``quota_attempts`` times (9: up to
    65 minutes). When that is not enough, the task fails with SageMaker's message, which names the
    quota, its value and its use.
    """
    if quota_attempts:
        state.add_retry(
            errors=QUOTA_ERRORS,
            interval=duration("minutes", 1),
            backoff_rate=2,
            max_attempts=quota_attempts,
            max_delay=duration("minutes", 10),
            jitter_strategy=sfn.JitterType.FULL,
        )
    state.add_retry(
        errors=[e for e in RETRYABLE_ERRORS if e not in QUOTA_ERRORS] if quota_attempts else RETRYABLE_ERRORS,
        interval=duration("seconds", 10),
        backoff_rate=2,
        max_attempts=max_attempts,
        max_delay=duration("minutes", 5),
        jitter_strategy=sfn.JitterType.FULL,
    )


def integration_arn(scope: Construct, action: str, *, sync: bool, sdk: bool = False) -> str:
    """``arn:<partition>:states:::sagemaker:<action>[.sync]`` (optimized) or ``...:::aws-sdk:sagemaker:<action>``."""
    service = "aws-sdk:sagemaker" if sdk else "sagemaker"
    return f"arn:{aws('PARTITION')}:states:::{service}:{action}{'.sync' if sync else ''}"


def sagemaker_arn(scope: Construct, arn_type: str, name_pattern: str) -> str:
    """ARN of SageMaker resources of one type whose names match ``name_pattern`` (may end in ``*``)."""
    return stack_memo(
        scope,
        ("sagemaker-arn", arn_type, name_pattern),
        lambda stack: stack.format_arn(service="sagemaker", resource=arn_type, resource_name=name_pattern),
    )


def named_arn(scope: Construct, arn_type: str, name: str) -> str:
    """ARN of the SageMaker resource of ``arn_type`` called ``name``.

    SageMaker writes names lower-cased into ARNs (SageMaker API Reference, e.g. ``EndpointArn``,
    ``NotebookInstanceArn``); a token (a name known at deploy or run time) is left as it is.
    """
    return sagemaker_arn(scope, arn_type, name.lower() if isinstance(name, str) and not is_token(name) else str(name))


class SageMakerTask(sfn.CustomState):
    """A Task state that calls one SageMaker API and brings its own IAM.

    aws-cdk's ``CustomState`` carries no permissions; this subclass registers the statements its
    definition derived with every state graph it joins, so the task can be dropped into any
    user-built chain and the state machine role still gets exactly what it needs.

    :param resource: the task's ``Resource`` (``integration_arn(...)``).
    :param parameters: the request.
    :param policy_statements: what the state machine role needs for the call.
    :param result_selector: Default: - the whole result.
    :param result_path: Default: - Step Functions' (``$``).
    :param timeout: Default: - none.
    :param comment: Default: - none.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        resource: str,
        parameters: Mapping[str, Any],
        policy_statements: Sequence[iam.PolicyStatement],
        result_selector: Mapping[str, Any] | None = None,
        result_path: str | None = None,
        timeout: Duration | None = None,
        comment: str | None = None,
    ) -> None:
        state: dict[str, Any] = {"Type": "Task", "Resource": resource, "Parameters": dict(parameters)}
        if comment:
            state["Comment"] = comment
        if result_selector:
            state["ResultSelector"] = dict(result_selector)
        if result_path is not None:
            state["ResultPath"] = result_path
        if timeout is not None:
            state["TimeoutSeconds"] = whole_seconds(timeout)
        super().__init__(scope, id, state_json=state)
        self.policy_statements: list[iam.PolicyStatement] = list(policy_statements)
        self.state_json: dict[str, Any] = state

    def _when_bound_to_graph(self, graph: sfn.StateGraph) -> None:
        # Called once, when the state joins its graph (bind_to_graph runs again for every neighbour).
        super()._when_bound_to_graph(graph)
        registered = _REGISTERED.setdefault(graph, set())  # statements are shared per stack: register once
        for policy in self.policy_statements:
            if policy not in registered:
                registered.add(policy)
                graph.register_policy_statement(policy)
