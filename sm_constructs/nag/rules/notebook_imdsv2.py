"""Notebook instances accept only IMDSv2."""

from .._rule import SageMakerRule, equal_at, settings_rule
from ._notebook import NOTEBOOK

#: SageMaker API reference, InstanceMetadataServiceConfiguration: "When passed as part of
#: CreateNotebookInstance, if no value is selected, then it defaults to IMDSv1."
API_DEFAULT = "1"

RULE = SageMakerRule(
    id="NotebookImdsV2",
    info="The notebook instance accepts IMDSv1 (InstanceMetadataServiceConfiguration.MinimumInstanceMetadataServiceVersion is not 2).",
    explanation=(
        "IMDSv1 answers any GET to 169.254.169.254, so a server-side request forgery in anything running on the "
        "notebook hands out the notebook role's credentials; IMDSv2 requires a session token. SageMaker's "
        "default for a new notebook instance is IMDSv1. "
        "Fix with sm_constructs: NotebookInstance (IMDSv2 only, on the Amazon Linux 2023 platform by default). "
        "Without: InstanceMetadataServiceConfiguration: {MinimumInstanceMetadataServiceVersion: '2'} on "
        "AWS::SageMaker::NotebookInstance, with a current PlatformIdentifier."
    ),
    check=settings_rule(
        NOTEBOOK,
        "InstanceMetadataServiceConfiguration",
        equal_at(
            "InstanceMetadataServiceConfiguration", "MinimumInstanceMetadataServiceVersion", to="2", default=API_DEFAULT
        ),
    ),
)
