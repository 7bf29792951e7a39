"""CloudFormation change sets and stack deletion as the CDK CLI expects them from AWS (plug-ins for moto).

Without these, a second ``cdk deploy`` of a changed stack and ``cdk destroy`` fail against moto:

* an executed change set is gone on AWS ("After you execute a change set, CloudFormation deletes
  all change sets that are associated with the stack", AWS CloudFormation User Guide, *Execute a
  change set*); moto keeps it, and the CDK CLI's next deploy then waits for a change set that never
  disappears;
* ``DescribeChangeSet`` of an unknown change set fails with ``ChangeSetNotFound`` (botocore's
  CloudFormation model: ``ChangeSetNotFoundException``, code ``ChangeSetNotFound``, HTTP 404),
  which the CDK CLI treats as "gone"; moto reports a missing *stack* instead;
* ``DeleteChangeSet`` of a change set that does not exist succeeds (its only modelled error is
  ``InvalidChangeSetStatusException``); moto raises an internal error;
* ``UsePreviousValue`` in an update change set reuses the parameter's previous *input* (for an
  ``AWS::SSM::Parameter::Value`` parameter such as the CDK's ``BootstrapVersion``, the parameter
  name, resolved again), also when the previous value was the template's default; moto passes the
  previously resolved value to a change set and fails ``UpdateStack`` (``--method=direct``) on a
  defaulted parameter;
* a stack created or updated by a change set reports the ``Outputs`` of the executed template in
  ``DescribeStacks`` (the CDK CLI prints them after ``cdk deploy``); moto keeps the outputs of the
  template the stack was created with, an empty one for a change set of type ``CREATE``.

And IAM resources change in place as CloudFormation changes them (AWS::IAM::ManagedPolicy and
AWS::IAM::Role resource references, "Update requires: No interruption" for the properties below):

* ``AWS::IAM::ManagedPolicy``: a changed ``PolicyDocument`` becomes a new default policy version
  (the oldest non-default version is deleted at IAM's limit of 5), changed ``Roles``/``Users``/
  ``Groups`` are attached and detached, a changed name or path replaces the policy; on delete the
  policy is detached and deleted (moto has neither: updates were dropped, and ``cdk destroy`` failed
  with "Cannot delete entity, must detach all policies first");
* ``AWS::IAM::Role``: ``AssumeRolePolicyDocument``, ``Description``, ``MaxSessionDuration`` and the
  inline ``Policies`` are updated (moto updates the description only).
"""

from __future__ import annotations

import contextvars
from typing import Any

__all__ = ["install", "resource_type"]


_previous_inputs = contextvars.ContextVar("previous_inputs", default=False)


def _clear_model_caches() -> None:
    from moto.cloudformation import parsing

    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()


def resource_type(model: type, *, why: str) -> None:
    """Declare ``model``, a ``CloudFormationModel`` subclass moto's CloudFormation finds by its type name."""
    from .. import patches

    patches.subclass("moto.core.common_models:CloudFormationModel", model, why=why, refresh=_clear_model_caches)


def _install_previous_values() -> None:
    from moto.cloudformation.exceptions import ValidationError

    from .. import patches

    def previous_input(stack: Any, name: str) -> Any:
        if name in stack.parameters:
            return stack.parameters[name]
        template = getattr(stack.resource_map, "_template", None) or stack.template_dict
        slot = template.get("Parameters", {}).get(name)
        if slot is None or "Default" not in slot:
            raise ValidationError(message=f"Invalid input for parameter key {name}. Cannot specify usePreviousValue")
        return slot["Default"]

    why = "UsePreviousValue reuses the parameter's previous input, as CloudFormation does"

    @patches.wrap("moto.cloudformation.models:Stack", "stack_parameters", why=why + " (SSM parameters resolved again)")
    def stack_parameters(resolved: Any, self: Any) -> dict[str, Any]:
        values = dict(resolved(self))
        if _previous_inputs.get():
            template = getattr(self.resource_map, "_template", None) or self.template_dict
            for name, slot in template.get("Parameters", {}).items():
                if str(slot.get("Type", "")).startswith("AWS::SSM::Parameter::"):
                    values[name] = previous_input(self, name)
        return values

    def resolve_update_parameters(self: Any, instance: Any, incoming_params: list[dict[str, Any]]) -> dict[str, Any]:
        parameters = {p["ParameterKey"]: p["ParameterValue"] for p in incoming_params if "ParameterValue" in p}
        for p in incoming_params:
            if p.get("UsePreviousValue", False):
                parameters[p["ParameterKey"]] = previous_input(instance, p["ParameterKey"])
        return parameters

    @patches.wrap("moto.cloudformation.responses:CloudFormationResponse", "create_change_set", why=why)
    def create_change_set(original: Any, self: Any) -> Any:
        token = _previous_inputs.set(True)
        try:
            return original(self)
        finally:
            _previous_inputs.reset(token)

    patches.replace(
        "moto.cloudformation.models:CloudFormationBackend",
        "_resolve_update_parameters",
        resolve_update_parameters,
        why=why,
    )


def _attached(backend: Any, arn: str) -> dict[str, set[str]]:
    return {
        "Roles": {r.name for r in backend.roles.values() if arn in r.managed_policies},
        "Users": {u.name for u in backend.users.values() if arn in u.managed_policies},
        "Groups": {g.name for g in backend.groups.values() if arn in g.managed_policies},
    }


