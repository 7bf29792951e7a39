"""Model Registry events and state machine targets for the emulator, as EventBridge delivers them.

moto's SageMaker sends no events, and moto's EventBridge delivers only to log groups, archives,
SQS queues, event buses and API destinations. This module adds, as plug-ins:

* the registry's "SageMaker Model Package State Change" event (source ``aws.sagemaker``) on the
  default event bus whenever a version is created or its approval status changes, with the
  ``detail`` fields SageMaker documents (group, ARN, version, approval and package status). An
  update of other fields (``CustomerMetadataProperties``) sends none: SageMaker's documentation of
  the event ("Events that Amazon SageMaker AI sends to Amazon EventBridge", model package state
  change) does not say it is sent then, so nothing may rely on it (a release's promotion starts
  the production deployment explicitly);
* Step Functions state machines as rule targets: a matching event starts an execution with the
  event as input (or the target's ``Input`` / ``InputPath``), like EventBridge's
  ``StartExecution`` target, with IAM enforced only when the target's role may start it. A target
  whose state machine does not exist fails loudly in the emulator log instead of being dropped.
* Application Auto Scaling in AWS SDK integrations (:mod:`.application_autoscaling`).
"""

from __future__ import annotations

import inspect
import json
import logging
import threading
import uuid
from typing import Any

__all__ = ["install"]

LOG = logging.getLogger(__name__)
_CREATE_LOCK = threading.Lock()
SOURCE = "aws.sagemaker"
DETAIL_TYPE = "SageMaker Model Package State Change"


def _detail(package: Any) -> dict[str, Any]:
    created = package.creation_time
    return {
        "ModelPackageGroupName": package.model_package_group_name,
        "ModelPackageVersion": package.model_package_version,
        "ModelPackageArn": package.arn,
        "ModelPackageName": package.model_package_name,
        "ModelApprovalStatus": package.model_approval_status,
        "ModelPackageStatus": package.model_package_status,
        "CreationTime": created if isinstance(created, str) else str(created),
        "InferenceSpecification": package.inference_specification,
    }


def _emit(backend: Any, package_arn: str) -> None:
    from moto.events.models import events_backends

    package = backend.model_packages.get(backend.model_package_name_mapping.get(package_arn, package_arn))
    if package is None or package.model_package_group_name is None:
        return  # unversioned packages belong to no group
    events_backends[backend.account_id][backend.region_name].put_events(
        [
            {
                "Source": SOURCE,
                "DetailType": DETAIL_TYPE,
                "Detail": json.dumps(_detail(package)),
                "Resources": [package.arn],
            }
        ]
    )


def _install_registry_events() -> None:
    from .. import patches

    backend_class = "moto.sagemaker.models:SageMakerModelBackend"
    why = "a model package change emits SageMaker's EventBridge event"

    @patches.wrap(backend_class, "create_model_package", why=why + "; versions are numbered one create at a time")
    def create_model_package(create: Any, self: Any, *args: Any, **kwargs: Any) -> str:
        # moto numbers a version len(group) + 1 and keys it by an ARN that holds the number: two
        # creates at once would get the same version and one would replace the other. In SageMaker
        # each version has its own number ("a numerical value that starts at 1 and is incremented
        # with each new model package added to a Model Group": SageMaker Developer Guide, "Model
        # Registry Models, Model Versions, and Model Groups"), so creates are taken one at a time.
        with _CREATE_LOCK:
            arn = create(self, *args, **kwargs)
        _emit(self, arn)
        return str(arn)

    @patches.wrap(
        backend_class, "update_model_package", why=f"{why}; a version ARN of another account is updated there"
    )
    def update_model_package(update: Any, self: Any, *args: Any, **kwargs: Any) -> str:
        owner = _owner(self, kwargs.get("model_package_arn", args[0] if args else ""))
        if owner is not None:  # a shared group's version: updated (and its event emitted) in its own account
            return str(owner.update_model_package(*args, **kwargs))
        bound = inspect.signature(update).bind(self, *args, **kwargs)
        arn_in = bound.arguments["model_package_arn"]
        before = _approval(self, arn_in)
        # UpdateModelPackage changes what it is given (botocore's SageMaker model: every member but
        # the ARN is optional) and adds or changes the given metadata keys, removing only those in
        # CustomerMetadataPropertiesToRemove; moto sets every field, clearing the omitted ones
        package = self.model_packages.get(self.model_package_name_mapping.get(arn_in, arn_in))
        if package is not None:
            for field in ("model_approval_status", "approval_description"):
                if bound.arguments.get(field) is None:
                    bound.arguments[field] = getattr(package, field)
            given = bound.arguments.get("customer_metadata_properties")
            bound.arguments["customer_metadata_properties"] = {
                **(package.customer_metadata_properties or {}),
                **(given or {}),
            } or None
        arn = update(*bound.args, **bound.kwargs)
        if _approval(self, arn) != before:  # only metadata changed: no event (see the module docs)
            _emit(self, arn)
        return str(arn)


