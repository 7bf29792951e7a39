"""Roles whose permissions live in customer-managed policies instead of inline ones.

aws-cdk grants add statements to a role's inline ``DefaultPolicy``; HIPAA, NIST 800-53 and PCI DSS
controls ask for no inline policies (managed policies are versioned, reusable and auditable).
:class:`ManagedPolicyRole` keeps every grant working unchanged and routes the statements into
customer-managed policies attached to the role, starting a new one before IAM's 6,144-character
managed-policy limit.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import botocore.loaders
from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from constructs import Construct

from ._iam_facts import SOURCE_ACCOUNT
from ._memo import statement_json

__all__ = ["ManagedPolicyRole", "combine_grants", "service_of_this_account"]


def combine_grants(first: iam.Grant, *rest: iam.Grant) -> iam.Grant:
    """One ``iam.Grant`` covering everything several grants added (``Grant.combine``)."""
    grant = first
    for other in rest:
        grant = grant.combine(other)
    return grant


def service_of_this_account(service: str) -> iam.ServicePrincipal:
    """``service`` as a trusted principal, acting for this account only (``aws:SourceAccount``)."""
    return iam.ServicePrincipal(service, conditions={"StringEquals": {SOURCE_ACCOUNT: Aws.ACCOUNT_ID}})


#: Budget per managed policy: IAM allows 6,144 characters (whitespace excluded). A CloudFormation
#: reference such as ``{"Fn::GetAtt":["Bucket","Arn"]}`` is about as long as the ARN it becomes;
#: the margin covers longer physical names.
_POLICY_BUDGET = 5200


#: Characters counted for each unresolved token (``{"Fn::GetAtt": [...]}``, an ARN or a name once
#: deployed): more than any of them takes in practice, so policies stay under IAM's limit.
_TOKEN_CHARS = 100
_TOKEN = re.compile(r"\$\{Token\[([^\]]*)\]\}")
_PSEUDO = re.compile(r"AWS\.(Partition|Region|AccountId|URLSuffix)\.\d+")


@functools.cache
def _pseudo_parameter_chars() -> dict[str, int]:
    """The longest value each pseudo parameter in ARNs takes once deployed: partition names, Region
    names and DNS suffixes from botocore's partition data (``endpoints.json``); an account id is 12
    digits (AWS Account Management Reference Guide, "View AWS account identifiers")."""
    partitions = botocore.loaders.Loader().load_data("endpoints")["partitions"]
    return {
        "Partition": max(len(p["partition"]) for p in partitions),
        "Region": max(len(r) for p in partitions for r in p["regions"]),
        "AccountId": 12,
        "URLSuffix": max(len(p["dnsSuffix"]) for p in partitions),
    }


def _token_chars(display: str) -> int:
    pseudo = _PSEUDO.fullmatch(display)
    return _pseudo_parameter_chars()[pseudo.group(1)] if pseudo else _TOKEN_CHARS


def _estimated_size(rendered: str) -> int:
    """Size of a statement once deployed, from its JSON with tokens unresolved (no jsii round trip):
    a pseudo parameter (``AWS.Partition`` ...) counts as its longest value, any other token as
    :data:`_TOKEN_CHARS`."""
    return len(_TOKEN.sub("", rendered)) + sum(_token_chars(m) for m in _TOKEN.findall(rendered))


class ManagedPolicyRole(iam.Role):
    """An ``iam.Role`` whose added statements go to attached customer-managed policies."""

    def __init__(self, scope: Construct, id: str, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        self._policies: list[iam.ManagedPolicy] = []
        self._used = 0
        self._added: dict[str, iam.ManagedPolicy] = {}
        self._by_object: dict[iam.PolicyStatement, iam.ManagedPolicy] = {}  # by identity
        self._resources: list[str] = []

    @property
    def statement_resources(self) -> list[str]:
        """``Resource`` values of the statements added so far, tokens unresolved."""
        return list(self._resources)

    @property
    def permission_policies(self) -> list[iam.ManagedPolicy]:
        """The customer-managed policies holding this role's granted statements."""
        return list(self._policies)

    def add_to_principal_policy(self, statement: iam.PolicyStatement) -> iam.AddToPrincipalPolicyResult:
        # Identical statements (the same grant from several jobs) are added once: tokens render the
        # same for the same reference, so the unresolved JSON identifies a statement.
        # The same statement object (shared per stack, see _memo.statement) is recognised without rendering.
        known = self._by_object.get(statement)
        if known is not None:
            return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=known)
        as_json = statement_json(statement)
        rendered = json.dumps(as_json, sort_keys=True, separators=(",", ":"))
        if rendered in self._added:
            self._by_object[statement] = self._added[rendered]
            return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self._added[rendered])
        size = _estimated_size(rendered)
        if not self._policies or self._used + size > _POLICY_BUDGET:
            index = len(self._policies)
            policy = iam.ManagedPolicy(
                self,
                "Permissions" if index == 0 else f"Permissions{index + 1}",
                description=f"Permissions of {self.node.path}",
                roles=[self],
                # merged, sorted statements whatever the app's feature flags (see _flags.py)
                document=iam.PolicyDocument(minimize=True),
            )
            self._policies.append(policy)
            self._used = 0
        self._used += size
        self._policies[-1].add_statements(statement)
        self._added[rendered] = self._policies[-1]
        resources = as_json.get("Resource", [])
        self._resources.extend(resources if isinstance(resources, list) else [resources])
        self._by_object[statement] = self._policies[-1]
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self._policies[-1])
