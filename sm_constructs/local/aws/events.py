"""EventBridge across accounts: event bus policies from CloudFormation, and delivery to another
account's bus decided as EventBridge does (a plug-in for moto's EventBridge).

* ``AWS::Events::EventBusPolicy`` (moto's CloudFormation skips it): the statement is put on the
  bus, as ``PutPermission`` with a policy would.
* A rule whose target is an event bus of another account delivers only when the target's role may
  put the event there: its identity policies in the rule's account and the bus policy in the bus's
  account must both allow ``events:PutEvents`` (EventBridge User Guide, "Sending and receiving
  events between AWS accounts"; IAM User Guide, "Cross-account policy evaluation logic"), with the
  condition keys ``events:source`` and ``events:detail-type`` of the event ("Using IAM policy
  conditions in Amazon EventBridge"). moto delivers to any account's bus unchecked. A denied
  delivery is dropped and logged, as EventBridge counts a failed invocation. A cross-account bus
  target without a role is not emulated: it is dropped with a message saying so.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["install"]

LOG = logging.getLogger(__name__)
#: EventBridge User Guide, "Sending and receiving events between AWS accounts": the rule's target role
#: needs events:PutEvents on the other account's bus, whose resource policy must allow it.
CROSS_ACCOUNT_SOURCE = "EventBridge user guide, 'Sending and receiving events between AWS accounts'"


def _install_bus_policies() -> None:
    from moto.core.common_models import CloudFormationModel
    from moto.events.models import events_backends

    from .. import patches
    from . import cloudformation

    class EventBusPolicyResource(cloudformation.ResourceModel, CloudFormationModel):
        TYPE = "AWS::Events::EventBusPolicy"

        def __init__(self, bus: str, sid: str) -> None:
            self.bus, self.sid = bus, sid

        @property
        def physical_resource_id(self) -> str:
            return self.sid

        @patches.creates
        def create_from_cloudformation_json(cls: Any, change: patches.Change) -> EventBusPolicyResource:
            props = change.properties
            bus_name = str(props.get("EventBusName") or "default")
            sid = str(props["StatementId"])
            statement = props.get("Statement")
            if statement is None:  # the deprecated Action/Principal/Condition form
                statement = {"Effect": "Allow", "Action": props["Action"], "Principal": {"AWS": props["Principal"]}}
                if props.get("Condition"):
                    statement["Condition"] = props["Condition"]
            bus = events_backends[change.account_id][change.region_name].describe_event_bus(bus_name)
            bus.add_policy({"Statement": [{**statement, "Sid": sid, "Resource": statement.get("Resource", bus.arn)}]})
            return cls(bus_name, sid)

        @classmethod
        def delete_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            props = cloudformation_json["Properties"]
            bus = events_backends[account_id][region_name].describe_event_bus(
                str(props.get("EventBusName") or "default")
            )
            bus.remove_statement(str(props["StatementId"]))

    cloudformation.resource_type(EventBusPolicyResource, why="AWS::Events::EventBusPolicy (moto skips it)")


def _other_accounts_bus(rule: Any, target: dict[str, Any]) -> bool:
    from moto.utilities.arns import parse_arn

    arn = parse_arn(target["Arn"])
    return arn.service == "events" and arn.resource_type == "event-bus" and arn.account != rule.account_id


def _may_deliver(enforcer: Any, rule: Any, target: dict[str, Any], event: dict[str, Any]) -> bool:
    from moto.utilities.arns import parse_arn

    from ..iam.calls import Call
    from ..iam.enforcement import PARTITION, AccessDenied

    role = str(target.get("RoleArn") or "")
    if not role:
        LOG.warning(
            "rule %s: target %s is another account's event bus without a role; the emulator does not "
            "emulate role-less cross-account delivery, the event is dropped",
            rule.name,
            target["Arn"],
        )
        return False
    call = Call(
        "events:PutEvents",
        "{bus}",
        CROSS_ACCOUNT_SOURCE,
        context={"events:source": "{source}", "events:detail-type": "{detail_type}"},
    )
    values = {
        "partition": PARTITION,
        "region": parse_arn(target["Arn"]).region,
        "account": rule.account_id,
        "bus": target["Arn"],
        "source": event.get("source"),
        "detail_type": event.get("detail-type"),
    }
    try:
        enforcer.check(role, call, values, session="events")
    except AccessDenied as denied:
        LOG.warning("rule %s: delivery to %s failed: %s", rule.name, target["Arn"], denied)
        return False
    return True


def _install_cross_account_delivery(enforcer: Any) -> None:
    from .. import patches

    @patches.wrap(
        "moto.events.models:Rule",
        "send_to_targets",
        why="delivery to another account's event bus is authorized (target role and bus policy), as on AWS",
    )
    def send_to_targets(original: Any, self: Any, original_event: Any, transform_input: bool = True) -> None:
        crossing = [t for t in self.targets if _other_accounts_bus(self, t)]
        if not crossing or not self.event_pattern.matches_event(original_event):
            return original(self, original_event, transform_input)
        denied = [t for t in crossing if not _may_deliver(enforcer, self, t, original_event)]
        if not denied:
            return original(self, original_event, transform_input)
        every = self.targets
        self.targets = [t for t in every if t not in denied]
        try:
            return original(self, original_event, transform_input)
        finally:
            self.targets = every


def install(enforcer: Any = None) -> None:
    """Event bus policies from CloudFormation; with IAM enforced, cross-account delivery authorized.

    Without enforcement (``enforce_iam=False``) moto's delivery is left as it is.
    """
    from .. import patches

    _install_bus_policies()
    if enforcer is not None:
        _install_cross_account_delivery(enforcer)
    patches.apply()
