"""Compliance acknowledgements that travel with our constructs.

cdk-nag (a development dependency of users, not a runtime one) reads acknowledgements through
aws-cdk-lib's own ``Validations`` API, so constructs can record them without importing cdk-nag.
Every acknowledgement names the exact finding and says why it is acceptable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from constructs import IConstruct

__all__ = [
    "PACKS",
    "acknowledge",
    "acknowledge_in_packs",
    "bucket_prefix_findings",
    "flatten_cfn_reference",
    "iam5",
    "state_machine_executions",
]

#: The rule-id prefixes of the compliance packs we keep clean.
PACKS = ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")


def acknowledge(construct: IConstruct, rule_ids: Iterable[str], reason: str) -> None:
    """Acknowledge each finding id (e.g. ``AwsSolutions-IAM5[Action::s3:List*]``) on ``construct``."""
    Validations.of(construct).acknowledge(*(Acknowledgment(id=rule, reason=reason) for rule in rule_ids))


def acknowledge_in_packs(construct: IConstruct, rule: str, reason: str, packs: Iterable[str] = PACKS) -> None:
    """Acknowledge a rule that several packs share under the same name (e.g. ``S3BucketReplicationEnabled``)."""
    acknowledge(construct, [f"{pack}-{rule}" for pack in packs], reason)


# ---- finding ids, built in one place -----------------------------------------------------------
def iam5(*, action: str | None = None, resource: str | None = None) -> str:
    """The id cdk-nag gives a wildcard finding: ``AwsSolutions-IAM5[Action::<a>]`` or ``[Resource::<r>]``."""
    return f"AwsSolutions-IAM5[Action::{action}]" if action is not None else f"AwsSolutions-IAM5[Resource::{resource}]"


def _logical_id(cfn: CfnResource) -> str:
    stack = Stack.of(cfn)
    return str(stack.resolve(stack.get_logical_id(cfn)))


def flatten_cfn_reference(node: Any) -> str:
    """A resolved CloudFormation value as cdk-nag names it in a finding id (cdk-nag
    ``src/utils/flatten-cfn-reference.ts``: ``Ref`` → ``<X>``, ``Fn::GetAtt`` → ``<X.Attr>``, joins
    joined, ``${X}`` → ``<X>``)."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict) and len(node) == 1:
        (key, value), *_ = node.items()
        if key == "Fn::Join":
            delimiter, items = value
            return str(delimiter).join(flatten_cfn_reference(item) for item in items)
        if key in ("Fn::Sub", "Fn::ImportValue"):
            return flatten_cfn_reference(value)
        if key == "Fn::GetAtt":
            resource, attribute = value
            return f"<{flatten_cfn_reference(resource)}.{flatten_cfn_reference(attribute)}>"
        if key == "Ref":
            return f"<{flatten_cfn_reference(value)}>"
    return json.dumps(node, separators=(",", ":"))


def bucket_prefix_findings(bucket: IConstruct, prefix: str, actions: Iterable[str]) -> list[str]:
    """The findings of a grant on ``<bucket>/<prefix>*``: its action wildcards and, for a bucket defined
    in the app (cdk-nag prints it as ``<LogicalId.Arn>``), the object pattern."""
    findings = [iam5(action=a) for a in actions]
    cfn_bucket = bucket.node.default_child
    if isinstance(cfn_bucket, CfnResource):
        findings.append(iam5(resource=f"<{_logical_id(cfn_bucket)}.Arn>/{prefix}*"))
    elif hasattr(bucket, "arn_for_objects"):  # an imported bucket: its object ARN as cdk-nag writes it
        objects = Stack.of(bucket).resolve(bucket.arn_for_objects(f"{prefix}*"))
        findings.append(iam5(resource=flatten_cfn_reference(objects)))
    return findings


def state_machine_executions(state_machine: IConstruct) -> str | None:
    """The ARN of a state machine's executions as cdk-nag prints it (aws-cdk builds it from the state
    machine's name, the 7th field of its ARN); None for a state machine not defined in the app."""
    cfn_sm = state_machine.node.default_child
    while cfn_sm is not None and not isinstance(cfn_sm, CfnResource):  # an L2 wrapped by an L3 (MlStateMachine)
        cfn_sm = cfn_sm.node.default_child
    if not isinstance(cfn_sm, CfnResource):
        return None
    name = json.dumps({"Fn::Select": [6, {"Fn::Split": [":", {"Ref": _logical_id(cfn_sm)}]}]}, separators=(",", ":"))
    return f"arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{name}"
