"""Compliance acknowledgements that travel with our constructs.

cdk-nag (a development dependency of users, not a runtime one) reads acknowledgements through
aws-cdk-lib's own ``Validations`` API, so constructs can record them without importing cdk-nag.
Every acknowledgement names the exact finding and says why it is acceptable.
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

__all__ = ["PACKS", "acknowledge", "acknowledge_in_packs"]

#: The rule-id prefixes of the compliance packs we keep clean.
PACKS = ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")


def acknowledge(construct: IConstruct, rule_ids: Iterable[str], reason: str) -> None:
    """Acknowledge each finding id (e.g. ``AwsSolutions-IAM5[Action::s3:List*]``) on ``construct``."""
    Validations.of(construct).acknowledge(*(Acknowledgment(id=rule, reason=reason) for rule in rule_ids))


def acknowledge_in_packs(construct: IConstruct, rule: str, reason: str, packs: Iterable[str] = PACKS) -> None:
    """Acknowledge a rule that several packs share under the same name (e.g. ``S3BucketReplicationEnabled``)."""
    acknowledge(construct, [f"{pack}-{rule}" for pack in packs], reason)
