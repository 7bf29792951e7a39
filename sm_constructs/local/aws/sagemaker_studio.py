"""SageMaker Studio user profiles, spaces and lifecycle configurations in the emulator (moto has
none of them), and their CloudFormation types.

``CreateUserProfile``, ``DescribeUserProfile``, ``ListUserProfiles``, ``UpdateUserProfile`` and
``DeleteUserProfile``, the same five for spaces, and ``Create``/``Describe``/``List``/
``DeleteStudioLifecycleConfig`` take and give the members of botocore's SageMaker model and fail
with its errors:

* every request is checked against the operation's input shape in botocore's model (required
  members, lengths, patterns, enums: :func:`sm_constructs._validation.check_request`), a failure is
  a ``ValidationException`` naming the member, the value and the rule;
* the domain must exist, a profile's ``UserSettings.ExecutionRole`` must be an IAM role of the
  account that SageMaker may assume (its trust policy allows ``sagemaker.amazonaws.com``), a space's
  owner must be a user profile of the domain, and every lifecycle configuration a domain, profile or
  space names must exist (``ValidationException``: the model lists no ``ResourceNotFound`` for the
  create calls);
* a name is unique in its domain (lifecycle configurations: in the account; ``ResourceInUse``);
  describe, update and delete of an unknown one fail with ``ResourceNotFound``, update and delete of
  one being deleted with ``ResourceInUse`` (the errors botocore's model lists for each operation);
* a created profile or space is ``InService``; a deleted one is ``Deleting`` for
  :data:`DELETING_SECONDS`, then gone (``UserProfileStatus``/``SpaceStatus`` enums of the model);
* ``DeleteDomain`` of a domain that still has user profiles or spaces fails with ``ResourceInUse``
  ("you must delete all apps, spaces and user profiles before you can delete the domain",
  SageMaker Developer Guide, "Delete an Amazon SageMaker AI domain"), so does deleting a profile that
  owns a space, and a lifecycle configuration a domain, profile or space names (botocore's
  ``DeleteStudioLifecycleConfig`` docs).

``AWS::SageMaker::UserProfile``, ``AWS::SageMaker::Space`` and ``AWS::SageMaker::StudioLifecycleConfig``
are CloudFormation types of the emulator (moto skips all three yet reported them created). Their
``createOnlyProperties``, primary identifiers and attributes are those of CloudFormation's resource
schemas (the registry schemas ``aws-sagemaker-userprofile.json``, ``aws-sagemaker-space.json`` and
``aws-sagemaker-studiolifecycleconfig.json``, which cfn-lint ships; a test keeps :data:`CREATE_ONLY`
equal to them): a change of a create-only property replaces the resource, which CloudFormation
refuses for a custom-named one whose identifier stays the same ("CloudFormation cannot update a
stack when a custom-named resource requires replacing", AWS CloudFormation User Guide, *Name type*).
``Ref`` is the primary identifier, joined with ``|`` for two (domain ID first, as the
``AWS::SageMaker::UserProfile`` reference page gives it); a stack delete waits until the profile or
space is gone, as CloudFormation's handler does; a replaced lifecycle configuration is deleted once
nothing names it (CloudFormation's cleanup phase, after the domain that named it was updated).

**Not here:** Studio apps (``CreateApp``): no Studio UI, home file system or lifecycle script runs.
"""

from __future__ import annotations

import datetime
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._sagemaker_requests import page, request_time
from . import request_constraints

__all__ = ["CREATE_ONLY", "DELETING_SECONDS", "install"]

#: How long a deleted profile or space stays ``Deleting`` before it is gone.
DELETING_SECONDS = 1.0

#: createOnlyProperties of CloudFormation's resource schemas (paths below ``/properties``).
CREATE_ONLY: dict[str, tuple[str, ...]] = {
    "AWS::SageMaker::UserProfile": (
        "DomainId",
        "UserProfileName",
        "UserSettings/RStudioServerProAppSettings/AccessStatus",
        "SingleSignOnUserIdentifier",
        "SingleSignOnUserValue",
        "UserSettings/RStudioServerProAppSettings/UserGroup",
    ),
    "AWS::SageMaker::Space": ("DomainId", "SpaceName", "SpaceSharingSettings", "OwnershipSettings"),
    "AWS::SageMaker::StudioLifecycleConfig": (
        "StudioLifecycleConfigAppType",
        "StudioLifecycleConfigContent",
        "StudioLifecycleConfigName",
        "Tags",
    ),
}
_SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"


