"""Distributed jobs encrypt the traffic between their instances."""

from .._model import Definition, settings
from .._rule import SageMakerRule, task_rule
from .._values import Deployed, RunTime, Verdict
from ._jobs import is_true, job_with_field, per_definition

FIELD = "EnableInterContainerTrafficEncryption"


def _instances(definition: Definition) -> str | int:
    """How many instances the definition runs: a number, or UNKNOWN."""
    counts = settings(definition, "InstanceCount", lists=True)
    grouped = 0
    largest = 0
    for path, value in counts:
        if isinstance(value, RunTime | Deployed):
            return Verdict.UNKNOWN
        if not isinstance(value, int):
            continue
        if "InstanceGroups" in path:  # heterogeneous clusters: the groups add up
            grouped += value
        largest = max(largest, value)
    return max(largest, grouped)


def _definition_verdict(definition: Definition) -> str:
    instances = _instances(definition)
    if instances == Verdict.UNKNOWN:
        return _unknown_count(definition)
    if isinstance(instances, int) and instances <= 1:
        return Verdict.OK
    return is_true(definition, FIELD)


def _unknown_count(definition: Definition) -> str:
    """The instance count is not known before run time: compliant only if encryption is on anyway."""
    return Verdict.OK if is_true(definition, FIELD) == Verdict.OK else Verdict.UNKNOWN


RULE = SageMakerRule(
    id="JobInterContainerEncryption",
    info="A SageMaker job with more than one instance does not encrypt the traffic between them.",
    explanation=(
        "Distributed training and processing exchange data and model parameters between instances in clear "
        "text unless EnableInterContainerTrafficEncryption is true. The rule applies when InstanceCount (or the "
        "instance groups together) exceeds 1, or is only known at run time, for the APIs that have the field "
        "in botocore's SageMaker model. "
        "Fix with sm_constructs: NetworkConfig(encrypt_inter_container_traffic=True) (on by default when more than one instance runs). "
        "Without: EnableInterContainerTrafficEncryption: true in the request (processing: in NetworkConfig)."
    ),
    check=task_rule(job_with_field(FIELD), per_definition(_definition_verdict)),
)
