"""The notified workflow every construct that runs a state machine shares (``MlPipeline``,
``ModelDeployment``): its customer-managed key, its encrypted notification topic, the failure path
every catch leads to (publish the error, then fail), the state machine itself and the alarms that
publish to the topic. Each stage is built once here, under the same construct IDs for every user.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ._flags import key_policy
from ._kms import new_key
from ._notify import allow_alarm_publish, failure_path, grant_encrypted_publish
from .state_machine import ExecutionMetrics, MlStateMachine

if TYPE_CHECKING:
    from .jobs.hosting import EndpointDeployment

__all__ = ["NotifiedWorkflow"]


class NotifiedWorkflow(ExecutionMetrics, Construct):
    """A construct running one notified state machine; subclasses call its stages in this order:
    :meth:`_build_notifications` (``Key``, ``Notifications``), :meth:`_build_failure_path`
    (``NotifyFailure`` → the failed state), :meth:`_build_state_machine` (``StateMachine``), then
    :meth:`_grant_publish` and :meth:`_alarm` for each alarm."""

    encryption_key: kms.IKey
    topic: sns.ITopic
    state_machine: MlStateMachine
    _own_topic: bool
    _alarms_may_publish: bool
    #: where every catch leads (:meth:`_build_failure_path`)
    _failure: sfn.IChainable
    #: the states that lead to the run's lineage once it is built (:meth:`_record_failures`); None: a
    #: workflow without lineage, or after it is built (a failure then goes to the failure path at once)
    _unrecorded: list[sfn.Pass] | None

    def _build_notifications(
        self,
        *,
        encryption_key: kms.IKey | None,
        notification_topic: sns.ITopic | None,
        removal_policy: RemovalPolicy,
        key_description: str,
    ) -> None:
        """The key (``Key``, unless given) encrypting the state machine, its logs and the topic; the topic
        (``Notifications``, unless given) told of failures and alarms."""
        self.encryption_key = encryption_key or new_key(
            self, "Key", removal_policy=removal_policy, description=key_description, policy=key_policy()
        )
        self._own_topic = notification_topic is None
        self._alarms_may_publish = False
        self.topic = notification_topic or sns.Topic(
            self, "Notifications", master_key=self.encryption_key, enforce_ssl=True
        )

    def _build_failure_path(self, failed_id: str, subject: str, fields: Mapping[str, str]) -> sfn.IChainable:
        """``NotifyFailure`` (the execution, ``fields`` and the error) → ``failed_id``: where every catch leads."""
        return failure_path(
            self, failed_id=failed_id, notify_id="NotifyFailure", topic=self.topic, subject=subject, fields=fields
        )

    def _named_failure(self, state_id: str, step: str) -> sfn.Pass:
        """``state_id``: a failure of ``step``, named in the run's error (``$.error``: ``Error``, ``Cause``,
        ``Step``), then the run's lineage (once :meth:`_record_failures` built it) or the failure path.
        Made once: a second call with the same ``state_id`` returns the first's state."""
        existing = self.node.try_find_child(state_id)
        if isinstance(existing, sfn.Pass):
            return existing
        named = sfn.Pass(
            self,
            state_id,
            parameters={"Error.$": "$.error.Error", "Cause.$": "$.error.Cause", "Step": step},
            result_path="$.error",
        )
        if self._unrecorded is not None:
            self._unrecorded.append(named)
        else:
            named.next(self._failure)
        return named

    def _record_failures(self, lineage: sfn.IChainable) -> None:
        """The failures named so far go to the run's ``lineage``; any named after it, to the failure path."""
        for named in self._unrecorded or []:
            named.next(lineage)
        self._unrecorded = None

    def _endpoint_step(self, endpoint: EndpointDeployment) -> sfn.Parallel:
        """``<id>Endpoint``: an endpoint step in a ``Parallel`` state of one branch, for the caller to
        catch, so that every way it can fail, its own ``Fail`` states (an endpoint that went ``Failed``,
        rolled back, stayed busy) as well as its tasks' errors, reaches that one catch with its error and
        cause (a branch that reaches a ``Fail`` state fails the ``Parallel`` state, whose output is
        otherwise the array of its branches' outputs: AWS Step Functions Developer Guide, "Parallel
        workflow state") and, through it, the run's lineage and the notification."""
        wrapped = sfn.Parallel(
            self,
            f"{endpoint.node.id}Endpoint",
            output_path="$[0]",
            comment="The endpoint step; its failures are caught here",
        )
        return wrapped.branch(endpoint)

    def _build_state_machine(
        self,
        chain: sfn.IChainable,
        *,
        timeout: Duration,
        state_machine_name: str | None,
        removal_policy: RemovalPolicy,
        comment: str,
        log_group: logs.ILogGroup | None,
    ) -> MlStateMachine:
        """``StateMachine``: the workflow, encrypted with this construct's key."""
        self.state_machine = MlStateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(chain),
            encryption_key=self.encryption_key,
            timeout=timeout,
            state_machine_name=state_machine_name,
            removal_policy=removal_policy,
            comment=comment,
            log_group=log_group,
        )
        return self.state_machine

    def _grant_publish(self) -> None:
        """The state machine publishes to an encrypted topic: ours, or one given with its own key."""
        if self._own_topic or self.topic.master_key is not None:
            grant_encrypted_publish(self.state_machine.role, self.topic.master_key or self.encryption_key)

    def _alarm(
        self,
        id: str,
        metric: cloudwatch.IMetric,
        *,
        description: str,
        threshold: float = 1,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    ) -> cloudwatch.Alarm:
        """An alarm on one period of ``metric`` that publishes to the topic (no data: not breaching)."""
        if self._own_topic and not self._alarms_may_publish:
            allow_alarm_publish(self.topic, self.encryption_key)
            self._alarms_may_publish = True
        alarm = cloudwatch.Alarm(
            self,
            id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=comparison,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
        return alarm