@dataclass(frozen=True)
class _Kind:
    """What tells user profiles and spaces apart: their API names, members and ARN resource type."""

    noun: str  # UserProfile | Space
    what: str  # "user profile" | "space"
    arn_type: str  # the ARN's resource type (Service Authorization Reference, SageMaker resource types)
    cfn_type: str
    updatable: tuple[str, ...]  # members of Update<noun> besides DomainId and the name

    @property
    def name_member(self) -> str:
        return f"{self.noun}Name"

    @property
    def arn_member(self) -> str:
        return f"{self.noun}Arn"


PROFILE = _Kind("UserProfile", "user profile", "user-profile", "AWS::SageMaker::UserProfile", ("UserSettings",))
SPACE = _Kind("Space", "space", "space", "AWS::SageMaker::Space", ("SpaceSettings", "SpaceDisplayName"))


@dataclass
class _Record:
    request: dict[str, Any]
    arn: str
    created: datetime.datetime
    modified: datetime.datetime
    status: str = "InService"
    deleted_at: float | None = None
    tags: list[dict[str, str]] = field(default_factory=list)


class _Studio:
    """The profiles and spaces of one account and region (``{(kind noun, domain ID, name): record}``)
    and its lifecycle configurations."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str, str], _Record] = {}
        self.lifecycle_configs: dict[str, _Record] = {}  # by name
        self.retired: set[str] = set()  # lifecycle configurations CloudFormation replaced, deleted once unused
        self.lock = threading.RLock()

    def sweep(self) -> None:
        """Forget what finished deleting."""
        now = time.monotonic()
        for key in [k for k, r in self.records.items() if r.deleted_at is not None and r.deleted_at <= now]:
            del self.records[key]

    def in_domain(self, domain_id: str) -> list[tuple[str, str, str]]:
        self.sweep()
        return sorted(k for k in self.records if k[1] == domain_id)


def _studio(backend: Any) -> _Studio:
    # on the backend, so that resetting moto's backends forgets these too
    studio: _Studio | None = getattr(backend, "_sm_local_studio", None)
    if studio is None:
        studio = backend._sm_local_studio = _Studio()
    return studio


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _validation_error(message: str) -> Exception:
    from moto.sagemaker.exceptions import ValidationError

    return ValidationError(message=message)


def _check_request(operation: str, request: dict[str, Any]) -> None:
    """``request`` against ``operation``'s input shape in botocore's model; ``ValidationException`` if it breaks it
    (:mod:`.request_constraints`: also for a call that does not come through the API, from CloudFormation)."""
    refused = request_constraints.message("sagemaker", operation, {k: v for k, v in request.items() if v is not None})
    if refused is not None:
        raise _validation_error(refused)


def _trusts_sagemaker(document: Any) -> bool:
    statements = (json.loads(document) if isinstance(document, str) else document or {}).get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", [])
        services = (statement.get("Principal") or {}).get("Service", [])
        if (
            statement.get("Effect") == "Allow"
            and "sts:AssumeRole" in ([actions] if isinstance(actions, str) else actions)
            and _SAGEMAKER_PRINCIPAL in ([services] if isinstance(services, str) else services)
        ):
            return True
    return False


def _check_role(account_id: str, role_arn: str | None) -> None:
    """An execution role must exist in the account and trust SageMaker (SageMaker assumes it for the user's apps)."""
    if role_arn is None:
        return
    from moto.iam.models import iam_backends

    name = role_arn.rsplit("/", 1)[-1]
    role = next((r for r in iam_backends[account_id]["global"].roles.values() if r.arn == role_arn), None)
    if role is None:
        raise _validation_error(f"The execution role {role_arn} does not exist (no IAM role named {name}).")
    if not _trusts_sagemaker(role.assume_role_policy_document):
        raise _validation_error(
            f"The execution role {role_arn} cannot be assumed by SageMaker: its trust policy does not allow "
            f"sts:AssumeRole to the service principal {_SAGEMAKER_PRINCIPAL}."
        )


class _Service:
    """The five calls of one kind against a SageMaker backend."""

    def __init__(self, kind: _Kind) -> None:
        self.kind = kind

    def key(self, domain_id: str, name: str) -> tuple[str, str, str]:
        return (self.kind.noun, domain_id, name)

    def arn(self, backend: Any, domain_id: str, name: str) -> str:
        head = f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}"
        return f"{head}:{self.kind.arn_type}/{domain_id}/{name}"

    def _domain(self, backend: Any, domain_id: str) -> Any:
        domain = backend.domains.get(domain_id)
        if domain is None:
            raise _validation_error(f"Domain {domain_id} does not exist.")
        return domain

    def _require(self, backend: Any, domain_id: str, name: str, *, changing: bool) -> _Record:
        studio = _studio(backend)
        studio.sweep()
        record = studio.records.get(self.key(domain_id, name))
        if record is None:
            arn = self.arn(backend, domain_id, name)
            raise _not_found(f"{self.kind.what.capitalize()} {arn} does not exist.")
        if changing and record.status == "Deleting":
            raise _in_use(f"{self.kind.what.capitalize()} {record.arn} is being deleted.")
        return record

    def _check_references(self, backend: Any, request: dict[str, Any]) -> None:
        domain_id = request["DomainId"]
        self._domain(backend, domain_id)
        if self.kind is PROFILE:
            _check_role(backend.account_id, (request.get("UserSettings") or {}).get("ExecutionRole"))
        _check_lifecycle_configs(backend, request)
        owner = (request.get("OwnershipSettings") or {}).get("OwnerUserProfileName")
        if owner is not None:
            record = _studio(backend).records.get((PROFILE.noun, domain_id, owner))
            if record is None or record.status == "Deleting":
                raise _validation_error(f"The owner {owner} is not a user profile of domain {domain_id}.")

    def create(self, backend: Any, request: dict[str, Any]) -> str:
        _check_request(f"Create{self.kind.noun}", request)
        studio = _studio(backend)
        with studio.lock:
            self._check_references(backend, request)
            domain_id, name = request["DomainId"], request[self.kind.name_member]
            studio.sweep()
            arn = self.arn(backend, domain_id, name)
            if self.key(domain_id, name) in studio.records:
                raise _in_use(f"{self.kind.what.capitalize()} {arn} already exists.")
            stored = {k: v for k, v in request.items() if v is not None and k != "Tags"}
            studio.records[self.key(domain_id, name)] = _Record(
                stored, arn, _now(), _now(), tags=list(request.get("Tags") or [])
            )
            return arn

    def describe(self, backend: Any, domain_id: str, name: str) -> dict[str, Any]:
        _check_request(f"Describe{self.kind.noun}", {"DomainId": domain_id, self.kind.name_member: name})
        with _studio(backend).lock:
            record = self._require(backend, domain_id, name, changing=False)
            return {
                **record.request,
                self.kind.arn_member: record.arn,
                "Status": record.status,
                "CreationTime": record.created,
                "LastModifiedTime": record.modified,
            }

    def update(self, backend: Any, request: dict[str, Any]) -> str:
        _check_request(f"Update{self.kind.noun}", request)
        with _studio(backend).lock:
            record = self._require(backend, request["DomainId"], request[self.kind.name_member], changing=True)
            if self.kind is PROFILE:
                _check_role(backend.account_id, (request.get("UserSettings") or {}).get("ExecutionRole"))
            _check_lifecycle_configs(backend, request)
            for member in self.kind.updatable:
                value = request.get(member)
                if isinstance(value, dict):  # settings given replace those settings, others are kept
                    record.request[member] = {**(record.request.get(member) or {}), **value}
                elif value is not None:
                    record.request[member] = value
            record.modified = _now()
            return record.arn

    def delete(self, backend: Any, domain_id: str, name: str, *, wait: bool = False) -> None:
        _check_request(f"Delete{self.kind.noun}", {"DomainId": domain_id, self.kind.name_member: name})
        studio = _studio(backend)
        with studio.lock:
            record = self._require(backend, domain_id, name, changing=True)
            if self.kind is PROFILE:
                owned = [
                    k[2]
                    for k, r in studio.records.items()
                    if k[:2] == ("Space", domain_id)
                    and (r.request.get("OwnershipSettings") or {}).get("OwnerUserProfileName") == name
                ]
                if owned:
                    raise _in_use(f"User profile {record.arn} owns the spaces {', '.join(owned)}; delete them first.")
            record.status, record.modified = "Deleting", _now()
            record.deleted_at = time.monotonic() + (0 if wait else DELETING_SECONDS)
            studio.sweep()

    def listed(self, backend: Any, params: dict[str, Any]) -> dict[str, Any]:
        operation = "ListUserProfiles" if self.kind is PROFILE else "ListSpaces"
        _check_request(operation, params)
        studio = _studio(backend)
        with studio.lock:
            studio.sweep()
            contains = params.get(f"{self.kind.name_member}Contains")
            found = [
                r
                for (noun, domain_id, name), r in studio.records.items()
                if noun == self.kind.noun
                and params.get("DomainIdEquals") in (None, domain_id)
                and (contains is None or contains in name)
            ]
            by = "created" if params.get("SortBy", "CreationTime") == "CreationTime" else "modified"
            # defaults per botocore's model docs: CreationTime, Ascending, 10 per page
            found.sort(key=lambda r: getattr(r, by), reverse=params.get("SortOrder") == "Descending")
            shown, more = page(found, params)
            summaries = [self.summary(r) for r in shown]
        key = "UserProfiles" if self.kind is PROFILE else "Spaces"
        return {key: summaries, **more}

    def summary(self, record: _Record) -> dict[str, Any]:
        request = record.request
        out = {
            "DomainId": request["DomainId"],
            self.kind.name_member: request[self.kind.name_member],
            "Status": record.status,
            "CreationTime": record.created,
            "LastModifiedTime": record.modified,
        }
        if self.kind is SPACE:
            settings = request.get("SpaceSettings") or {}
            sharing = request.get("SpaceSharingSettings") or {}
            owner = request.get("OwnershipSettings") or {}
            out["SpaceSettingsSummary"] = {k: settings[k] for k in ("AppType",) if k in settings}
            out["SpaceSharingSettingsSummary"] = dict(sharing)
            out["OwnershipSettingsSummary"] = dict(owner)
            if "SpaceDisplayName" in request:
                out["SpaceDisplayName"] = request["SpaceDisplayName"]
        return out


