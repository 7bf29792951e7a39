"""Structural IAM assertions: an action is checked together with its resources and condition.

Policies are minimised (cdk.json's ``@aws-cdk/aws-iam:minimizePolicies``): statements with the same
resources and condition are merged and their actions sorted, so a test names the whole statement it
expects, not a substring that would still pass on a broader one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk.assertions import Match, Template


def service_arn(service: str, resource: str) -> dict[str, Any]:
    """An ARN of this account and region in an env-agnostic stack, as ``Stack.format_arn`` renders it."""
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                f":{service}:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":{resource}",
            ],
        ]
    }


def sagemaker_arn(resource: str) -> dict[str, Any]:
    """A SageMaker ARN in an env-agnostic stack."""
    return service_arn("sagemaker", resource)


def role_ref(logical_id_prefix: str) -> list[Any]:
    """The ``Roles`` of a policy attached to the role whose logical id starts with this prefix."""
    return [{"Ref": Match.string_like_regexp(f"^{logical_id_prefix}")}]


def get_att_arn(logical_id_prefix: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [Match.string_like_regexp(f"^{logical_id_prefix}"), "Arn"]}


def statement(actions: Sequence[str], resources: Sequence[Any] | Any, condition: Any = None) -> dict[str, Any]:
    """The pattern of one Allow statement with exactly these actions, resources and condition (or none)."""
    listed = list(resources) if isinstance(resources, list | tuple) else [resources]
    return {
        "Effect": "Allow",
        "Action": actions[0] if len(actions) == 1 else list(actions),
        "Resource": listed[0] if len(listed) == 1 else listed,
        "Condition": condition if condition is not None else Match.absent(),
    }


def assert_allows(
    template: Template,
    actions: Sequence[str],
    resources: Sequence[Any] | Any,
    condition: Any = None,
    *,
    policy_type: str = "AWS::IAM::ManagedPolicy",
    roles: Any = None,
) -> None:
    """Some policy (of ``roles`` when given) holds exactly this statement."""
    props: dict[str, Any] = {
        "PolicyDocument": {"Statement": Match.array_with([statement(actions, resources, condition)])}
    }
    if roles is not None:
        props["Roles"] = roles
    template.has_resource_properties(policy_type, props)


def assert_nowhere(template: Template, action: str, *, policy_type: str = "AWS::IAM::ManagedPolicy") -> None:
    """No statement of any policy of this type allows ``action`` (alone or among others)."""
    for policy in template.find_resources(policy_type).values():
        for s in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            assert action not in actions, s


def assert_grants(
    template: Template,
    actions: Sequence[str],
    resources: Sequence[Any] | Any,
    condition: Any = None,
    *,
    policy_type: str = "AWS::IAM::ManagedPolicy",
    roles: Any = None,
) -> None:
    """Each action is allowed on each resource by one statement with exactly this condition (or none).

    Unlike :func:`assert_allows` it does not fix how statements were merged or split across policies
    (minimisation and policy-size splitting decide that), only what each statement allows.
    """
    listed = list(resources) if isinstance(resources, list | tuple) else [resources]
    for action in actions:
        for resource in listed:
            failures = []
            for action_form in (action, Match.array_with([action])):
                for resource_form in (resource, Match.array_with([resource])):
                    pattern = {
                        "Effect": "Allow",
                        "Action": action_form,
                        "Resource": resource_form,
                        "Condition": condition if condition is not None else Match.absent(),
                    }
                    props: dict[str, Any] = {"PolicyDocument": {"Statement": Match.array_with([pattern])}}
                    if roles is not None:
                        props["Roles"] = roles
                    try:
                        template.has_resource_properties(policy_type, props)
                        break
                    except Exception as error:  # jsii reports the mismatch as RuntimeError
                        failures.append(error)
                else:
                    continue
                break
            else:
                raise AssertionError(f"no {policy_type} statement allows {action} on {resource}: {failures[-1]}")
