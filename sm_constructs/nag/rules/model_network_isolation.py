"""Models run their inference containers without network access."""

from typing import Any

from .._asl import get
from .._rule import SageMakerRule, request_rule
from .._values import Deployed, RunTime, Verdict, equals

MODEL = "AWS::SageMaker::Model"


def model_verdict(request: Any) -> str:
    if isinstance(request, RunTime | Deployed):
        return Verdict.UNKNOWN
    return equals(get(request, ("EnableNetworkIsolation",)), True, default=False)


RULE = SageMakerRule(
    id="ModelNetworkIsolation",
    info="A SageMaker model does not enable network isolation.",
    explanation=(
        "A model's containers serve endpoints and batch transform jobs: with EnableNetworkIsolation they cannot "
        "make outbound calls, so a compromised or careless inference container cannot send the data it scores "
        "anywhere (transform jobs inherit the model's setting). "
        "Fix with sm_constructs: ModelDefinition(network=NetworkConfig(enable_network_isolation=True)). "
        "Without: EnableNetworkIsolation: true on CreateModel or AWS::SageMaker::Model "
        "(aws-stepfunctions-tasks: SageMakerCreateModel(enable_network_isolation=True))."
    ),
    check=request_rule(MODEL, lambda task: task.operation == "CreateModel", model_verdict, "EnableNetworkIsolation"),
)
