"""``SageMakerChecks``: the cdk-nag pack that holds SageMaker work to sm_constructs' standard."""

from __future__ import annotations

import os
from typing import Any, cast

import jsii
from aws_cdk import CfnResource, IPolicyValidationContext, PolicyValidationPluginReport, Stack, Stage
from cdk_nag import IApplyRule, NagPack
from constructs import IConstruct

from ._rule import Context, SageMakerRule
from .rules import RULES

__all__ = ["PACK_NAME", "SageMakerChecks"]

#: Prefix of every rule id: ``SageMaker-JobVolumeKms``.
PACK_NAME = "SageMaker"


class SageMakerChecks(NagPack):
    """Checks SageMaker jobs inside Step Functions definitions and SageMaker resources of any stack.

    Reads every ``AWS::StepFunctions::StateMachine`` definition (including ``Fn::Join`` definitions
    as CDK renders them), every task state that calls SageMaker (optimized integrations and
    ``aws-sdk:sagemaker:*``), and the SageMaker resources (notebook instances, models, endpoint
    configurations, Studio domains). Add it like any pack::

        Validations.of(app).add_plugins(SageMakerChecks(app))

    :param vpc_only: require a ``VpcConfig`` on every job and model (rule ``JobVpcConfig``).
        Default: False; a stack can also ask with the context key ``sm-constructs:nag:vpcOnly``.
    :param verbose: show each rule's explanation (why, and how to fix it) with its findings.
        Default: False.

    :param write_suppressions_to_cloud_formation: write acknowledged findings into the template's metadata
        (cdk-nag's NagPack option). Default: - cdk-nag's default.
    """

    def __init__(
        self,
        scope: IConstruct | None = None,
        *,
        vpc_only: bool = False,
        verbose: bool | None = None,
        write_suppressions_to_cloud_formation: bool | None = None,
    ) -> None:
        super().__init__(
            scope, verbose=verbose, write_suppressions_to_cloud_formation=write_suppressions_to_cloud_formation
        )
        self._pack_name = PACK_NAME
        self._context = Context(vpc_only=vpc_only)
        self._rules_by_type: dict[str, list[SageMakerRule]] = {}
        for rule in RULES:
            for resource_type in rule.resource_types:
                self._rules_by_type.setdefault(resource_type, []).append(rule)

    @property
    def name(self) -> str:
        return "SageMakerChecks"

    @property
    def rule_ids(self) -> list[str] | None:
        return [f"{PACK_NAME}-{rule.id}" for rule in RULES]

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        """As a validation plugin (after synthesis): read the resources as the templates have them."""
        self._context.use_templates(list(context.template_paths))
        return cast(PolicyValidationPluginReport, super().validate(context))

    def validate_scope(self, scope: IConstruct) -> PolicyValidationPluginReport:
        """Direct invocation: the app is synthesized first (once; a synthesized app is reused), so that
        rules read what CloudFormation will deploy, property overrides included."""
        if not self._context.has_templates:
            stage = scope if isinstance(scope, Stage) else Stage.of(scope)
            if stage is not None:
                assembly = stage.synth()
                stacks = [c for c in scope.node.find_all() if isinstance(c, Stack)]
                self._context.use_templates([os.path.join(assembly.directory, s.template_file) for s in stacks])
        return cast(PolicyValidationPluginReport, super().validate_scope(scope))

    def _check_resource(self, node: CfnResource) -> None:
        for rule in self._rules_by_type.get(node.cfn_resource_type, ()):
            # cdk-nag reads the rule through the IApplyRule interface (read-only here: cdk-nag never sets it).
            self._apply_rule(cast(IApplyRule, _AppliedRule(rule, node, self._context)))


def _rule_field(name: str) -> Any:
    """A read-only property that answers with the bound rule's ``name`` (a property, not an attribute:
    jsii forwards only the interface's properties a class defines to cdk-nag)."""
    return property(lambda self: getattr(self._rule, name))


@jsii.implements(IApplyRule)
class _AppliedRule:
    """A rule bound to one resource, in the shape cdk-nag's ``applyRule`` takes."""

    rule_suffix_override = _rule_field("id")
    info = _rule_field("info")
    explanation = _rule_field("explanation")
    level = _rule_field("level")

    def __init__(self, rule: SageMakerRule, node: CfnResource, context: Context) -> None:
        self._rule = rule
        self._node = node
        self._context = context

    @property
    def node(self) -> CfnResource:
        return self._node

    def rule(self, node: CfnResource) -> Any:
        return self._rule.check(node, self._context)
