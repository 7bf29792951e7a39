"""Application Auto Scaling in the emulator as AWS answers it for a missing scalable target.

moto answers ``DeregisterScalableTarget`` for a target that does not exist with a
``ValidationException``, accepts ``PutScalingPolicy`` without a target, and leaves a deregistered
target's policies behind. :func:`install` makes these calls behave as the service does:

=============================================  ================================================
behaviour                                      source
=============================================  ================================================
``DeregisterScalableTarget``,                  botocore's ``application-autoscaling`` model:
``DeleteScalingPolicy`` on something that      ``ObjectNotFoundException`` ("For any operation
does not exist → ``ObjectNotFoundException``   that deletes or deregisters a resource, this
                                               exception is thrown if the resource cannot be
                                               found"), listed in both operations' errors
``PutScalingPolicy`` without a registered      the same shape ("For any operation that depends
target → ``ObjectNotFoundException``           on the existence of a scalable target, this
                                               exception is thrown if the scalable target ...
                                               does not exist"), listed in PutScalingPolicy's
                                               errors
Deregistering a target deletes its scaling     Application Auto Scaling API reference,
policies (and their alarms)                    DeregisterScalableTarget ("Deregistering a
                                               scalable target deletes the scaling policies and
                                               the scheduled actions that are associated with it")
=============================================  ================================================

It also names the service for Step Functions' AWS SDK integrations: Step Functions calls it
``applicationautoscaling`` (botocore: ``application-autoscaling``) and names its errors
``ApplicationAutoScaling.<exception>`` ("AWS SDK service integrations" list and error naming).
"""

from __future__ import annotations

from typing import Any

__all__ = ["install"]

#: The error shape botocore's model gives for a missing target or policy.
NOT_FOUND = "ObjectNotFoundException"


def _not_found(message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError(NOT_FOUND, message)


def _target_missing(namespace: str, resource_id: str, dimension: str) -> Exception:
    return _not_found(
        f"No scalable target registered for service namespace: {namespace}, resource ID: {resource_id}, "
        f"scalable dimension: {dimension}"
    )


def install() -> None:
    """The SDK integration's name and errors, and AWS's missing-target behaviour (module docs)."""
    from moto.applicationautoscaling.models import FakeApplicationAutoscalingPolicy

    from .. import patches

    service = "moto.stepfunctions.parser.asl.component.state.exec.state_task.service"
    patches.entry(
        f"{service}.state_task_service:StateTaskService",
        "_SERVICE_NAME_SFN_TO_BOTO_OVERRIDES",
        ("applicationautoscaling",),
        "application-autoscaling",
        why="Step Functions' SDK name of Application Auto Scaling (botocore: application-autoscaling)",
    )
    patches.entry(
        f"{service}.state_task_service_aws_sdk",
        "_SERVICE_ERROR_NAMES",
        ("applicationautoscaling",),
        "ApplicationAutoScaling",
        why="SDK integration errors are named ApplicationAutoScaling.<exception>, as on AWS",
    )
    backend_class = "moto.applicationautoscaling.models:ApplicationAutoscalingBackend"

    @patches.wrap(
        backend_class, "deregister_scalable_target", why="a missing target is ObjectNotFound; policies go too"
    )
    def deregister_scalable_target(deregister: Any, self: Any, namespace: str, r_id: str, dimension: str) -> None:
        if not self._scalable_target_exists(r_id, dimension):
            raise _target_missing(namespace, r_id, dimension)
        for policy in list(self.policies.values()):
            if (policy.service_namespace, policy.resource_id, policy.scalable_dimension) == (
                namespace,
                r_id,
                dimension,
            ):
                self.delete_scaling_policy(policy.policy_name, namespace, r_id, dimension)  # moto's: its alarms too
        deregister(self, namespace, r_id, dimension)

    @patches.wrap(backend_class, "put_scaling_policy", why="a policy without a registered target is ObjectNotFound")
    def put_scaling_policy(
        put_policy: Any,
        self: Any,
        policy_name: str,
        service_namespace: str,
        resource_id: str,
        scalable_dimension: str,
        policy_body: dict[str, Any],
        policy_type: str | None,
    ) -> Any:
        if not self._scalable_target_exists(resource_id, scalable_dimension):
            raise _target_missing(service_namespace, resource_id, scalable_dimension)
        return put_policy(
            self, policy_name, service_namespace, resource_id, scalable_dimension, policy_body, policy_type
        )

    @patches.wrap(backend_class, "delete_scaling_policy", why="deleting a missing policy is ObjectNotFound")
    def delete_scaling_policy(
        delete_policy: Any,
        self: Any,
        policy_name: str,
        service_namespace: str,
        resource_id: str,
        scalable_dimension: str,
    ) -> None:
        key = FakeApplicationAutoscalingPolicy.formulate_key(
            service_namespace, resource_id, scalable_dimension, policy_name
        )
        if key not in self.policies:
            raise _not_found(
                f"No scaling policy found for service namespace: {service_namespace}, resource ID: {resource_id}, "
                f"scalable dimension: {scalable_dimension}, policy name: {policy_name}"
            )
        delete_policy(self, policy_name, service_namespace, resource_id, scalable_dimension)

    patches.apply()
