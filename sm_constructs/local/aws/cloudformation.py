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
  defaulted parameter.

And IAM resources change in place as CloudFormation changes them (AWS::IAM::ManagedPolicy and
AWS::IAM::Role resource references, "Update requires: No interruption" for the properties below):

* ``AWS::IAM::ManagedPolicy``: a changed ``PolicyDocument`` becomes a new default policy version
  (the oldest non-default version is deleted at IAM's limit of 5), changed ``Roles``/``Users``/
  ``Groups`` are attached and detached, a changed name or path replaces the policy; on delete the
  policy is detached and deleted (moto has neither: updates were dropped, and ``cdk destroy`` failed
  with "Cannot delete entity, must detach all policies first");
* ``AWS::IAM::Role``: ``AssumeRolePolicyDocument``, ``Description``, ``MaxSessionDuration`` and the
  inline ``Policies`` are updated (moto updates the description only).

A resource that fails (:class:`ResourceFailed`, raised by a custom resource whose handler answers
FAILED or cannot run) fails its stack as CloudFormation reports it (AWS CloudFormation User Guide,
"Stack status codes" and "Resource status codes"; the values are botocore's ``StackStatus`` and
``ResourceStatus`` enums): a ``CREATE_FAILED`` event naming the resource and the reason, then a
failed create rolls back (what was created is deleted: ``ROLLBACK_COMPLETE``, or ``ROLLBACK_FAILED``
if a delete fails) and a failed update ends ``UPDATE_FAILED`` (the emulator does not roll updates back,
and says so in the reason). moto has no failed states: the exception ended the API call.
"""

from __future__ import annotations

import contextvars
from typing import Any

__all__ = ["ResourceFailed", "install"]


class ResourceFailed(Exception):
    """A resource CloudFormation could not create, update or delete; its stack fails with ``reason``."""

    def __init__(self, logical_id: str, resource_type: str, reason: str, physical_id: str = "") -> None:
        super().__init__(f"{logical_id} ({resource_type}): {reason}")
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.reason = reason
        self.physical_id = physical_id


def _fail_stack(stack: Any, error: ResourceFailed, *, creating: bool) -> None:
    """Record ``error`` as CloudFormation does: the resource's failed event, then the stack's outcome."""
    from moto.cloudformation.models import Event

    def event(logical_id: str, physical_id: str, resource_type: str, status: str, reason: str) -> None:
        stack.events.append(
            Event(stack.stack_id, stack.name, logical_id, physical_id, resource_type, status, reason, None)
        )

    action = "CREATE" if creating or error.logical_id not in stack.resource_map._parsed_resources else "UPDATE"
    event(error.logical_id, error.physical_id, error.resource_type, f"{action}_FAILED", error.reason)
    summary = f"The following resource(s) failed to {action.lower()}: [{error.logical_id}]."
    if not creating:
        stack.status = "UPDATE_FAILED"
        stack._add_stack_event("UPDATE_FAILED", f"{summary} The emulator does not roll back updates.")
        return
    stack._add_stack_event("ROLLBACK_IN_PROGRESS", summary)
    try:
        stack.resource_map.delete()
    except Exception as rollback_error:
        stack.status = "ROLLBACK_FAILED"
        stack._add_stack_event("ROLLBACK_FAILED", f"Rollback failed: {rollback_error}")
        return
    stack.resource_map._resource_json_map = {}  # nothing left to list (moto would create them again on read)
    stack.status = "ROLLBACK_COMPLETE"
    stack._add_stack_event("ROLLBACK_COMPLETE")


def _install_resource_failures() -> None:
    """CreateStack and UpdateStack end in a failed stack, not a failed call, when a resource fails."""
    from moto.cloudformation.models import Stack

    from .. import patches

    original_create = Stack.create_resources
    original_update = Stack.update

    def create_resources(self: Any) -> None:
        try:
            original_create(self)
        except ResourceFailed as error:
            _fail_stack(self, error, creating=True)

    def update(self: Any, *args: Any, **kwargs: Any) -> None:
        try:
            original_update(self, *args, **kwargs)
        except ResourceFailed as error:
            _fail_stack(self, error, creating=False)

    patches.replace(
        "moto.cloudformation.models:Stack",
        "create_resources",
        create_resources,
        why="a failed resource fails and rolls back the stack; moto ends CreateStack with an internal error",
    )
    patches.replace(
        "moto.cloudformation.models:Stack",
        "update",
        update,
        why="a failed resource fails the stack update; moto ends UpdateStack with an internal error",
    )


_previous_inputs = contextvars.ContextVar("previous_inputs", default=False)


def _install_previous_values() -> None:
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import CloudFormationBackend, Stack
    from moto.cloudformation.responses import CloudFormationResponse

    resolved = Stack.stack_parameters

    def previous_input(stack: Any, name: str) -> Any:
        if name in stack.parameters:
            return stack.parameters[name]
        template = getattr(stack.resource_map, "_template", None) or stack.template_dict
        slot = template.get("Parameters", {}).get(name)
        if slot is None or "Default" not in slot:
            raise ValidationError(message=f"Invalid input for parameter key {name}. Cannot specify usePreviousValue")
        return slot["Default"]

    def stack_parameters(self: Any) -> dict[str, Any]:
        values = dict(resolved.fget(self))  # type: ignore[attr-defined]
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

    original = CloudFormationResponse.create_change_set

    def create_change_set(self: Any) -> Any:
        token = _previous_inputs.set(True)
        try:
            return original(self)
        finally:
            _previous_inputs.reset(token)

    Stack.stack_parameters = property(stack_parameters)  # type: ignore[assignment,method-assign]
    CloudFormationBackend._resolve_update_parameters = resolve_update_parameters  # type: ignore[method-assign]
    CloudFormationResponse.create_change_set = create_change_set  # type: ignore[method-assign]


def _attached(backend: Any, arn: str) -> dict[str, set[str]]:
    return {
        "Roles": {r.name for r in backend.roles.values() if arn in r.managed_policies},
        "Users": {u.name for u in backend.users.values() if arn in u.managed_policies},
        "Groups": {g.name for g in backend.groups.values() if arn in g.managed_policies},
    }


def _install_iam_resources() -> None:
    import json

    from moto.iam.models import ManagedPolicy, Role, iam_backends
    from moto.utilities.utils import get_partition

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

    original_role_update = Role.update_from_cloudformation_json

    def update_role(
        cls: Any,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        backend = iam_backends[account_id][get_partition(region_name)]
        props = cloudformation_json["Properties"]
        role = original_role_update.__func__(  # type: ignore[attr-defined]
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

    ManagedPolicy.delete = delete_policy  # type: ignore[attr-defined]
    ManagedPolicy.update_from_cloudformation_json = classmethod(update_policy)  # type: ignore[assignment,method-assign]
    Role.update_from_cloudformation_json = classmethod(update_role)  # type: ignore[assignment,method-assign]


def install() -> None:
    from moto.cloudformation.exceptions import CloudFormationError
    from moto.cloudformation.models import CloudFormationBackend

    _install_previous_values()
    _install_iam_resources()
    _install_resource_failures()

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

    original_execute = CloudFormationBackend.execute_change_set

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        found = find(self, change_set_name, stack_name)
        if found is None:
            raise ChangeSetNotFound(change_set_name)
        change_set = self.change_sets[found]
        stack_id = change_set.stack.stack_id
        try:
            original_execute(self, found, stack_name)
        except ResourceFailed as error:
            change_set.execution_status = "EXECUTE_FAILED"
            _fail_stack(self.stacks[stack_id], error, creating=change_set.change_set_type == "CREATE")
        for change_set_id in [i for i, c in self.change_sets.items() if c.stack.stack_id == stack_id]:
            del self.change_sets[change_set_id]

    CloudFormationBackend.describe_change_set = describe_change_set  # type: ignore[method-assign]
    CloudFormationBackend.delete_change_set = delete_change_set  # type: ignore[method-assign]
    CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]

    from .. import patches

    patches.apply()