def _not_found(message: str) -> Exception:
    from moto.sagemaker.exceptions import ResourceNotFound

    return ResourceNotFound(message)


def _in_use(message: str) -> Exception:
    from moto.sagemaker.exceptions import ResourceInUseException

    return ResourceInUseException(message=message)


SERVICES = {kind.noun: _Service(kind) for kind in (PROFILE, SPACE)}


# ---- Studio lifecycle configurations -------------------------------------------------------------
def _lifecycle_arns(settings: Any) -> set[str]:
    """The lifecycle configurations a request's settings name: every ``LifecycleConfigArns`` and
    ``DefaultResourceSpec.LifecycleConfigArn`` (botocore's model; built-in ones are SageMaker's own)."""
    found: set[str] = set()
    if isinstance(settings, dict):
        for key, value in settings.items():
            if key == "LifecycleConfigArns" and isinstance(value, list):
                found.update(str(arn) for arn in value)
            elif key == "LifecycleConfigArn" and isinstance(value, str):
                found.add(value)
            else:
                found |= _lifecycle_arns(value)
    elif isinstance(settings, list):
        for item in settings:
            found |= _lifecycle_arns(item)
    return found


def _lifecycle_arn(backend: Any, name: str) -> str:
    return f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:studio-lifecycle-config/{name}"


