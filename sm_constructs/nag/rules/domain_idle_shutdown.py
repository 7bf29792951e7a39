"""Studio apps shut down when idle."""

from typing import Any

from aws_cdk import CfnResource

from .._asl import get
from .._model import combine
from .._rule import Context, SageMakerRule, properties_rule
from .._values import Verdict, equals, is_present
from ._domain import DOMAIN

#: Studio apps with idle shutdown (SageMaker Developer Guide, "Idle shutdown"): each has
#: AppLifecycleManagement.IdleSettings in the domain's DefaultUserSettings.
APPS = ("JupyterLabAppSettings", "CodeEditorAppSettings")


def _verdict(props: dict[str, Any], node: CfnResource, context: Context) -> tuple[str, str]:
    verdicts = []
    for app in APPS:
        idle = get(props, ("DefaultUserSettings", app, "AppLifecycleManagement", "IdleSettings"))
        verdicts += [
            equals(get(idle, ("LifecycleManagement",)), "ENABLED", default="DISABLED"),
            is_present(get(idle, ("IdleTimeoutInMinutes",))),
        ]
    verdict = combine(verdicts)
    return verdict, "DefaultUserSettings" if verdict != Verdict.OK else ""


RULE = SageMakerRule(
    id="DomainIdleShutdown",
    info="The Studio domain does not shut down idle JupyterLab and Code Editor apps.",
    explanation=(
        "A Studio app keeps its instance (and bill) running until it is deleted; idle shutdown stops it after "
        "IdleTimeoutInMinutes without activity. "
        "Fix: DefaultUserSettings.JupyterLabAppSettings and .CodeEditorAppSettings with "
        "AppLifecycleManagement.IdleSettings {LifecycleManagement: ENABLED, IdleTimeoutInMinutes: ...} on "
        "AWS::SageMaker::Domain. If users cannot start one of the apps, acknowledge the finding with that reason."
    ),
    check=properties_rule(DOMAIN, _verdict),
)
