"""CloudFormation's template size limit, checked when the app is synthesized.

aws-cdk already fails synth above 500 resources per stack and MlStateMachine checks Step Functions'
1 MiB definition limit. What is left is CloudFormation's 1,000,000-byte limit on a template body
(read from S3): a stack of more reference pipelines than fit (7 with inline definitions, 25 with
definitions in S3 and shared parts, ``app.py``) would only fail at deploy. :func:`check_template_size`
registers, once per app, a policy validation plugin that reads the synthesized templates and fails
synth naming the stack, its size and what to do.
"""

from __future__ import annotations

import os
import weakref
from typing import Any

import jsii
from aws_cdk import (
    IPolicyValidationContext,
    IPolicyValidationPlugin,
    PolicyValidationPluginReport,
    PolicyViolatingResource,
    PolicyViolation,
    Stage,
    Validations,
)
from constructs import IConstruct

__all__ = ["MAX_TEMPLATE_BYTES", "check_template_size"]

#: CloudFormation's limit on a template body uploaded to S3 (cfn-lint rule E1002 uses the same).
MAX_TEMPLATE_BYTES = 1_000_000
_registered: weakref.WeakSet[IConstruct] = weakref.WeakSet()


@jsii.implements(IPolicyValidationPlugin)
class _TemplateSize:
    def __init__(self, limit: int) -> None:
        self._limit = limit

    @property
    def name(self) -> str:
        return "sm-constructs-template-size"

    @property
    def version(self) -> str:
        return "1"

    @property
    def rule_ids(self) -> list[str]:
        return ["TemplateSize"]

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        violations: list[Any] = []
        for path in context.template_paths:
            size = os.path.getsize(path)
            if size > self._limit:
                stack = os.path.basename(path).removesuffix(".template.json")
                violations.append(
                    PolicyViolation(
                        rule_name="TemplateSize",
                        description=(
                            f"Stack '{stack}': template is {size:,} bytes, over CloudFormation's limit of "
                            f"{self._limit:,} bytes for a template body; deploy would fail."
                        ),
                        fix=(
                            "Write the template without indentation (Stack suppress_template_indentation=True, "
                            "or context @aws-cdk/core:suppressTemplateIndentation=true: about 40% fewer bytes), "
                            "store state machine definitions in S3 (context sm-constructs:definitionsInS3=true, "
                            "or definition_in_s3=True), let workflows share one key, notification topic and "
                            "log group (encryption_key=, notification_topic=, log_group=), or put fewer "
                            "pipelines in one stack."
                        ),
                        violating_resources=[PolicyViolatingResource(locations=["/"], template_path=path)],
                    )
                )
        return PolicyValidationPluginReport(success=not violations, violations=violations)


def check_template_size(scope: IConstruct, limit: int = MAX_TEMPLATE_BYTES) -> None:
    """Make synth of ``scope``'s app fail when any of its templates is over ``limit`` bytes (once per app)."""
    stage = Stage.of(scope)
    if stage is None:
        return
    root = stage.node.root
    if root in _registered:
        return
    _registered.add(root)
    Validations.of(root).add_plugins(_TemplateSize(limit))
