"""Studio domains reach the network only through the app's VPC."""

from .._rule import SageMakerRule, equal_at, settings_rule
from ._domain import DOMAIN

#: AWS::SageMaker::Domain AppNetworkAccessType: "PublicInternetOnly" unless set (CloudFormation resource reference).
DEFAULT_ACCESS = "PublicInternetOnly"

RULE = SageMakerRule(
    id="DomainVpcOnly",
    info="The Studio domain's apps have direct internet access (AppNetworkAccessType is not VpcOnly).",
    explanation=(
        "With PublicInternetOnly (the default) Studio apps reach the internet through SageMaker's network, "
        "around the VPC's security groups, endpoint policies and flow logs. "
        "Fix: AppNetworkAccessType: VpcOnly with SubnetIds in private subnets that have the SageMaker API, "
        "runtime, STS and S3 endpoints (MlVpc provides them). "
        "Without sm_constructs: the same properties on AWS::SageMaker::Domain."
    ),
    check=settings_rule(
        DOMAIN, "AppNetworkAccessType", equal_at("AppNetworkAccessType", to="VpcOnly", default=DEFAULT_ACCESS)
    ),
)
