"""Jobs run their containers without network access, where the API allows it."""

from .._rule import SageMakerRule, task_rule
from ._jobs import field_is_true, job_with_field

RULE = SageMakerRule(
    id="JobNetworkIsolation",
    info="A SageMaker job started by this state machine does not enable network isolation.",
    explanation=(
        "With EnableNetworkIsolation the job's containers have no network access (SageMaker still moves the "
        "inputs and outputs): code or a dependency that goes rogue cannot send data anywhere. The rule applies "
        "to the APIs whose request has the field in botocore's SageMaker model (processing, training, tuning; "
        "a transform job inherits it from its model). "
        "Fix with sm_constructs: network=NetworkConfig(enable_network_isolation=True). "
        "Without: EnableNetworkIsolation: true in the request (processing: NetworkConfig.EnableNetworkIsolation). "
        "A job that must reach the network (e.g. to download packages) should run in a VPC without internet "
        "access instead; acknowledge the finding with that reason."
    ),
    check=task_rule(job_with_field("EnableNetworkIsolation"), field_is_true("EnableNetworkIsolation")),
)
