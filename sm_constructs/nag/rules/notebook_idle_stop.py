"""Idle notebooks stop themselves."""

import base64
import binascii
from typing import Any

from aws_cdk import CfnResource

from .._asl import get
from .._rule import Context, SageMakerRule, properties_rule
from .._values import MISSING, Deployed, Verdict
from ._notebook import NOTEBOOK

LIFECYCLE_CONFIG = "AWS::SageMaker::NotebookInstanceLifecycleConfig"
#: What an on-start script that stops the instance when idle contains: the SageMaker call itself
#: (boto3, AWS CLI, API name), or AWS's published auto-stop sample
#: (github.com/aws-samples/amazon-sagemaker-notebook-instance-lifecycle-config-samples, scripts/auto-stop-idle).
IDLE_STOP_MARKERS = ("stop_notebook_instance", "stop-notebook-instance", "StopNotebookInstance", "auto-stop-idle")


def _verdict(props: dict[str, Any], node: CfnResource, context: Context) -> tuple[str, str]:
    name = get(props, ("LifecycleConfigName",))
    if name is MISSING:
        return Verdict.FAIL, "LifecycleConfigName"
    config = None
    if isinstance(name, Deployed) and isinstance(name.intrinsic, dict):
        (function, argument), *_ = name.intrinsic.items()
        if function == "Fn::GetAtt" and argument[1] == "NotebookInstanceLifecycleConfigName":
            config = context.resource(node, argument[0])
        elif function == "Ref":
            config = context.resource(node, argument)
    elif isinstance(name, str):
        config = next(
            (
                resource
                for resource in context.resources_of_type(node, LIFECYCLE_CONFIG)
                if get(context.properties(resource), ("NotebookInstanceLifecycleConfigName",)) == name
            ),
            None,
        )
    if config is None or config.cfn_resource_type != LIFECYCLE_CONFIG:
        return Verdict.UNKNOWN, "LifecycleConfigName"  # defined outside this stack: its script cannot be read
    scripts = get(context.properties(config), ("OnStart",))
    if not isinstance(scripts, list):
        return (Verdict.FAIL if scripts is MISSING else Verdict.UNKNOWN), "LifecycleConfigName"
    unknown = False
    for script in scripts:
        content = get(script, ("Content",))
        if not isinstance(content, str):
            unknown = True
            continue
        try:
            text = base64.b64decode(content, validate=True).decode(errors="replace")
        except (binascii.Error, ValueError):
            unknown = True
            continue
        if any(marker in text for marker in IDLE_STOP_MARKERS):
            return Verdict.OK, "LifecycleConfigName"
    return (Verdict.UNKNOWN if unknown else Verdict.FAIL), "LifecycleConfigName"


RULE = SageMakerRule(
    id="NotebookIdleStop",
    info="The notebook instance has no lifecycle configuration whose on-start script stops it when idle.",
    explanation=(
        "A notebook instance bills by the hour until someone stops it; forgotten notebooks are a classic cost "
        "leak and keep a role with data access running. The rule reads the on-start script of the lifecycle "
        "configuration (in the same stack) for a call to StopNotebookInstance or AWS's auto-stop-idle sample. "
        "Fix with sm_constructs: NotebookInstance(idle_timeout_minutes=...) embeds an idle checker. "
        "Without: a NotebookInstanceLifecycleConfig whose OnStart installs an idle check that calls "
        "StopNotebookInstance, referenced by LifecycleConfigName."
    ),
    check=properties_rule(NOTEBOOK, _verdict),
)
