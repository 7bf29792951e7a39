"""A rule of the pack: what it checks, on which resource types, why, and how to fix it.

Rules answer cdk-nag's way: ``NOT_APPLICABLE``, ``COMPLIANT`` / an empty list, ``NON_COMPLIANT``,
or a list of findings, each acknowledged on its own (``SageMaker-JobVolumeKms[State::Train]``):

- ``State::<state>``: the SageMaker task state ``<state>`` does not comply;
- ``Unverified::<state or property>``: the setting is a run-time value or a CloudFormation
  intrinsic that cannot be known at synth; acknowledge it with the reason it is safe.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import CfnParameter, CfnResource, Stack
from cdk_nag import NagMessageLevel, NagRuleCompliance
from constructs import IConstruct

from ._asl import Machine, Task, convert, get, read_machine
from ._model import combine
from ._values import MISSING, Verdict, equals, is_present

__all__ = [
    "STATE_MACHINE",
    "VPC_ONLY_CONTEXT",
    "Check",
    "Context",
    "Result",
    "SageMakerRule",
    "dispatch",
    "equal_at",
    "findings",
    "properties_rule",
    "request_rule",
    "set_at",
    "settings_rule",
    "task_rule",
]

STATE_MACHINE = "AWS::StepFunctions::StateMachine"
#: Context key (``cdk.json`` or ``node.set_context`` on a stack) that asks for SageMaker work in a VPC only.
VPC_ONLY_CONTEXT = "sm-constructs:nag:vpcOnly"

Result = NagRuleCompliance | list[str]
#: One requirement on an L1 resource's properties (:func:`set_at`, :func:`equal_at`): its verdict.
Setting = Callable[[dict[str, Any]], str]


class Context:
    """What rules share during one run of the pack: resolved properties, parsed definitions, options."""

    def __init__(self, *, vpc_only: bool) -> None:
        self.vpc_only = vpc_only
        self._properties: dict[CfnResource, dict[str, Any]] = {}
        self._machines: dict[CfnResource, Machine] = {}
        self._parameters: dict[Stack, frozenset[str]] = {}
        self._resources: dict[Stack, dict[str, CfnResource]] = {}
        self._templates: dict[str, dict[str, Any]] = {}
        self._asset_files: dict[tuple[str, str], str] = {}

    def use_templates(self, paths: list[str]) -> None:
        """Read resources as the synthesized templates at ``paths`` have them (by template file name), and
        the app's file assets as their asset manifests beside the templates list them (S3 object key to file)."""
        for path in paths:
            with open(path) as f:
                self._templates[os.path.basename(path)] = json.load(f)
            manifest = path.removesuffix(".template.json") + ".assets.json"
            if os.path.exists(manifest):
                with open(manifest) as f:
                    for asset in json.load(f).get("files", {}).values():
                        source = os.path.join(os.path.dirname(path), asset["source"]["path"])
                        for destination in asset.get("destinations", {}).values():
                            where = (destination["bucketName"], destination["objectKey"])
                            self._asset_files[where] = source

    def _asset_text(self, location: Any) -> str | None:
        """The text of a ``DefinitionS3Location`` that is one of the app's file assets (the bootstrap bucket)."""
        if not isinstance(location, dict) or "Version" in location:
            return None
        bucket = location.get("Bucket")
        if isinstance(bucket, dict) and set(bucket) == {"Fn::Sub"} and isinstance(bucket["Fn::Sub"], str):
            bucket = bucket["Fn::Sub"]  # as the asset manifest writes it, with ${AWS::AccountId} etc.
        source = self._asset_files.get((str(bucket), str(location.get("Key"))))
        if source is None or not os.path.isfile(source):
            return None
        with open(source) as f:
            return f.read()

    @property
    def has_templates(self) -> bool:
        return bool(self._templates)

    def _raw(self, node: CfnResource) -> dict[str, Any]:
        """What CloudFormation will deploy for ``node``: its properties in the synthesized template
        (property overrides included); before synthesis, the L1's own properties."""
        stack = Stack.of(node)
        template = self._templates.get(stack.template_file)
        if template is not None:
            resource = template.get("Resources", {}).get(stack.resolve(node.logical_id))
            if resource is not None:
                return dict(resource.get("Properties") or {})
        return stack.resolve(node._render_properties(node._cfn_properties)) or {}

    def properties(self, node: CfnResource) -> dict[str, Any]:
        """The resource's CloudFormation properties, resolved, intrinsics as :class:`Deployed`."""
        if node not in self._properties:
            self._properties[node] = convert(self._raw(node), self.parameters(Stack.of(node)))
        return self._properties[node]

    def machine(self, node: CfnResource) -> Machine:
        if node not in self._machines:
            self._machines[node] = read_machine(self._raw(node), self.parameters(Stack.of(node)), self._asset_text)
        return self._machines[node]

    def parameters(self, stack: Stack) -> frozenset[str]:
        """Logical ids of the stack's CloudFormation parameters (a ``Ref`` to them may be empty)."""
        if stack not in self._parameters:
            self._index(stack)
        return self._parameters[stack]

    def resource(self, scope: IConstruct, logical_id: str) -> CfnResource | None:
        """The resource of ``scope``'s stack with this logical id."""
        stack = Stack.of(scope)
        if stack not in self._resources:
            self._index(stack)
        return self._resources[stack].get(logical_id)

    def resources_of_type(self, scope: IConstruct, resource_type: str) -> list[CfnResource]:
        """The resources of ``scope``'s stack of one CloudFormation type."""
        stack = Stack.of(scope)
        if stack not in self._resources:
            self._index(stack)
        return [r for r in self._resources[stack].values() if r.cfn_resource_type == resource_type]

    def _index(self, stack: Stack) -> None:
        parameters, resources = set(), {}
        for construct in stack.node.find_all():
            if isinstance(construct, CfnParameter):
                parameters.add(stack.resolve(construct.logical_id))
            elif isinstance(construct, CfnResource) and Stack.of(construct) is stack:
                resources[stack.resolve(construct.logical_id)] = construct
        self._parameters[stack] = frozenset(parameters)
        self._resources[stack] = resources

    def vpc_only_for(self, node: IConstruct) -> bool:
        return self.vpc_only or node.node.try_get_context(VPC_ONLY_CONTEXT) in (True, "true")