def _install_iam_resources() -> None:
    import json

    from moto.iam.models import iam_backends
    from moto.utilities.utils import get_partition

    from .. import patches

    attach = {"Roles": "role", "Users": "user", "Groups": "group"}

    def set_attachments(backend: Any, arn: str, wanted: dict[str, set[str]]) -> None:
        current = _attached(backend, arn)
        for field, kind in attach.items():
            for name in wanted.get(field, set()) - current[field]:
                getattr(backend, f"attach_{kind}_policy")(policy_arn=arn, **{f"{kind}_name": name})
            for name in current[field] - wanted.get(field, set()):
                getattr(backend, f"detach_{kind}_policy")(policy_arn=arn, **{f"{kind}_name": name})

    def delete_policy(self: Any, account_id: str, region_name: str) -> None:
        backend = iam_backends[account_id][get_partition(region_name)]
        if self.arn in backend.managed_policies:
            set_attachments(backend, self.arn, {})
            backend.delete_policy(self.arn)

    def update_policy(
        cls: Any,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        backend = iam_backends[account_id][get_partition(region_name)]
        props = cloudformation_json.get("Properties", {})
        name = props.get("ManagedPolicyName", original_resource.name)
        if name != original_resource.name or props.get("Path", "/") != original_resource.path:
            delete_policy(original_resource, account_id, region_name)
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        document = json.dumps(props.get("PolicyDocument"))
        default = next(v for v in original_resource.versions if v.is_default)
        if json.loads(default.document) != props.get("PolicyDocument"):
            if len(original_resource.versions) >= 5:
                oldest = next(v for v in original_resource.versions if not v.is_default)
                backend.delete_policy_version(original_resource.arn, oldest.version_id)
            backend.create_policy_version(original_resource.arn, document, set_as_default=True)
        set_attachments(backend, original_resource.arn, {f: set(props.get(f, [])) for f in attach})
        return original_resource

    @patches.wrap(
        "moto.iam.models:Role",
        "update_from_cloudformation_json",
        why="an AWS::IAM::Role update changes its trust policy, description, session duration and inline policies",
    )
    def update_role(
        original_role_update: Any,
        cls: Any,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        backend = iam_backends[account_id][get_partition(region_name)]
        props = cloudformation_json["Properties"]
        role = original_role_update(
            cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )
        trust = props["AssumeRolePolicyDocument"]
        backend.update_assume_role_policy(role.name, trust if isinstance(trust, str) else json.dumps(trust))
        role.max_session_duration = props.get("MaxSessionDuration", 3600)
        role.description = props.get("Description", "")
        wanted = {p["PolicyName"]: p["PolicyDocument"] for p in props.get("Policies", [])}
        for policy_name in set(role.policies) - set(wanted):
            role.delete_policy(policy_name)
        for policy_name, document in wanted.items():
            role.put_policy(policy_name, document if isinstance(document, str) else json.dumps(document))
        return role

    managed_policy = "moto.iam.models:ManagedPolicy"
    why = "deleting an AWS::IAM::ManagedPolicy stack resource detaches and deletes the policy"
    patches.add(managed_policy, "delete", delete_policy, why=why)
    why = "an AWS::IAM::ManagedPolicy update makes a new default version and changes attachments"
    patches.replace(managed_policy, "update_from_cloudformation_json", classmethod(update_policy), why=why)


def install() -> None:
    from moto.cloudformation.exceptions import CloudFormationError

    from .. import patches

    _install_previous_values()
    _install_iam_resources()

    class ChangeSetNotFound(CloudFormationError):
        code = "ChangeSetNotFound"

        def __init__(self, name: str) -> None:
            super().__init__(f"ChangeSet [{name}] does not exist")

    def find(backend: Any, name: str, stack_name: str | None = None) -> str | None:
        if name in backend.change_sets:
            return name
        for change_set_id, change_set in backend.change_sets.items():
            if change_set.change_set_name == name and (
                stack_name is None or stack_name in (change_set.stack.name, change_set.stack.stack_id)
            ):
                return str(change_set_id)
        return None

    def describe_change_set(self: Any, change_set_name: str) -> Any:
        found = find(self, change_set_name)
        if found is None:
            raise ChangeSetNotFound(change_set_name)
        return self.change_sets[found]

    def delete_change_set(self: Any, change_set_name: str) -> None:
        found = find(self, change_set_name)
        if found is not None:
            del self.change_sets[found]

    backend_class = "moto.cloudformation.models:CloudFormationBackend"

    @patches.wrap(backend_class, "execute_change_set", why="an executed change set is gone, with its stack's others")
    def execute_change_set(
        original_execute: Any, self: Any, change_set_name: str, stack_name: str | None = None
    ) -> None:
        found = find(self, change_set_name, stack_name)
        if found is None:
            raise ChangeSetNotFound(change_set_name)
        stack = self.change_sets[found].stack
        stack_id = stack.stack_id
        original_execute(self, found, stack_name)
        # the stack's outputs and template are the executed template's (moto keeps those it was created with)
        stack._parse_template()
        stack.output_map = stack._create_output_map()
        for change_set_id in [i for i, c in self.change_sets.items() if c.stack.stack_id == stack_id]:
            del self.change_sets[change_set_id]

    why = "an unknown change set is ChangeSetNotFound (moto: a missing stack)"
    patches.replace(backend_class, "describe_change_set", describe_change_set, why=why)
    why = "deleting an unknown change set succeeds (moto: an internal error)"
    patches.replace(backend_class, "delete_change_set", delete_change_set, why=why)
    patches.apply()
