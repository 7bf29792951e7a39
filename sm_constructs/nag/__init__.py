"""A cdk-nag pack for SageMaker that reads inside Step Functions state machines.

``Validations.of(app).add_plugins(SageMakerChecks(app))`` holds every SageMaker job a state
machine starts (however it was written: sm_constructs, aws-cdk's ``aws-stepfunctions-tasks``,
``CustomState`` JSON) and the SageMaker resources of the app to the standard sm_constructs sets.
Needs cdk-nag (and moto for the job-name rule): ``pip install 'sm-constructs[nag]'``.
"""

from ._rule import VPC_ONLY_CONTEXT, SageMakerRule
from .pack import PACK_NAME, SageMakerChecks
from .rules import RULES

__all__ = ["PACK_NAME", "RULES", "VPC_ONLY_CONTEXT", "SageMakerChecks", "SageMakerRule"]
