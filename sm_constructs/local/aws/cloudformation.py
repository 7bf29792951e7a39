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

Cross-stack references (``Export`` in ``Outputs``, ``Fn::ImportValue``) work for stacks made and
changed by change sets, as the CDK CLI deploys (moto registers exports in ``CreateStack`` only, and
gives a change set's stack no exports to import from), with CloudFormation's rules (Template
Reference, *Fn::ImportValue*): export names are unique in a Region; "after another stack imports an
output value, you can't delete the stack that is exporting the output value or modify the exported
output value" (:func:`_refused_exports`).

And IAM resources change in place as CloudFormation changes them (AWS::IAM::ManagedPolicy and
AWS::IAM::Role resource references, "Update requires: No interruption" for the properties below):

* ``AWS::IAM::ManagedPolicy``: a changed ``PolicyDocument`` becomes a new default policy version
  (the oldest non-default version is deleted at IAM's limit of 5), changed ``Roles``/``Users``/
  ``Groups`` are attached and detached, a changed name or path replaces the policy; on delete the
  policy is detached and deleted (moto has neither: updates were dropped, and ``cdk destroy`` failed
  with "Cannot delete entity, must detach all policies first");
* ``AWS::IAM::Role``: ``AssumeRolePolicyDocument``, ``Description``, ``MaxSessionDuration`` and the
  inline ``Policies`` are updated (moto updates the description only).

And a stack is deleted as CloudFormation deletes it (:func:`_install_stack_deletion`): in reverse
dependency order, resources with ``DeletionPolicy: Retain`` kept, and a failed delete leaves the
stack ``DELETE_FAILED`` with its reason (moto retried deletes in any order, silently skipped types it
cannot delete, and dropped the stack record when a delete failed).

And ``AWS::StepFunctions::StateMachine`` reads its definition as CloudFormation does (AWS
CloudFormation User Guide, AWS::StepFunctions::StateMachine: ``DefinitionS3Location`` "the name of
the S3 bucket where the state machine definition is stored", ``DefinitionSubstitutions`` "a map
(string to string) that specifies the mappings for placeholder variables in the state machine
definition", ``${variable}``): the definition from S3 (the CDK CLI uploads file assets to the bootstrap
bucket before it deploys) or from ``Definition``, each ``${name}`` of the substitutions replaced
(:func:`_install_state_machine_definitions`). moto read ``DefinitionString`` only, unsubstituted.

A name CloudFormation generates (a resource the template does not name) fits the type: moto's
``<stack>-<logical id>-<suffix>`` is cut in its middle to the ``maxLength`` of the type's name property
in its CloudFormation registry schema (``data/cfn_name_limits.json``, written by
``scripts/refresh_cfn_name_limits.py`` from the schemas cfn-lint ships). moto did not cut it, so a
rule of a long stack and logical ID got a 68-character name that the Events API (``RuleName``: at
most 64) refuses. How AWS splits the cut between stack name and logical ID is not documented; only
the limit is.

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
import inspect
import json
import operator
import re
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any, ClassVar

from .. import patches

__all__ = ["KEPT_ON_DELETE", "ResourceFailed", "ResourceModel", "dependencies", "install", "resource_type"]


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

    def failing_the_stack(creating: bool) -> Callable[..., None]:
        def run(original: Any, self: Any, *args: Any, **kwargs: Any) -> None:
            try:
                original(self, *args, **kwargs)
            except ResourceFailed as error:
                _fail_stack(self, error, creating=creating)

        return run

    for name, creating, outcome in (
        ("create_resources", True, "fails and rolls back the stack; moto ends CreateStack"),
        ("update", False, "fails the stack update; moto ends UpdateStack"),
    ):
        why = f"a failed resource {outcome} with an internal error"
        patches.wrap("moto.cloudformation.models:Stack", name, why=why)(failing_the_stack(creating))


_STATE_MACHINE = "AWS::StepFunctions::StateMachine"
_SUBSTITUTION = re.compile(r"\$\{([^}]+)\}")


def _deployed_definition(
    properties: dict[str, Any], account_id: str, region_name: str, logical_id: str
) -> dict[str, Any]:
    """``properties`` with ``DefinitionString`` as CloudFormation deploys it: read from ``DefinitionS3Location``
    or ``Definition`` when given there, then ``DefinitionSubstitutions`` applied."""
    import json

    from moto.s3.exceptions import MissingBucket, MissingKey
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    text = properties.get("DefinitionString")
    location = properties.get("DefinitionS3Location")
    if text is None and isinstance(properties.get("Definition"), dict):
        text = json.dumps(properties["Definition"])
    elif text is None and isinstance(location, dict):
        bucket, key = str(location.get("Bucket")), str(location.get("Key"))
        try:
            stored = s3_backends[account_id][get_partition(region_name)].get_object(
                bucket, key, version_id=location.get("Version")
            )
        except (MissingBucket, MissingKey):
            stored = None
        if stored is None:
            reason = f"DefinitionS3Location s3://{bucket}/{key}: the object does not exist"
            raise ResourceFailed(logical_id, _STATE_MACHINE, reason)
        text = bytes(stored.value).decode()
    substitutions = properties.get("DefinitionSubstitutions") or {}
    if isinstance(text, str) and substitutions:

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in substitutions:
                return match.group(0)
            v = substitutions[name]
            return v if isinstance(v, str) else json.dumps(v)

        text = _SUBSTITUTION.sub(value, text)
    return {**properties, "DefinitionString": text} if text is not None else properties


def json_template(template: str) -> Any:
    """A template body that is JSON, read as JSON; None for any other (YAML).

    CloudFormation reads a template as JSON or YAML ("CloudFormation supports templates in JSON and
    YAML formats", AWS CloudFormation User Guide, *Template formats*). moto reads every template with
    PyYAML's pure-Python loader first (JSON as YAML 1.1), about 1.5 ms of CPU per KB (a small CDK
    stack's 40 KB: 64 ms; the reference app's 290 KB: 0.4 s) at each change set, stack update and
    comparison; ``json`` reads it in a hundredth of that, and reads it as JSON (an unquoted ``1e5``
    is a number, not the text YAML 1.1 makes of it).
    """
    import json

    if not template.lstrip().startswith("{"):
        return None
    try:
        return json.loads(template)
    except ValueError:
        return None  # YAML's flow style opens with a brace too


def _install_json_templates() -> None:
    why = "a JSON template is read with json, not with PyYAML's pure-Python loader"

    @patches.wrap("moto.cloudformation.models:Stack", "parse_template", why=why)
    def stack_template(original: Any, template: str) -> Any:
        found = json_template(template)
        return original(template) if found is None else found

    @patches.wrap("moto.cloudformation.models:ChangeSet", "_parse_template", why=why)
    def change_set_template(original: Any, self: Any) -> None:
        found = json_template(self.template)
        if found is None:
            original(self)
        else:
            self.template_dict = found


def _install_state_machine_definitions() -> None:
    """State machines created and updated by CloudFormation get the definition CloudFormation would give them."""
    owner = "moto.stepfunctions.models:StateMachine"
    why = "AWS::StepFunctions::StateMachine reads DefinitionS3Location / Definition and applies DefinitionSubstitutions"

    patches.wrap_cloudformation(owner, why=why, properties=_deployed_definition)


_previous_inputs = contextvars.ContextVar("previous_inputs", default=False)


def _clear_model_caches() -> None:
    from moto.cloudformation import parsing

    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()


def resource_type(model: type, *, why: str) -> None:
    """Declare ``model``, a ``CloudFormationModel`` subclass moto's CloudFormation finds by its type name."""
    patches.subclass("moto.core.common_models:CloudFormationModel", model, why=why, refresh=_clear_model_caches)


class ResourceModel:
    """What a CloudFormation type the emulator adds to moto (``class M(ResourceModel, CloudFormationModel)``,
    declared with :func:`resource_type`) tells moto's CloudFormation about itself, from three class attributes.

    A mixin: moto finds its types among the direct subclasses of ``CloudFormationModel`` only. The
    create, update and delete hooks are each model's own (:func:`~sm_constructs.local.patches.creates`,
    :func:`~sm_constructs.local.patches.updates`); a model without an update hook is left as it is by a
    stack update (moto's behaviour).
    """

    #: the type name, ``AWS::<service>::<resource>``
    TYPE: ClassVar[str]
    #: the property that names the resource, generated when the template leaves it out; "" for none
    NAME_PROPERTY: ClassVar[str] = ""
    #: each ``Fn::GetAtt`` attribute → the model's attribute that holds it (a dotted path)
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def cloudformation_type(cls) -> str:
        """The template's ``Type`` moto finds this model by."""
        return cls.TYPE

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name not in self.ATTRIBUTES:
            raise UnformattedGetAttTemplateException()  # moto's models' answer: the template is invalid
        return str(operator.attrgetter(self.ATTRIBUTES[attribute_name])(self))

    @classmethod
    def cloudformation_name_type(cls) -> str:
        """The property moto fills with a generated name when the template leaves it out."""
        return cls.NAME_PROPERTY

    @classmethod
    def named(cls, change: patches.Change) -> dict[str, Any]:
        """The change's properties, the name property defaulted to the name moto generated."""
        properties = change.properties
        if cls.NAME_PROPERTY:
            properties.setdefault(cls.NAME_PROPERTY, change.name)
        return properties


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

    def update_policy(cls: Any, change: patches.Change) -> Any:
        original_resource, props = change.previous, change.properties
        backend = iam_backends[change.account_id][get_partition(change.region_name)]
        name = props.get("ManagedPolicyName", original_resource.name)
        if name != original_resource.name or props.get("Path", "/") != original_resource.path:
            delete_policy(original_resource, change.account_id, change.region_name)
            return cls.create_from_cloudformation_json(
                change.name, change.template, change.account_id, change.region_name
            )
        document = json.dumps(props.get("PolicyDocument"))
        default = next(v for v in original_resource.versions if v.is_default)
        if json.loads(default.document) != props.get("PolicyDocument"):
            if len(original_resource.versions) >= 5:
                oldest = next(v for v in original_resource.versions if not v.is_default)
                backend.delete_policy_version(original_resource.arn, oldest.version_id)
            backend.create_policy_version(original_resource.arn, document, set_as_default=True)
        set_attachments(backend, original_resource.arn, {f: set(props.get(f, [])) for f in attach})
        return original_resource

    def update_role(cls: Any, change: patches.Change) -> Any:
        backend = iam_backends[change.account_id][get_partition(change.region_name)]
        props = change.properties
        role = change.original(cls, change.template)
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

    patches.wrap(
        "moto.iam.models:Role",
        "update_from_cloudformation_json",
        why="an AWS::IAM::Role update changes its trust policy, description, session duration and inline policies",
    )(patches.updates(update_role, wrapping=True))
    managed_policy = "moto.iam.models:ManagedPolicy"
    why = "deleting an AWS::IAM::ManagedPolicy stack resource detaches and deletes the policy"
    patches.add(managed_policy, "delete", delete_policy, why=why)
    why = "an AWS::IAM::ManagedPolicy update makes a new default version and changes attachments"
    patches.replace(managed_policy, "update_from_cloudformation_json", patches.updates(update_policy), why=why)


def _imported_by(backend: Any, exclude: str) -> dict[str, list[str]]:
    """Each export name imported (``Fn::ImportValue``) by a live stack other than ``exclude`` → those stacks' names."""
    from moto.cloudformation.parsing import clean_json

    found: dict[str, list[str]] = {}

    def walk(value: Any, stack: Any) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item, stack)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key == "Fn::ImportValue":
                    name = item if isinstance(item, str) else clean_json(item, stack.resource_map)
                    found.setdefault(str(name), []).append(stack.name)
                else:
                    walk(item, stack)

    for stack in backend.stacks.values():
        if stack.stack_id != exclude and stack.status not in ("REVIEW_IN_PROGRESS", "ROLLBACK_COMPLETE"):
            walk(stack.template_dict.get("Resources", {}), stack)
            walk(stack.template_dict.get("Outputs", {}), stack)
    return found


def _export_names(template: dict[str, Any], stack: Any, parameters: dict[str, Any]) -> set[str] | None:
    """The export names ``template`` declares, or None when they cannot be resolved before it runs. A name
    cannot depend on a resource (Template Reference, *Fn::ImportValue*: "the value of the Name property
    of an Export can't use Ref or GetAtt functions that depend on a resource"), so it resolves from the
    template's parameters, mappings and conditions alone, before any resource changes."""
    from moto.cloudformation.parsing import ResourceMap, clean_json

    names = set()
    try:
        names_only = ResourceMap(
            stack.stack_id,
            stack.name,
            parameters,
            stack.tags,
            region_name=stack.region_name,
            account_id=stack.account_id,
            template=template,
            cross_stack_resources=stack.cross_stack_resources,
        )
        names_only.load()
        for output in (template.get("Outputs") or {}).values():
            if not isinstance(output, dict) or "Export" not in output:
                continue
            if "Condition" in output and not names_only.lazy_condition_map[output["Condition"]]:
                continue
            names.add(str(clean_json(output["Export"].get("Name"), names_only)))
    except Exception:  # what fails here fails the execution too; the exports are checked after it then
        return None
    return names


def _refused_exports(backend: Any, stack: Any, wanted: set[str] | dict[str, Any], before: dict[str, str]) -> str | None:
    """Why CloudFormation refuses ``stack``'s exports (``before``: name → value) becoming ``wanted``
    (names, or name → value once known), or None (Template Reference, *Fn::ImportValue*)."""
    for name in sorted(wanted):
        owner = backend.exports.get(name)
        if owner is not None and owner.exporting_stack_id != stack.stack_id:
            exporter = next((s.name for s in backend.stacks.values() if s.stack_id == owner.exporting_stack_id), "")
            return f"Export with name {name} is already exported by stack {exporter or owner.exporting_stack_id}"
    imported = _imported_by(backend, stack.stack_id)
    for name in sorted(set(before) & set(imported)):
        if name not in wanted:
            return f"Export {name} cannot be deleted as it is in use by {', '.join(imported[name])}"
        if isinstance(wanted, dict) and str(wanted[name]) != before[name]:
            return f"Export {name} cannot be updated as it is in use by {', '.join(imported[name])}"
    return None


def _register_exports(backend: Any, stack: Any, before: dict[str, str]) -> str | None:
    """The Region's exports from ``stack`` are its outputs' now; or why not, checked after the template ran."""
    now = {export.name: export for export in stack.exports}
    refused = _refused_exports(backend, stack, {n: e.value for n, e in now.items()}, before)
    if refused is not None:
        return refused
    for name in set(before) - set(now):
        backend.exports.pop(name, None)
    backend.exports.update(now)
    return None


#: ``DeletionPolicy`` values under which a stack deletion keeps the resource (CloudFormation User
#: Guide, "DeletionPolicy attribute": ``Retain`` keeps it; ``RetainExceptOnCreate`` "behaves like
#: Retain for stack operations, except for the stack operation that initially created the resource").
#: ``UpdateReplacePolicy`` applies only when an update replaces a resource, never on stack deletion
#: (User Guide, "UpdateReplacePolicy attribute").
KEPT_ON_DELETE = ("Retain", "RetainExceptOnCreate")

_SUB_NAME = re.compile(r"\$\{([^}!.]+)(?:\.[^}]*)?\}")


def dependencies(resources: dict[str, Any]) -> dict[str, set[str]]:
    """Each resource's dependencies, as CloudFormation derives them (User Guide, "DependsOn
    attribute": a resource that names another in ``Ref`` or ``Fn::GetAtt`` depends on it implicitly;
    ``Fn::Sub`` resolves ``${Name}`` and ``${Name.Attribute}`` as ``Ref`` and ``Fn::GetAtt``)."""

    def named(value: Any, out: set[str]) -> None:
        if isinstance(value, list):
            for item in value:
                named(item, out)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key == "Ref" and isinstance(item, str):
                    out.add(item)
                elif key == "Fn::GetAtt":
                    out.add(item.split(".")[0] if isinstance(item, str) else str(item[0]))
                elif key == "Fn::Sub":
                    text, variables = (item, {}) if isinstance(item, str) else (item[0], item[1])
                    out.update(set(_SUB_NAME.findall(text)) - set(variables))
                    named(variables, out)
                else:
                    named(item, out)

    found: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        names: set[str] = set()
        named(resource.get("Properties", {}), names)
        depends_on = resource.get("DependsOn", [])
        names.update([depends_on] if isinstance(depends_on, str) else depends_on)
        found[logical_id] = {n for n in names if n in resources and n != logical_id}
    return found


class _NotDeletable(Exception):
    """moto has no delete for this resource type."""


def _delete_resource(resource: Any, resource_json: dict[str, Any], account_id: str, region_name: str) -> None:
    """Delete one resource as moto's model does, or fail when moto has no delete for its type (moto
    skipped those silently, so a stack reported deleted kept them)."""
    delete = getattr(resource, "delete", None)
    if callable(delete) and len(inspect.signature(delete).parameters) == 2:
        delete(account_id, region_name)
        return
    delete_json = type(resource).delete_from_cloudformation_json
    if getattr(delete_json, "__isabstractmethod__", False):
        raise _NotDeletable(
            f"the emulator cannot delete {resource_json['Type']} (moto has no delete for it); "
            "delete it by hand, then retry deleting the stack"
        )
    delete_json(resource.physical_resource_id, resource_json, account_id, region_name)


def _reason(error: Exception) -> str:
    return str(getattr(error, "message", None) or error)


def _install_stack_deletion() -> None:
    """DeleteStack as CloudFormation runs it (User Guide, "Delete a stack" and "Troubleshooting
    CloudFormation: Delete stack fails"):

    * a resource is deleted only after every resource that depends on it (:func:`dependencies`);
    * resources with a :data:`KEPT_ON_DELETE` policy are kept (event ``DELETE_SKIPPED``);
    * when a resource fails to delete, the resources it depends on stay, the others are still
      deleted, and the stack becomes ``DELETE_FAILED`` with the reason "The following resource(s)
      failed to delete: [...]"; it stays listed, and another DeleteStack retries what is left;
    * ``RetainResources`` (botocore's model: "For stacks in the ``DELETE_FAILED`` state, a list of
      resource logical IDs [...] you want to retain") keeps those too, and only for such a stack;
    * DeleteStack of a stack that does not exist (or is deleted) succeeds and does nothing.
    """
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import Event
    from moto.core.responses import EmptyResult

    def event(stack: Any, logical_id: str, resource: Any, resource_type: str, status: str, reason: str = "") -> None:
        stack.events.append(
            Event(
                stack_id=stack.stack_id,
                stack_name=stack.name,
                logical_resource_id=logical_id,
                physical_resource_id=getattr(resource, "physical_resource_id", "") or "",
                resource_type=resource_type,
                resource_status=status,
                resource_status_reason=reason or None,
                resource_properties=None,
            )
        )

    def delete_resources(stack: Any, retain: set[str]) -> list[str]:
        resource_map = stack.resource_map
        template: dict[str, Any] = resource_map._resource_json_map
        needs = dependencies(template)
        waiting, failed, kept = set(template), set[str](), set[str]()
        while ready := sorted(
            r for r in waiting - failed if not any(r in needs[other] for other in waiting if other != r)
        ):
            for logical_id in ready:
                resource_json = template[logical_id]
                resource = resource_map._parsed_resources.get(logical_id)
                if resource_json.get("DeletionPolicy") in KEPT_ON_DELETE or logical_id in retain:
                    event(stack, logical_id, resource, resource_json["Type"], "DELETE_SKIPPED")
                    waiting.discard(logical_id)
                    kept.add(logical_id)
                    continue
                if resource is None or isinstance(resource, str):  # a type moto skips: nothing was created
                    waiting.discard(logical_id)
                    continue
                event(stack, logical_id, resource, resource_json["Type"], "DELETE_IN_PROGRESS")
                try:
                    _delete_resource(resource, resource_json, stack.account_id, stack.region_name)
                except Exception as error:  # any failure is the resource's DELETE_FAILED reason
                    event(stack, logical_id, resource, resource_json["Type"], "DELETE_FAILED", _reason(error))
                    failed.add(logical_id)
                    continue
                event(stack, logical_id, resource, resource_json["Type"], "DELETE_COMPLETE")
                waiting.discard(logical_id)
        # What is left is what the stack still holds: a retry starts from it. The deleted stay parsed,
        # so that outputs naming them still resolve (moto would otherwise create them again).
        resource_map._resource_json_map = {k: v for k, v in template.items() if k in waiting | kept}
        return sorted(failed)

    def delete(self: Any, retain_resources: list[str] | None = None) -> None:
        self.status = "DELETE_IN_PROGRESS"
        self.status_reason = "User Initiated"
        self._add_stack_event("DELETE_IN_PROGRESS", resource_status_reason="User Initiated")
        failed = delete_resources(self, set(retain_resources or ()))
        if failed:
            self.status = "DELETE_FAILED"
            self.status_reason = f"The following resource(s) failed to delete: [{', '.join(failed)}]. "
        else:
            self.status, self.status_reason = "DELETE_COMPLETE", None
        self._add_stack_event(self.status, resource_status_reason=self.status_reason)

    def delete_stack(self: Any, name_or_stack_id: str, retain_resources: list[str] | None = None) -> None:
        stack = next((s for s in self.stacks.values() if name_or_stack_id in (s.stack_id, s.name)), None)
        if stack is None:
            return
        if retain_resources and stack.status != "DELETE_FAILED":
            raise ValidationError(
                message=f"Stack [{stack.name}] is {stack.status}: RetainResources applies to a DELETE_FAILED stack only"
            )
        unknown = sorted(set(retain_resources or ()) - set(stack.resource_map._resource_json_map))
        if unknown:
            raise ValidationError(message=f"RetainResources names resources the stack does not hold: {unknown}")
        exports = [export.name for export in stack.exports]
        imported = _imported_by(self, stack.stack_id)
        in_use = [name for name in exports if name in imported]
        if in_use:  # Template Reference, Fn::ImportValue: an exporting stack cannot be deleted while imported
            stack.status = "DELETE_FAILED"
            stack.status_reason = (
                f"Export {in_use[0]} cannot be deleted as it is in use by {', '.join(imported[in_use[0]])}"
            )
            stack._add_stack_event("DELETE_FAILED", resource_status_reason=stack.status_reason)
            return
        stack.delete(retain_resources)
        if stack.status == "DELETE_COMPLETE":
            del self.stacks[stack.stack_id]
            self.deleted_stacks[stack.stack_id] = stack
            for name in exports:
                self.exports.pop(name, None)

    why = "CloudFormation deletes in reverse dependency order, keeps Retain resources, and fails as DELETE_FAILED"
    patches.replace("moto.cloudformation.models:Stack", "delete", delete, why=why)
    patches.replace("moto.cloudformation.models:CloudFormationBackend", "delete_stack", delete_stack, why=why)

    def delete_stack_response(self: Any) -> Any:
        self.cloudformation_backend.delete_stack(
            self._get_param("StackName"), retain_resources=self._get_param("RetainResources", [])
        )
        return EmptyResult()

    patches.replace(
        "moto.cloudformation.responses:CloudFormationResponse",
        "delete_stack",
        delete_stack_response,
        why="DeleteStack's RetainResources (moto ignored it)",
    )
    patches.apply()


def generated_name_limits() -> dict[str, int]:
    """The longest name CloudFormation generates for each type (``data/cfn_name_limits.json``)."""
    text = resources.files("sm_constructs.data").joinpath("cfn_name_limits.json").read_text(encoding="utf-8")
    return {kind: int(limit["maxLength"]) for kind, limit in json.loads(text)["types"].items()}


def fit_generated_name(name: str, limit: int | None) -> str:
    """``<stack>-<logical id>-<suffix>`` cut to ``limit`` characters in its middle, the unique suffix kept."""
    if limit is None or len(name) <= limit:
        return name
    head, _, suffix = name.rpartition("-")
    return f"{head[: limit - len(suffix) - 1].rstrip('-')}-{suffix}"


def _install_generated_names() -> None:
    limits = generated_name_limits()

    @patches.wrap(
        "moto.cloudformation.parsing",
        "generate_resource_name",
        why="a name CloudFormation generates fits its type (moto's can pass the type's maxLength: a 68-character "
        "AWS::Events::Rule name the Events API then refuses)",
    )
    def generate_resource_name(original: Any, resource_type: str, stack_name: str, logical_id: str) -> str:
        return fit_generated_name(original(resource_type, stack_name, logical_id), limits.get(resource_type))


class NotCreated:
    """A stack's resource of a type moto cannot create, as ``DescribeStackResources`` and ``ListStackResources``
    list it: its logical ID and type (required members of ``StackResource`` and ``StackResourceSummary`` in
    botocore's CloudFormation model), no physical ID (optional there), and a reason."""

    def __init__(self, logical_id: str, resource_type: str) -> None:
        self.logical_resource_id = logical_id
        self.cf_resource_type = resource_type
        self.physical_resource_id = None
        self.status_reason = self.reason(resource_type)

    @staticmethod
    def reason(resource_type: str) -> str:
        return f"not created by the emulator: moto has no {resource_type}"


def _listed(stack: Any, logical_id: str | None = None) -> list[Any]:
    """The stack's resources in template order, a :class:`NotCreated` for each that moto could not create."""
    resource_map = stack.resource_map
    found = []
    for name in list(resource_map.resources):
        if logical_id is not None and name != logical_id:
            continue
        resource = resource_map._parsed_resources.get(name)
        if resource is None:
            resource = NotCreated(name, str(resource_map._resource_json_map[name].get("Type", "")))
        found.append(resource)
    return found


def _install_resource_listings() -> None:
    from moto.cloudformation.exceptions import ValidationError

    # moto's three listings look the stack up and read ``stack.stack_resources``, which leaves out what moto
    # could not create (and its searches by logical ID fail on such a stack); these list from the template
    backend = "moto.cloudformation.models:CloudFormationBackend"

    def describe_stack_resources(self: Any, stack_name: str, logical_resource_id: str | None) -> Any:
        stack = self.get_stack(stack_name)
        return stack, _listed(stack, logical_resource_id)

    def describe_stack_resource(self: Any, stack_name: str, logical_resource_id: str) -> Any:
        stack = self.get_stack(stack_name)
        found = _listed(stack, logical_resource_id)
        if not found:  # moto's own words
            raise ValidationError(stack_name, f"Resource {logical_resource_id} does not exist for stack {stack_name}")
        return stack, found[0]

    def list_stack_resources(self: Any, stack_name_or_id: str) -> Any:
        stack = self.get_stack(stack_name_or_id)
        return stack, _listed(stack)

    patches.replace(
        backend,
        "describe_stack_resources",
        describe_stack_resources,
        why="DescribeStackResources lists every resource with its logical ID and type, also one of a type moto "
        "cannot create (moto listed an entry without them, and found none by its logical ID)",
    )
    patches.replace(
        backend,
        "describe_stack_resource",
        describe_stack_resource,
        why="DescribeStackResource finds a resource by logical ID also beside one of a type moto cannot create "
        "(moto's search failed with an internal error on any stack that has one)",
    )
    patches.replace(
        backend,
        "list_stack_resources",
        list_stack_resources,
        why="ListStackResources lists every resource with its logical ID and type, also one of a type moto "
        "cannot create",
    )

    @patches.wrap(
        "moto.cloudformation.responses:CloudFormationResponse",
        "list_stack_resources",
        why="a resource the emulator did not create says so in ResourceStatusReason and has no physical ID",
    )
    def list_response(original: Any, self: Any) -> Any:
        from moto.core.responses import ActionResult

        result = original(self).result
        for summary in result["StackResourceSummaries"]:
            if summary.get("PhysicalResourceId") is None:
                summary.pop("PhysicalResourceId", None)
                summary["ResourceStatusReason"] = NotCreated.reason(summary["ResourceType"])
        return ActionResult(result)

    @patches.wrap(
        "moto.cloudformation.responses:StackResourceDTO",
        "__init__",
        why="a resource the emulator did not create says so in ResourceStatusReason",
    )
    def dto_init(original: Any, self: Any, stack: Any, resource: Any) -> None:
        original(self, stack, resource)
        self.resource_status_reason = getattr(resource, "status_reason", None)


def install() -> None:
    from moto.cloudformation.exceptions import CloudFormationError

    _install_generated_names()
    _install_resource_listings()
    _install_previous_values()
    _install_iam_resources()
    _install_stack_deletion()
    _install_resource_failures()
    _install_state_machine_definitions()
    _install_json_templates()

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
        change_set = self.change_sets[found]
        stack = change_set.stack
        stack_id = stack.stack_id
        creating = change_set.change_set_type == "CREATE"
        # Fn::ImportValue reads the Region's exports (moto gives a change set's new stack none)
        stack.cross_stack_resources = stack.resource_map.cross_stack_resources = self.exports
        exported = {export.name: str(export.value) for export in stack.exports}
        wanted = _export_names(change_set.template_dict, stack, change_set.parameters)
        refused = None if wanted is None else _refused_exports(self, stack, wanted, exported)
        if refused is not None:  # refused before any resource changes: the stack is as it was
            change_set.execution_status = "EXECUTE_FAILED"
            outcome = "ROLLBACK" if creating else "UPDATE_ROLLBACK"
            stack._add_stack_event(f"{outcome}_IN_PROGRESS", resource_status_reason=refused)
            stack.status, stack.status_reason = f"{outcome}_COMPLETE", refused
            stack._add_stack_event(stack.status)
        else:
            try:
                original_execute(self, found, stack_name)
            except ResourceFailed as error:
                change_set.execution_status = "EXECUTE_FAILED"
                _fail_stack(self.stacks[stack_id], error, creating=creating)
            else:
                # the stack's outputs and template are the executed template's (moto keeps those it was created with)
                stack._parse_template()
                stack.output_map = stack._create_output_map()
                in_use = _register_exports(self, stack, exported)
                if in_use is not None:
                    stack.status = "CREATE_FAILED" if creating else "UPDATE_FAILED"
                    stack.status_reason = f"{in_use}. The emulator does not roll this back."
                    stack._add_stack_event(stack.status, resource_status_reason=stack.status_reason)
        for change_set_id in [i for i, c in self.change_sets.items() if c.stack.stack_id == stack_id]:
            del self.change_sets[change_set_id]

    why = "an unknown change set is ChangeSetNotFound (moto: a missing stack)"
    patches.replace(backend_class, "describe_change_set", describe_change_set, why=why)
    why = "deleting an unknown change set succeeds (moto: an internal error)"
    patches.replace(backend_class, "delete_change_set", delete_change_set, why=why)
    patches.apply()
