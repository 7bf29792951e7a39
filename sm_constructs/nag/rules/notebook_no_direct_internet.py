"""Notebooks reach the network only through the app's VPC."""

from .._rule import SageMakerRule, equal_at, set_at, settings_rule
from ._notebook import NOTEBOOK

RULE = SageMakerRule(
    id="NotebookNoDirectInternet",
    info="The notebook instance has direct internet access or is not in a VPC subnet.",
    explanation=(
        "SageMaker's default (DirectInternetAccess: Enabled) gives the notebook its own internet path around "
        "the VPC: data can leave without passing the VPC's security groups, endpoints policies and flow logs. "
        "Disabled requires a SubnetId. "
        "Fix with sm_constructs: NotebookInstance(vpc=...) (direct_internet_access=False by default; MlVpc gives "
        "private subnets with the endpoints a notebook needs). "
        "Without: DirectInternetAccess: Disabled and SubnetId / SecurityGroupIds on AWS::SageMaker::NotebookInstance."
    ),
    check=settings_rule(
        NOTEBOOK,
        "DirectInternetAccess",
        equal_at("DirectInternetAccess", to="Disabled", default="Enabled"),
        set_at("SubnetId"),
    ),
)