def _check_lifecycle_configs(backend: Any, settings: Any) -> None:
    """Every lifecycle configuration ``settings`` name must exist in the account and region."""
    known = {r.arn.lower() for r in _studio(backend).lifecycle_configs.values()}
    missing = sorted(arn for arn in _lifecycle_arns(settings) if arn.lower() not in known)
    if missing:
        raise _validation_error(f"Studio lifecycle configuration {', '.join(missing)} does not exist.")


def _lifecycle_users(backend: Any, arn: str) -> list[str]:
    """What names lifecycle configuration ``arn`` in its settings: domains, user profiles, spaces."""
    users = [
        f"domain {domain_id}"
        for domain_id, domain in backend.domains.items()
        if arn.lower()
        in {a.lower() for a in _lifecycle_arns([domain.default_user_settings, domain.default_space_settings])}
    ]
    studio = _studio(backend)
    studio.sweep()
    for (noun, domain_id, name), record in sorted(studio.records.items()):
        if arn.lower() in {a.lower() for a in _lifecycle_arns(record.request)}:
            users.append(f"{'user profile' if noun == PROFILE.noun else 'space'} {name} of domain {domain_id}")
    return users


def _collect_retired(backend: Any) -> None:
    """Delete the replaced lifecycle configurations nothing names any more (CloudFormation deletes a
    replaced resource in its cleanup phase, after the resources that name it were updated)."""
    studio = _studio(backend)
    with studio.lock:
        for name in sorted(studio.retired):
            record = studio.lifecycle_configs.get(name)
            if record is None or not _lifecycle_users(backend, record.arn):
                studio.lifecycle_configs.pop(name, None)
                studio.retired.discard(name)


