"""SageMaker ML Lineage Tracking for the emulator: contexts, actions, artifacts and associations.

moto implements none of these APIs (its SageMaker has experiments, trials and trial components
only). They are added here with botocore's shapes and SageMaker's documented rules:

* names (``ContextName``, ``ActionName``, ``ArtifactName``) and every other length, count, enum and
  pattern are checked against botocore's SageMaker model, as SageMaker's request validation does
  (``ValidationException``): :mod:`.request_constraints` checks every SageMaker request before these
  handlers see it;
* ARNs as the Service Authorization Reference gives them: ``context/<name>``, ``action/<name>``,
  ``artifact/<hash of the artifact's source>``;
* ``UpdateContext`` sets the ``Properties`` it is given (a key's value replaced or added) and removes
  ``PropertiesToRemove``; removing a key the context has not is refused (``ValidationException``):
  AWS does not document that case, and the emulator takes the stricter reading;
* a context or action whose name exists, an artifact whose source (``SourceUri`` and
  ``SourceTypes``) exists ("there can be only one artifact with a unique SourceUri": SageMaker
  Developer Guide, lineage-tracking-entities.html) and an association that exists are refused with
  ``ValidationException`` "... already exists";
* an association needs both ends to exist (``ResourceNotFound``: botocore's AddAssociation errors);
  its ends may also be moto's experiments and trial components;
* deleting an entity that still has associations is refused (``ValidationException``): AWS does not
  document what happens then, and the emulator takes the stricter reading; delete the associations
  first (DeleteAssociation);
* ``List*`` filter (``SourceUri``, type, creation time, and for ListAssociations both ends, their
  types and the association type), sort (``SortBy``/``SortOrder``, default ``CreationTime``
  descending) and page (``MaxResults``, default 10, and ``NextToken``).

``QueryLineage`` is not emulated: nothing here uses it, and a call fails as unknown to moto.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import threading
from typing import Any

from .._sagemaker_requests import page, request_members, request_time

__all__ = ["artifact_arn", "install"]

_LOCK = threading.RLock()
_KINDS = ("context", "action", "artifact")


def _store(backend: Any) -> dict[str, Any]:
    # on the backend, so that resetting moto's backends forgets the entities too
    store: dict[str, Any] | None = getattr(backend, "_sm_local_lineage", None)
    if store is None:
        store = {"context": {}, "action": {}, "artifact": {}, "associations": {}}
        backend._sm_local_lineage = store
    return store


def _arn(backend: Any, kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:{kind}/{name}"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _source_hash(source: dict[str, Any]) -> str:
    canonical = {"SourceUri": source.get("SourceUri"), "SourceTypes": source.get("SourceTypes") or []}
    return hashlib.md5(json.dumps(canonical, sort_keys=True).encode(), usedforsecurity=False).hexdigest()


def artifact_arn(region: str, account: str, source: dict[str, Any]) -> str:
    """The ARN SageMaker gives the artifact of ``source`` (``artifact/<hash of its source>``)."""
    return f"arn:aws:sagemaker:{region}:{account}:artifact/{_source_hash(source)}"


def _by_name_or_arn(backend: Any, kind: str, name_or_arn: str) -> dict[str, Any]:
    from moto.sagemaker.exceptions import ResourceNotFound

    entities = _store(backend)[kind]
    arn = name_or_arn if name_or_arn.startswith("arn:") else _arn(backend, kind, name_or_arn)
    found = entities.get(arn)
    if found is None:
        raise ResourceNotFound(f"{kind.capitalize()} {arn} does not exist.")
    return found


def _entity_of_arn(backend: Any, arn: str) -> dict[str, Any] | None:
    """A lineage entity, or moto's experiment or trial component, by ARN: (its name and type)."""
    store = _store(backend)
    for kind in _KINDS:
        if arn in store[kind]:
            entity = store[kind][arn]
            return {"name": entity.get(f"{kind.capitalize()}Name"), "type": entity.get(f"{kind.capitalize()}Type")}
    for kind, table in (("experiment", "experiments"), ("experiment-trial-component", "trial_components")):
        if f":{kind}/" in arn:
            for item in getattr(backend, table, {}).values():
                if getattr(item, "arn", None) == arn:
                    return {"name": arn.rsplit("/", 1)[-1], "type": kind}
    return None


def _has_associations(backend: Any, arn: str) -> bool:
    return any(arn in key for key in _store(backend)["associations"])


def _refuse_if_associated(backend: Any, kind: str, arn: str) -> None:
    from moto.sagemaker.exceptions import ValidationError

    if _has_associations(backend, arn):
        raise ValidationError(
            message=f"{kind.capitalize()} {arn} has associations: delete them (DeleteAssociation) before deleting it"
        )


