"""The resource type the Studio domain rules read."""

DOMAIN = "AWS::SageMaker::Domain"
