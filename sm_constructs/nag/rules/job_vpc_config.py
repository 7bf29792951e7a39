"""When the app asks for it, jobs and models run in the app's VPC."""

from typing import Any

from .._asl import Task, get
from .._model import Definition, combine, has_field, settings
from .._rule import SageMakerRule, task_rule
from .._values import Verdict, is_present
from ._jobs import defines_job, per_definition


def _applies(task: Task) -> bool:
    # The model holds the network of the containers a transform job or endpoint runs.
    return (defines_job(task) or task.operation == "CreateModel") and has_field(task.operation, "VpcConfig")


def _definition_verdict(definition: Definition) -> str:
    verdicts = []
    for _, value in settings(definition, "VpcConfig"):
        if isinstance(value, dict):
            verdicts += [is_present(get(value, ("Subnets",))), is_present(get(value, ("SecurityGroupIds",)))]
        else:
            verdicts.append(is_present(value))
    return combine(verdicts)


_each_definition = per_definition(_definition_verdict)


def _verdict(task: Task, node: Any, context: Any) -> str:
    return _each_definition(task, node, context) if context.vpc_only_for(node) else Verdict.OK


RULE = SageMakerRule(
    id="JobVpcConfig",
    info="This app requires SageMaker work in a VPC, and a job or model of this state machine has no VpcConfig.",
    explanation=(
        "Enabled by SageMakerChecks(vpc_only=True) or the context key 'sm-constructs:nag:vpcOnly'. Without a "
        "VpcConfig a job's or model's containers use SageMaker's network instead of the app's subnets, security "
        "groups, VPC endpoints and flow logs. "
        "Fix with sm_constructs: NetworkConfig(subnets=..., security_groups=...) (MlVpc provides isolated subnets "
        "with the endpoints SageMaker needs). "
        "Without: VpcConfig {Subnets, SecurityGroupIds} in the request (processing: NetworkConfig.VpcConfig; "
        "aws-stepfunctions-tasks: vpc_config=VpcConfig(vpc=..., subnets=...))."
    ),
    check=task_rule(_applies, _verdict),
)