def _listed(
    items: list[dict[str, Any]], params: dict[str, Any], sort_keys: dict[str, str]
) -> tuple[list[Any], dict[str, str]]:
    """Filter by creation time, sort (default CreationTime, Descending), then page."""
    from moto.sagemaker.exceptions import ValidationError

    after, before = request_time(params, "CreatedAfter"), request_time(params, "CreatedBefore")
    items = [
        i
        for i in items
        if (after is None or i["CreationTime"] > after) and (before is None or i["CreationTime"] < before)
    ]
    sort_by = params.get("SortBy") or "CreationTime"
    key = sort_keys.get(sort_by)
    if key is None:
        raise ValidationError(message=f"SortBy {sort_by} is not one of {sorted(sort_keys)}")
    items.sort(
        key=lambda i: (i.get(key) is None, i.get(key)),
        reverse=(params.get("SortOrder") or "Descending") == "Descending",
    )
    return page(items, params)


def install() -> None:
    """Add the lineage operations to moto's SageMaker backend and responses."""
    from moto.core.responses import ActionResult
    from moto.sagemaker.exceptions import ResourceNotFound, ValidationError

    from .. import patches

    def create_entity(kind: str, operation: str) -> Any:
        title = kind.capitalize()

        def create(self: Any, params: dict[str, Any]) -> str:
            with _LOCK:
                entities = _store(self)[kind]
                if kind == "artifact":
                    arn = artifact_arn(self.region_name, self.account_id, params["Source"])
                    if arn in entities:
                        raise ValidationError(
                            message=f"Artifact with source {json.dumps(params['Source'], sort_keys=True)} already exists: {arn}"
                        )
                else:
                    name = params[f"{title}Name"]
                    arn = _arn(self, kind, name)
                    if arn in entities:
                        raise ValidationError(message=f"{title} {name} already exists: {arn}")
                now = _now()
                entities[arn] = {
                    **{k: v for k, v in params.items() if k != "Tags"},
                    f"{title}Arn": arn,
                    "CreationTime": now,
                    "LastModifiedTime": now,
                }
                return arn

        return create

    def describe_entity(kind: str) -> Any:
        def describe(self: Any, name_or_arn: str) -> dict[str, Any]:
            with _LOCK:
                return dict(_by_name_or_arn(self, kind, name_or_arn))

        return describe

    def update_context(self: Any, params: dict[str, Any]) -> str:
        """UpdateContext: ``Properties`` set (each given key's value replaced or added: the API reference's
        "Overwrites the current property list", read per key, as ``PropertiesToRemove`` exists beside
        it), then ``PropertiesToRemove`` removed. A key to remove that the context has not is refused:
        SageMaker does not document that case, and the emulator takes the stricter reading."""
        with _LOCK:
            context = _by_name_or_arn(self, "context", params["ContextName"])
            properties = dict(context.get("Properties") or {})
            to_remove = params.get("PropertiesToRemove") or []
            absent = [k for k in to_remove if k not in properties]
            if absent:
                raise ValidationError(
                    message=f"Context {params['ContextName']} has no properties {absent} to remove (PropertiesToRemove)"
                )
            properties.update(params.get("Properties") or {})
            for key in to_remove:
                properties.pop(key, None)
            context["Properties"] = properties
            if "Description" in params:
                context["Description"] = params["Description"]
            context["LastModifiedTime"] = _now()
            return str(context["ContextArn"])

    def delete_entity(kind: str) -> Any:
        def delete(self: Any, name_or_arn: str) -> str:
            with _LOCK:
                entity = _by_name_or_arn(self, kind, name_or_arn)
                arn = entity[f"{kind.capitalize()}Arn"]
                _refuse_if_associated(self, kind, arn)
                del _store(self)[kind][arn]
                return str(arn)

        return delete

    def list_entities(kind: str, type_field: str) -> Any:
        title = kind.capitalize()
        summary = (f"{title}Arn", f"{title}Name", "Source", type_field, "Status", "CreationTime", "LastModifiedTime")

        def listed(self: Any, params: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str]]:
            with _LOCK:
                items = [
                    e
                    for e in _store(self)[kind].values()
                    if (params.get("SourceUri") is None or e["Source"].get("SourceUri") == params["SourceUri"])
                    and (params.get(type_field) is None or e.get(type_field) == params[type_field])
                ]
                shown, more = _listed(items, params, {"CreationTime": "CreationTime", "Name": f"{title}Name"})
                return [{k: e[k] for k in summary if k in e} for e in shown], more

        return listed

    def add_association(self: Any, source: str, destination: str, edge: str | None) -> tuple[str, str]:
        with _LOCK:
            ends = []
            for arn in (source, destination):
                found = _entity_of_arn(self, arn)
                if found is None:
                    raise ResourceNotFound(f"Entity {arn} does not exist.")
                ends.append(found)
            associations = _store(self)["associations"]
            if (source, destination) in associations:
                raise ValidationError(message=f"Association between {source} and {destination} already exists")
            associations[(source, destination)] = {
                "SourceArn": source,
                "DestinationArn": destination,
                "SourceType": ends[0]["type"],
                "DestinationType": ends[1]["type"],
                "AssociationType": edge,
                "SourceName": ends[0]["name"],
                "DestinationName": ends[1]["name"],
                "CreationTime": _now(),
            }
            return source, destination

    def delete_association(self: Any, source: str, destination: str) -> tuple[str, str]:
        with _LOCK:
            if _store(self)["associations"].pop((source, destination), None) is None:
                raise ResourceNotFound(f"Association between {source} and {destination} does not exist.")
            return source, destination

    def list_associations(self: Any, params: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str]]:
        fields = ("SourceArn", "DestinationArn", "SourceType", "DestinationType", "AssociationType")
        with _LOCK:
            items = [
                dict(a)
                for a in _store(self)["associations"].values()
                if all(params.get(f) is None or a.get(f) == params[f] for f in fields)
            ]
            return _listed(
                items,
                params,
                {f: f for f in ("SourceArn", "DestinationArn", "SourceType", "DestinationType", "CreationTime")},
            )

    # ---- responses ------------------------------------------------------------------------
    def create_response(kind: str) -> Any:
        def respond(self: Any) -> Any:
            arn = getattr(self.sagemaker_backend, f"create_{kind}")(request_members(self))
            return ActionResult({f"{kind.capitalize()}Arn": arn})

        return respond

    def describe_response(kind: str, key: str) -> Any:
        def respond(self: Any) -> Any:
            return ActionResult(getattr(self.sagemaker_backend, f"describe_{kind}")(self._get_param(key)))

        return respond

    def delete_response(kind: str, key: str) -> Any:
        def respond(self: Any) -> Any:
            if kind == "artifact" and not self._get_param(key):
                source = self._get_param("Source") or {}
                backend = self.sagemaker_backend
                arn = artifact_arn(backend.region_name, backend.account_id, source)
            else:
                arn = self._get_param(key)
            deleted = getattr(self.sagemaker_backend, f"delete_{kind}")(arn)
            return ActionResult({f"{kind.capitalize()}Arn": deleted})

        return respond

    def list_response(kind: str, plural: str) -> Any:
        def respond(self: Any) -> Any:
            items, more = getattr(self.sagemaker_backend, f"list_{plural}")(request_members(self))
            return ActionResult({f"{kind.capitalize()}Summaries": items, **more})

        return respond

    def update_context_response(self: Any) -> Any:
        return ActionResult({"ContextArn": self.sagemaker_backend.update_context(request_members(self))})

    def add_association_response(self: Any) -> Any:
        source, destination = self.sagemaker_backend.add_association(
            self._get_param("SourceArn"), self._get_param("DestinationArn"), self._get_param("AssociationType")
        )
        return ActionResult({"SourceArn": source, "DestinationArn": destination})

    def delete_association_response(self: Any) -> Any:
        source, destination = self.sagemaker_backend.delete_association(
            self._get_param("SourceArn"), self._get_param("DestinationArn")
        )
        return ActionResult({"SourceArn": source, "DestinationArn": destination})

    def list_associations_response(self: Any) -> Any:
        items, more = self.sagemaker_backend.list_associations(request_members(self))
        return ActionResult({"AssociationSummaries": items, **more})

    why = "SageMaker's ML Lineage Tracking API (moto has none)"
    backend = "moto.sagemaker.models:SageMakerModelBackend"
    responses = "moto.sagemaker.responses:SageMakerResponse"
    for kind, name_key, type_field in (
        ("context", "ContextName", "ContextType"),
        ("action", "ActionName", "ActionType"),
        ("artifact", "ArtifactArn", "ArtifactType"),
    ):
        title = kind.capitalize()
        patches.add(backend, f"create_{kind}", create_entity(kind, f"Create{title}"), why=why)
        patches.add(backend, f"describe_{kind}", describe_entity(kind), why=why)
        patches.add(backend, f"delete_{kind}", delete_entity(kind), why=why)
        patches.add(backend, f"list_{kind}s", list_entities(kind, type_field), why=why)
        patches.add(responses, f"create_{kind}", create_response(kind), why=why)
        patches.add(responses, f"describe_{kind}", describe_response(kind, name_key), why=why)
        patches.add(responses, f"delete_{kind}", delete_response(kind, name_key), why=why)
        patches.add(responses, f"list_{kind}s", list_response(kind, f"{kind}s"), why=why)
    patches.add(backend, "update_context", update_context, why=why)
    patches.add(responses, "update_context", update_context_response, why=why)
    patches.add(backend, "add_association", add_association, why=why)
    patches.add(backend, "delete_association", delete_association, why=why)
    patches.add(backend, "list_associations", list_associations, why=why)
    patches.add(responses, "add_association", add_association_response, why=why)
    patches.add(responses, "delete_association", delete_association_response, why=why)
    patches.add(responses, "list_associations", list_associations_response, why=why)
    patches.apply()
