"""Studio apps shut down when idle."""

from .._rule import SageMakerRule, equal_at, set_at, settings_rule
from ._domain import DOMAIN

#: Studio apps with idle shutdown (SageMaker Developer Guide, "Idle shutdown"): each has
#: AppLifecycleManagement.IdleSettings in the domain's DefaultUserSettings.
APPS = ("JupyterLabAppSettings", "CodeEditorAppSettings")


def _idle_settings(app: str) -> tuple[str, ...]:
    return ("DefaultUserSettings", app, "AppLifecycleManagement", "IdleSettings")


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
    check=settings_rule(
        DOMAIN,
        "DefaultUserSettings",
        *(equal_at(*_idle_settings(app), "LifecycleManagement", to="ENABLED", default="DISABLED") for app in APPS),
        *(set_at(*_idle_settings(app), "IdleTimeoutInMinutes") for app in APPS),
    ),
)
