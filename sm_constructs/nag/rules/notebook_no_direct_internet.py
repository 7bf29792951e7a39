"""Notebooks reach the network only through the app's VPC."""

from .._asl import get
from .._model import combine
from .._rule import SageMakerRule, properties_rule
from .._values import equals, is_present
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
    check=properties_rule(
        NOTEBOOK,
        lambda props, node, context: (
            combine(
                [
                    equals(get(props, ("DirectInternetAccess",)), "Disabled", default="Enabled"),
                    is_present(get(props, ("SubnetId",))),
                ]
            ),
            "DirectInternetAccess",
        ),
    ),
)