class _LifecycleConfigs:
    """Create, describe, list and delete Studio lifecycle configurations (SageMaker has no update for them)."""

    def create(self, backend: Any, request: dict[str, Any]) -> str:
        _check_request("CreateStudioLifecycleConfig", request)
        _collect_retired(backend)
        studio = _studio(backend)
        name = request["StudioLifecycleConfigName"]
        with studio.lock:
            arn = _lifecycle_arn(backend, name)
            if name in studio.lifecycle_configs:
                raise _in_use(f"Studio lifecycle configuration {arn} already exists.")
            stored = {k: v for k, v in request.items() if k != "Tags"}
            studio.lifecycle_configs[name] = _Record(stored, arn, _now(), _now(), tags=list(request.get("Tags") or []))
            return arn

    def _require(self, backend: Any, name: str) -> _Record:
        record = _studio(backend).lifecycle_configs.get(name)
        if record is None:
            raise _not_found(f"Studio lifecycle configuration {_lifecycle_arn(backend, name)} does not exist.")
        return record

    def describe(self, backend: Any, name: str) -> dict[str, Any]:
        _check_request("DescribeStudioLifecycleConfig", {"StudioLifecycleConfigName": name})
        _collect_retired(backend)
        with _studio(backend).lock:
            record = self._require(backend, name)
            return {
                **record.request,
                "StudioLifecycleConfigArn": record.arn,
                "CreationTime": record.created,
                "LastModifiedTime": record.modified,
            }

    def delete(self, backend: Any, name: str) -> None:
        """Refused while a domain, user profile or space names it (botocore's ``DeleteStudioLifecycleConfig``
        docs: "You must also remove the Lifecycle Configuration from UserSettings in all Domains and UserProfiles")."""
        _check_request("DeleteStudioLifecycleConfig", {"StudioLifecycleConfigName": name})
        _collect_retired(backend)
        studio = _studio(backend)
        with studio.lock:
            record = self._require(backend, name)
            users = _lifecycle_users(backend, record.arn)
            if users:
                raise _in_use(f"Studio lifecycle configuration {record.arn} is used by {', '.join(users)}.")
            del studio.lifecycle_configs[name]

    def listed(self, backend: Any, params: dict[str, Any]) -> dict[str, Any]:
        _check_request("ListStudioLifecycleConfigs", params)
        _collect_retired(backend)
        studio = _studio(backend)
        bounds = {
            "CreationTimeBefore": ("created", lambda t, b: t < b),
            "CreationTimeAfter": ("created", lambda t, b: t > b),
            "ModifiedTimeBefore": ("modified", lambda t, b: t < b),
            "ModifiedTimeAfter": ("modified", lambda t, b: t > b),
        }
        with studio.lock:
            found = [
                r
                for name, r in studio.lifecycle_configs.items()
                if params.get("NameContains", "") in name
                and params.get("AppTypeEquals") in (None, r.request["StudioLifecycleConfigAppType"])
                and all(
                    test(getattr(r, attr), request_time(params, bound))
                    for bound, (attr, test) in bounds.items()
                    if bound in params
                )
            ]
            by = params.get("SortBy", "CreationTime")
            key = {"CreationTime": "created", "LastModifiedTime": "modified"}.get(by)
            found.sort(
                key=lambda r: getattr(r, key) if key else r.request["StudioLifecycleConfigName"],
                reverse=params.get("SortOrder", "Descending") == "Descending",  # the default here (model docs)
            )
            shown, more = page(found, params)
            details = [
                {
                    "StudioLifecycleConfigArn": r.arn,
                    "StudioLifecycleConfigName": r.request["StudioLifecycleConfigName"],
                    "CreationTime": r.created,
                    "LastModifiedTime": r.modified,
                    "StudioLifecycleConfigAppType": r.request["StudioLifecycleConfigAppType"],
                }
                for r in shown
            ]
        return {"StudioLifecycleConfigs": details, **more}


LIFECYCLE_CONFIGS = _LifecycleConfigs()


def _params(response: Any, operation: str) -> dict[str, Any]:
    """The members of ``operation``'s input shape (botocore's model) that the request gives."""
    from sm_constructs._validation import service_shapes

    model = service_shapes("sagemaker")
    shape = model["shapes"][model["operations"][operation]["input"]["shape"]]
    found = {member: response._get_param(member) for member in shape["members"]}
    return {k: v for k, v in found.items() if v is not None}


