"""Notebook users cannot become root."""

from .._rule import SageMakerRule, equal_at, settings_rule
from ._notebook import NOTEBOOK

RULE = SageMakerRule(
    id="NotebookNoRoot",
    info="The notebook instance gives its users root access.",
    explanation=(
        "With root access (SageMaker's default, RootAccess: Enabled) a notebook user can change the instance: "
        "disable the lifecycle configuration's controls, read other users' files, install anything. Lifecycle "
        "scripts run as root either way. "
        "Fix with sm_constructs: NotebookInstance (root_access=False by default). "
        "Without: RootAccess: Disabled on AWS::SageMaker::NotebookInstance."
    ),
    check=settings_rule(NOTEBOOK, "RootAccess", equal_at("RootAccess", to="Disabled", default="Enabled")),
)