def _approval(backend: Any, arn: str) -> str | None:
    package = backend.model_packages.get(backend.model_package_name_mapping.get(arn, arn))
    return None if package is None else str(package.model_approval_status)


def _owner(backend: Any, arn: str) -> Any:
    """The backend of the account and region a version ARN names, when it is not ``backend``'s own."""
    from moto.sagemaker.models import sagemaker_backends

    parts = str(arn).split(":", 5)
    if len(parts) != 6 or parts[2] != "sagemaker" or (parts[4], parts[3]) == (backend.account_id, backend.region_name):
        return None
    return sagemaker_backends[parts[4]][parts[3]]


def _install_shared_versions() -> None:
    """A version named by its ARN in another account (a group shared by its ModelPackageGroupPolicy) is
    read there (and updated there, in :func:`_install_registry_events`): moto looks every name up in the
    caller's own account. Who may is the IAM enforcement's decision (the caller's policies and the
    group's policy), made before the call."""
    from .. import patches

    backend_class = "moto.sagemaker.models:SageMakerModelBackend"
    why = "a version ARN of another account is that account's version (cross-account Model Registry)"

    @patches.wrap(backend_class, "describe_model_package", why=why)
    def describe_model_package(describe: Any, self: Any, model_package_name: str) -> Any:
        owner = _owner(self, model_package_name)
        return describe(self, model_package_name) if owner is None else owner.describe_model_package(model_package_name)


def _target_input(target: dict[str, Any], event: dict[str, Any]) -> str:
    if "Input" in target:
        return str(target["Input"])
    if "InputPath" in target:
        from moto.stepfunctions.parser.asl.utils.json_path import extract_json

        return json.dumps(extract_json(target["InputPath"], event))
    if "InputTransformer" in target:
        raise NotImplementedError("InputTransformer on a state machine target is not emulated")
    return json.dumps(event)


#: EventBridge User Guide, "Amazon EventBridge targets" / "Using IAM roles": a rule starts a state
#: machine with the target's role, which needs states:StartExecution on it.
_START_EXECUTION_SOURCE = "EventBridge user guide: the target's role needs states:StartExecution on the state machine"


def _authorized(enforcer: Any, target: dict[str, Any]) -> bool:
    """With IAM enforced: the target's role may start the state machine (else EventBridge's invocation fails)."""
    if enforcer is None:
        return True
    from moto.utilities.arns import parse_arn

    from ..iam.calls import Call
    from ..iam.enforcement import PARTITION, AccessDenied

    arn = parse_arn(target["Arn"])
    call = Call("states:StartExecution", target["Arn"], _START_EXECUTION_SOURCE)
    values = {"partition": PARTITION, "region": arn.region, "account": arn.account}
    try:
        enforcer.check(str(target.get("RoleArn", "")), call, values, session="events")
    except AccessDenied as denied:
        LOG.warning("rule target %s: %s", target["Arn"], denied)
        return False
    return True


def _install_state_machine_targets(enforcer: Any = None) -> None:
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends
    from moto.utilities.arns import parse_arn

    from .. import patches

    @patches.wrap(
        "moto.events.models:Rule", "send_to_targets", why="an EventBridge rule starts its state machine targets"
    )
    def send_to_targets(original: Any, self: Any, original_event: Any, transform_input: bool = True) -> None:
        machines = [t for t in self.targets if parse_arn(t["Arn"]).service == "states"]
        others = [t for t in self.targets if t not in machines]
        if machines and self.event_pattern.matches_event(original_event):
            for target in machines:
                if not _authorized(enforcer, target):
                    continue  # EventBridge's invocation fails: nothing starts
                arn = parse_arn(target["Arn"])
                backend = stepfunctions_parser_backends[arn.account][arn.region]
                try:
                    backend.start_execution(
                        target["Arn"], name=str(uuid.uuid4()), execution_input=_target_input(target, original_event)
                    )
                except Exception:
                    LOG.exception("rule %s: could not start %s", self.name, target["Arn"])
                    raise
        if others:
            every = self.targets
            self.targets = others
            try:
                original(self, original_event, transform_input)
            finally:
                self.targets = every


def install(enforcer: Any = None) -> None:
    """Registry events, state machine targets, the Application Auto Scaling SDK name and SDK field casing.

    :param enforcer: with IAM enforced, a rule starts its state machine only if the target's role may.
    """
    from .. import patches
    from . import application_autoscaling, stepfunctions_sdk

    stepfunctions_sdk.install()
    _install_shared_versions()
    _install_registry_events()
    _install_state_machine_targets(enforcer)
    application_autoscaling.install()
    patches.apply()