def _install_api() -> None:
    from moto.core.responses import ActionResult, EmptyResult

    from .. import patches

    why = "SageMaker Studio user profiles and spaces (moto has none)"
    for noun, service in SERVICES.items():
        snake = "user_profile" if noun == "UserProfile" else "space"

        def create(self: Any, request: dict[str, Any], _s: _Service = service) -> str:
            return _s.create(self, request)

        def describe(self: Any, domain_id: str, name: str, _s: _Service = service) -> dict[str, Any]:
            return _s.describe(self, domain_id, name)

        def update(self: Any, request: dict[str, Any], _s: _Service = service) -> str:
            return _s.update(self, request)

        def delete(self: Any, domain_id: str, name: str, _s: _Service = service) -> None:
            _s.delete(self, domain_id, name)

        def listed(self: Any, params: dict[str, Any], _s: _Service = service) -> dict[str, Any]:
            return _s.listed(self, params)

        def create_response(self: Any, _s: _Service = service, _snake: str = snake) -> Any:
            arn = getattr(self.sagemaker_backend, f"create_{_snake}")(_params(self, f"Create{_s.kind.noun}"))
            return ActionResult({_s.kind.arn_member: arn})

        def describe_response(self: Any, _s: _Service = service, _snake: str = snake) -> Any:
            found = getattr(self.sagemaker_backend, f"describe_{_snake}")(
                self._get_param("DomainId"), self._get_param(_s.kind.name_member)
            )
            return ActionResult(found)

        def update_response(self: Any, _s: _Service = service, _snake: str = snake) -> Any:
            arn = getattr(self.sagemaker_backend, f"update_{_snake}")(_params(self, f"Update{_s.kind.noun}"))
            return ActionResult({_s.kind.arn_member: arn})

        def delete_response(self: Any, _s: _Service = service, _snake: str = snake) -> Any:
            getattr(self.sagemaker_backend, f"delete_{_snake}")(
                self._get_param("DomainId"), self._get_param(_s.kind.name_member)
            )
            return EmptyResult()

        def list_response(self: Any, _snake: str = snake) -> Any:
            plural = "UserProfiles" if _snake == "user_profile" else "Spaces"
            method = getattr(
                self.sagemaker_backend, "list_user_profiles" if plural == "UserProfiles" else "list_spaces"
            )
            return ActionResult(method(_params(self, f"List{plural}")))

        plural = "user_profiles" if noun == "UserProfile" else "spaces"
        for name, backend_fn, response_fn in (
            (f"create_{snake}", create, create_response),
            (f"describe_{snake}", describe, describe_response),
            (f"update_{snake}", update, update_response),
            (f"delete_{snake}", delete, delete_response),
            (f"list_{plural}", listed, list_response),
        ):
            patches.add("moto.sagemaker.models:SageMakerModelBackend", name, backend_fn, why=why)
            patches.add("moto.sagemaker.responses:SageMakerResponse", name, response_fn, why=why)

    why = "SageMaker Studio lifecycle configurations (moto has none)"
    configs = LIFECYCLE_CONFIGS

    def create_config(self: Any, request: dict[str, Any]) -> str:
        return configs.create(self, request)

    def describe_config(self: Any, name: str) -> dict[str, Any]:
        return configs.describe(self, name)

    def delete_config(self: Any, name: str) -> None:
        configs.delete(self, name)

    def list_configs(self: Any, params: dict[str, Any]) -> dict[str, Any]:
        return configs.listed(self, params)

    def create_config_response(self: Any) -> Any:
        arn = self.sagemaker_backend.create_studio_lifecycle_config(_params(self, "CreateStudioLifecycleConfig"))
        return ActionResult({"StudioLifecycleConfigArn": arn})

    def describe_config_response(self: Any) -> Any:
        name = self._get_param("StudioLifecycleConfigName")
        return ActionResult(self.sagemaker_backend.describe_studio_lifecycle_config(name))

    def delete_config_response(self: Any) -> Any:
        self.sagemaker_backend.delete_studio_lifecycle_config(self._get_param("StudioLifecycleConfigName"))
        return EmptyResult()

    def list_configs_response(self: Any) -> Any:
        params = _params(self, "ListStudioLifecycleConfigs")
        return ActionResult(self.sagemaker_backend.list_studio_lifecycle_configs(params))

    config_calls: list[tuple[str, Callable[..., Any], Callable[..., Any]]] = [
        ("create_studio_lifecycle_config", create_config, create_config_response),
        ("describe_studio_lifecycle_config", describe_config, describe_config_response),
        ("delete_studio_lifecycle_config", delete_config, delete_config_response),
        ("list_studio_lifecycle_configs", list_configs, list_configs_response),
    ]
    for call, model_fn, answer_fn in config_calls:
        patches.add("moto.sagemaker.models:SageMakerModelBackend", call, model_fn, why=why)
        patches.add("moto.sagemaker.responses:SageMakerResponse", call, answer_fn, why=why)

    @patches.wrap(
        "moto.sagemaker.models:SageMakerModelBackend",
        "create_domain",
        why="CreateDomain checks that the Studio lifecycle configurations its default settings name exist",
    )
    def create_domain(original: Any, self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        names = ("default_user_settings", "default_space_settings")
        _check_lifecycle_configs(self, [kwargs.get(n) for n in names])
        result: dict[str, Any] = original(self, *args, **kwargs)
        return result

    @patches.wrap(
        "moto.sagemaker.models:SageMakerModelBackend",
        "delete_domain",
        why="DeleteDomain refuses a domain that still has user profiles or spaces, and names an unknown one "
        "ResourceNotFound (botocore's model), as SageMaker does",
    )
    def delete_domain(original: Any, self: Any, domain_id: str, retention_policy: Any) -> None:
        if domain_id not in self.domains:
            raise _not_found(f"Domain {domain_id} does not exist.")
        studio = _studio(self)
        with studio.lock:
            left = studio.in_domain(domain_id)
            if left:
                names = ", ".join(f"{'user profile' if k[0] == 'UserProfile' else 'space'} {k[2]}" for k in left)
                raise _in_use(f"Domain {domain_id} still has {names}: delete its apps, spaces and user profiles first.")
            original(self, domain_id, retention_policy)
        _collect_retired(self)


def _install_cloudformation() -> None:
    from moto.core.common_models import CloudFormationModel
    from moto.sagemaker.exceptions import SagemakerClientError
    from moto.sagemaker.models import sagemaker_backends

    from .. import patches
    from . import cloudformation
    from .cloudformation import ResourceFailed

    def at(props: dict[str, Any], path: str) -> Any:
        value: Any = props
        for part in path.split("/"):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    class StudioResource(cloudformation.ResourceModel):  # a mixin: moto finds direct subclasses only
        kind: _Kind = PROFILE

        def __init__(self, backend: Any, domain_id: str, name: str, props: dict[str, Any]) -> None:
            self.backend = backend
            self.domain_id = domain_id
            self.name = name
            self.props = props

        @classmethod
        def service(cls) -> _Service:
            return SERVICES[cls.kind.noun]

        @property
        def physical_resource_id(self) -> str:
            return f"{self.domain_id}|{self.name}"

        @property
        def arn(self) -> str:
            return self.service().arn(self.backend, self.domain_id, self.name)

        @classmethod
        def _create(cls, props: dict[str, Any], account_id: str, region_name: str, logical_id: str) -> Any:
            backend = sagemaker_backends[account_id][region_name]
            request = {k: v for k, v in props.items() if not k.startswith("Fn::")}
            try:
                cls.service().create(backend, request)
            except SagemakerClientError as error:
                physical = f"{props.get('DomainId')}|{props.get(cls.kind.name_member)}"
                raise ResourceFailed(logical_id, cls.kind.cfn_type, error.message, physical) from None
            return cls(backend, props["DomainId"], props[cls.kind.name_member], dict(props))

        @patches.creates
        def create_from_cloudformation_json(cls: Any, change: patches.Change) -> Any:
            return cls._create(cls.named(change), change.account_id, change.region_name, change.logical_id)

        @patches.updates
        def update_from_cloudformation_json(cls: Any, change: patches.Change) -> Any:
            props, original_resource, logical_id = cls.named(change), change.previous, change.logical_id
            old = original_resource.props
            if any(at(props, p) != at(old, p) for p in CREATE_ONLY[cls.kind.cfn_type]):
                if (props["DomainId"], props[cls.kind.name_member]) == (
                    original_resource.domain_id,
                    original_resource.name,
                ):
                    raise ResourceFailed(
                        logical_id,
                        cls.kind.cfn_type,
                        "CloudFormation cannot update a stack when a custom-named resource requires replacing. "
                        f"Rename {original_resource.name} and update the stack again.",
                        original_resource.physical_resource_id,
                    )
                new = cls._create(props, change.account_id, change.region_name, logical_id)  # new first, then old
                original_resource.delete(change.account_id, change.region_name)
                return new
            request = {"DomainId": props["DomainId"], cls.kind.name_member: props[cls.kind.name_member]}
            request.update({m: props[m] for m in cls.kind.updatable if m in props})
            try:
                cls.service().update(original_resource.backend, request)
            except SagemakerClientError as error:
                raise ResourceFailed(
                    logical_id, cls.kind.cfn_type, error.message, original_resource.physical_resource_id
                ) from None
            record = _studio(original_resource.backend).records[
                cls.service().key(props["DomainId"], props[cls.kind.name_member])
            ]
            record.tags = list(props.get("Tags") or [])
            original_resource.props = props
            return original_resource

        def delete(self, account_id: str, region_name: str) -> None:
            self.service().delete(self.backend, self.domain_id, self.name, wait=True)

        @classmethod
        def delete_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            domain_id, _, name = resource_name.partition("|")
            cls.service().delete(sagemaker_backends[account_id][region_name], domain_id, name, wait=True)

    class UserProfileResource(StudioResource, CloudFormationModel):
        kind = PROFILE
        TYPE, NAME_PROPERTY, ATTRIBUTES = PROFILE.cfn_type, PROFILE.name_member, {PROFILE.arn_member: "arn"}

    class SpaceResource(StudioResource, CloudFormationModel):
        kind = SPACE
        TYPE, NAME_PROPERTY, ATTRIBUTES = SPACE.cfn_type, SPACE.name_member, {SPACE.arn_member: "arn"}

    class LifecycleConfigResource(cloudformation.ResourceModel, CloudFormationModel):
        """Every property is create-only in its schema: a change replaces it (under a new name, as
        the library's hashed names do; CloudFormation refuses a replacement that keeps the name)."""

        TYPE = "AWS::SageMaker::StudioLifecycleConfig"
        NAME_PROPERTY = "StudioLifecycleConfigName"
        ATTRIBUTES = {"StudioLifecycleConfigArn": "arn"}

        def __init__(self, backend: Any, props: dict[str, Any]) -> None:
            self.backend = backend
            self.props = props

        @property
        def physical_resource_id(self) -> str:
            return str(self.props["StudioLifecycleConfigName"])  # Ref: the schema's primary identifier

        @property
        def arn(self) -> str:
            return _lifecycle_arn(self.backend, self.physical_resource_id)

        @patches.creates
        def create_from_cloudformation_json(cls: Any, change: patches.Change) -> Any:
            props = cls.named(change)
            backend = sagemaker_backends[change.account_id][change.region_name]
            try:
                LIFECYCLE_CONFIGS.create(backend, props)
            except SagemakerClientError as error:
                raise ResourceFailed(change.logical_id, cls.TYPE, error.message, props[cls.NAME_PROPERTY]) from None
            return cls(backend, props)

        @patches.updates
        def update_from_cloudformation_json(cls: Any, change: patches.Change) -> Any:
            original_resource = change.previous
            if cls.named(change)[cls.NAME_PROPERTY] == original_resource.physical_resource_id:
                raise ResourceFailed(
                    change.logical_id,
                    cls.TYPE,
                    "CloudFormation cannot update a stack when a custom-named resource requires replacing. "
                    f"Rename {original_resource.physical_resource_id} and update the stack again.",
                    original_resource.physical_resource_id,
                )
            new = cls.create_from_cloudformation_json(
                change.name, change.template, change.account_id, change.region_name, LogicalId=change.logical_id
            )
            _studio(original_resource.backend).retired.add(original_resource.physical_resource_id)
            _collect_retired(original_resource.backend)  # now, unless the domain still names it
            return new

        def delete(self, account_id: str, region_name: str) -> None:
            LIFECYCLE_CONFIGS.delete(self.backend, self.physical_resource_id)

        @classmethod
        def delete_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            LIFECYCLE_CONFIGS.delete(sagemaker_backends[account_id][region_name], resource_name)

    for model in (UserProfileResource, SpaceResource, LifecycleConfigResource):
        cloudformation.resource_type(model, why=f"{model.cloudformation_type()} (moto skips it)")


def install() -> None:
    """Add the Studio user-profile and space APIs and CloudFormation types to moto."""
    from .. import patches

    _install_api()
    _install_cloudformation()
    patches.apply()