@dataclass(frozen=True)
class Check:
    """A rule's check and the resource types it reads (the pack runs it on those types only)."""

    resource_types: frozenset[str]
    run: Callable[[CfnResource, Context], Result]

    def __call__(self, node: CfnResource, context: Context) -> Result:
        return self.run(node, context)


@dataclass(frozen=True)
class SageMakerRule:
    """One rule: id suffix (``SageMaker-<id>``), its check (which knows the resource types it reads) and
    what it tells the user."""

    id: str
    #: One line shown with each finding: what is wrong.
    info: str
    #: Why it matters, and how to fix it with sm_constructs and without (cdk-nag's verbose output).
    explanation: str
    check: Check
    level: NagMessageLevel = field(default=NagMessageLevel.ERROR)

    @property
    def resource_types(self) -> frozenset[str]:
        return self.check.resource_types


def findings(items: list[tuple[str, str]]) -> Result:
    """``[(where, verdict)]`` to cdk-nag findings (compliant entries dropped)."""
    out = []
    for where, verdict in items:
        if verdict == Verdict.FAIL:
            out.append(f"State::{where}")
        elif verdict == Verdict.UNKNOWN:
            out.append(f"Unverified::{where}")
    return out


def task_rule(select: Callable[[Task], bool], verdict: Callable[[Task, CfnResource, Context], str]) -> Check:
    """A check over the SageMaker task states ``select`` picks in a state machine's definition."""

    def check(node: CfnResource, context: Context) -> Result:
        machine = context.machine(node)
        tasks = [task for task in machine.tasks if select(task)]
        if not tasks:
            return NagRuleCompliance.NOT_APPLICABLE
        return findings([(task.name, verdict(task, node, context)) for task in tasks])

    return Check(frozenset({STATE_MACHINE}), check)


def properties_rule(
    resource_type: str, verdict: Callable[[dict[str, Any], CfnResource, Context], tuple[str, str]]
) -> Check:
    """A check over the properties of each ``resource_type`` L1; ``verdict`` returns (verdict, property it
    hinges on)."""

    def check(node: CfnResource, context: Context) -> Result:
        outcome, where = verdict(context.properties(node), node, context)
        if outcome == Verdict.FAIL:
            return NagRuleCompliance.NON_COMPLIANT
        if outcome == Verdict.UNKNOWN:
            return [f"Unverified::{where}"]
        if outcome == Verdict.NA:
            return NagRuleCompliance.NOT_APPLICABLE
        return NagRuleCompliance.COMPLIANT

    return Check(frozenset({resource_type}), check)


def set_at(*path: str) -> Setting:
    """The property at ``path`` is set (:func:`~._values.is_present`)."""
    return lambda props: is_present(get(props, path))


def equal_at(*path: str, to: Any, default: Any = MISSING) -> Setting:
    """The property at ``path`` is the literal ``to``; ``default`` is what AWS uses when it is not set."""
    return lambda props: equals(get(props, path), to, default=default)


def settings_rule(
    resource_type: str,
    where: str,
    *settings: Setting,
    applies: Callable[[CfnResource, Context], bool] | None = None,
) -> Check:
    """A check that each ``resource_type`` L1 meets every one of ``settings``; ``where`` is the property an
    unverifiable finding names. ``applies`` picks the resources the rule is for (Default: - all)."""

    def verdict(props: dict[str, Any], node: CfnResource, context: Context) -> tuple[str, str]:
        if applies is not None and not applies(node, context):
            return Verdict.NA, where
        return combine([setting(props) for setting in settings]), where

    return properties_rule(resource_type, verdict)


def dispatch(checks: dict[str, Check]) -> Check:
    """One rule over several resource types: ``dispatch({"AWS::X::Y": check, ...})``."""

    def check(node: CfnResource, context: Context) -> Result:
        return checks[node.cfn_resource_type](node, context)

    return Check(frozenset().union(*(c.resource_types for c in checks.values())), check)


def request_rule(
    resource_type: str, select: Callable[[Task], bool], verdict: Callable[[Any], str], where: str
) -> Check:
    """One check of a SageMaker request, made by a task state or by an L1 resource of the same shape.

    ``verdict`` reads the request of each task state ``select`` picks (``CreateEndpointConfig``, ...)
    and the properties of each ``resource_type`` resource (``AWS::SageMaker::EndpointConfig``, ...);
    ``where`` is the property an unverifiable L1 finding names. A task whose request does not use the
    checked feature (``Verdict.NA``) complies, like an ``OK`` one.
    """
    return dispatch(
        {
            STATE_MACHINE: task_rule(select, lambda task, node, context: verdict(task.request)),
            resource_type: properties_rule(resource_type, lambda props, node, context: (verdict(props), where)),
        }
    )
