"""IAM enforcement in the local emulator: every call a run makes is authorized as AWS would.

* **State machine calls.** Each task's integration is looked up in
  :data:`~sm_constructs.local.iam.calls.INTEGRATIONS` and every call AWS makes for it (the API call
  itself, ``iam:PassRole`` with ``iam:PassedToService``, ``sagemaker:AddTags`` for tags,
  ``sagemaker:ListTags``, and for ``.sync`` the ``Describe*`` polls and the managed events rule) is
  authorized against the state machine role's policies as deployed: inline and managed, read from
  moto's IAM backend. An integration without a row fails the task: the emulator cannot tell what
  AWS would authorize.
* **Job data access.** A job run by the local runner acts as its execution role: SageMaker assumes
  it (the trust policy is checked with ``aws:SourceAccount``/``aws:SourceArn``), pulls the image
  (ECR), opens the job's log stream, creates the grant on the volume key, lists and reads each
  input, writes each output (with ``kms:Decrypt``/``kms:GenerateDataKey`` through S3 for SSE-KMS
  objects) and, for training, publishes metrics. Each is authorized against the role's policies,
  the bucket policy and the key policy (:data:`~sm_constructs.local.iam.calls.JOB_ACCESS`).
* **A denied call fails as on AWS**: the task fails with the service's AccessDenied error and a
  cause naming principal, action and resource; a job fails with ``ClientError: AccessDenied: ...``
  as its ``FailureReason``, which the ``.sync`` task reports. Both are in the execution history.

Each decision is logged to ``<workdir>/iam.jsonl`` (principal, action, resource, decision).
Enforcement is on by default (``Emulator(enforce_iam=False)``, ``serve --no-iam`` or
``SM_LOCAL_IAM=off`` turn it off).
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import ClientError

from ..jobs.runner import serving_container
from .calls import GLOBAL_CONTEXT, INTEGRATIONS, STATE_MACHINE_ACCESS, Call
from .policy import Outcome, Request, authorize

__all__ = ["ADDED_CONTEXT_KEYS", "AccessDenied", "Enforcer", "PolicyStore", "install"]

PARTITION = "aws"

#: (account, bucket) → bucket policy deployed by CloudFormation. Kept here, not on moto's bucket:
#: moto's S3 would then evaluate it itself, with the shortcomings listed in iam_policy's docs.
BUCKET_POLICIES: dict[tuple[str, str], dict[str, Any]] = {}
#: state machine ARN → its customer managed key (moto's CloudFormation drops EncryptionConfiguration)
STATE_MACHINE_KEYS: dict[str, str] = {}
#: model package group ARN → its resource policy (``ModelPackageGroupPolicy``; moto's SageMaker has none)
GROUP_POLICIES: dict[str, dict[str, Any]] = {}


def iam_backend(account: str) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[account][PARTITION]


class AccessDenied(Exception):
    """A call the principal's policies do not allow."""

    def __init__(self, request: Request, outcome: Outcome) -> None:
        super().__init__(outcome.message(request))
        self.request = request
        self.outcome = outcome


class UnknownIntegration(Exception):
    """An integration the emulator's call table does not describe."""


def _loads(document: Any) -> dict[str, Any]:
    if isinstance(document, bytes):
        document = document.decode()
    if isinstance(document, str):
        return dict(_parsed(document))
    return dict(document)


@functools.lru_cache(maxsize=1024)
def _parsed(document: str) -> dict[str, Any]:
    """A policy document's JSON, parsed once per text: every request reads the same few (read-only)."""
    from urllib.parse import unquote

    return dict(json.loads(document if document.lstrip().startswith("{") else unquote(document)))


class PolicyStore:
    """Policies and resource facts of one account as deployed, read from moto's backends in this process."""

    def __init__(self, account: str) -> None:
        self.account = account

    def for_account(self, account: str) -> PolicyStore:
        """The store of another account (moto keeps each account's state apart)."""
        return self if account == self.account else type(self)(account)

    def permissions_boundary(self, role_arn: str) -> dict[str, Any] | None:
        """The default version of the role's permissions boundary policy, if it has one."""
        from moto.iam.access_control import IAMPolicy

        role = self._role(role_arn)
        boundary = getattr(role, "permissions_boundary_arn", None) if role is not None else None
        if not boundary:
            return None
        try:
            return dict(IAMPolicy(iam_backend(self.account).get_policy(boundary))._policy_json)
        except Exception:
            # a boundary that does not exist allows nothing (IAM refuses to attach one, so this is a deleted policy)
            return {"Statement": []}

    @staticmethod
    def bucket_account(bucket: str) -> str | None:
        """The account that owns a bucket (bucket names are global)."""
        from moto.s3.models import s3_backends

        owner = s3_backends.bucket_accounts.get(bucket)
        return owner[1] if owner else None

    def repository_policy(self, repository_arn: str) -> dict[str, Any] | None:
        """An ECR repository's policy: AWS's for SageMaker's prebuilt images, else the repository's own."""
        if _prebuilt_image_repository(repository_arn):
            return PREBUILT_IMAGE_POLICY
        from moto.ecr.models import ecr_backends

        _, _, _, region, _, name = repository_arn.split(":", 5)
        try:
            policy = ecr_backends[self.account][region].get_repository_policy(name.split("/", 1)[1], self.account)
        except Exception:
            return None
        return _loads(policy["policyText"]) if policy and policy.get("policyText") else None

    def event_bus_policy(self, bus_arn: str) -> dict[str, Any] | None:
        """An event bus's resource policy (``PutPermission``, or ``AWS::Events::EventBusPolicy``)."""
        from moto.events.models import events_backends

        parts = bus_arn.split(":", 5)
        if len(parts) != 6 or not parts[5].startswith("event-bus/"):
            return None
        try:
            policy = events_backends[self.account][parts[3]].describe_event_bus(parts[5].split("/", 1)[1]).policy
        except Exception:
            return None
        return _loads(policy) if policy else None

    @staticmethod
    def group_policy(resource_arn: str) -> dict[str, Any] | None:
        """The resource policy of the model package group of a group or version ARN."""
        parts = resource_arn.split(":", 5)
        if len(parts) != 6:
            return None
        kind, _, name = parts[5].partition("/")
        if kind == "model-package":
            name = name.split("/", 1)[0]
        elif kind != "model-package-group":
            return None
        for group_arn, policy in GROUP_POLICIES.items():
            if group_arn.split(":", 5)[:5] == parts[:5] and group_arn.lower().endswith(f"/{name.lower()}"):
                return policy
        return None

    def _role(self, role_arn: str) -> Any:
        try:
            return iam_backend(self.account).get_role_by_arn(role_arn)
        except Exception:
            return None

    def principal_tags(self, role_arn: str) -> dict[str, str]:
        """The role's tags, which requests it makes carry as ``aws:PrincipalTag/<key>``."""
        role = self._role(role_arn)
        return {str(t["Key"]): str(t["Value"]) for t in (getattr(role, "tags", None) or [])}

    def identity_policies(self, role_arn: str) -> list[dict[str, Any]]:
        """Inline and attached managed policies (the default version) of a role; none if it does not exist."""
        from moto.iam.access_control import IAMPolicy

        role = self._role(role_arn)
        if role is None:
            return []
        documents = [_loads(document) for document in role.policies.values()]
        documents += [IAMPolicy(policy)._policy_json for policy in role.managed_policies.values()]
        return documents

    def trust_policy(self, role_arn: str) -> dict[str, Any] | None:
        role = self._role(role_arn)
        return _loads(role.assume_role_policy_document) if role is not None else None

    def _s3(self) -> Any:
        from moto.s3.models import s3_backends

        return s3_backends[self.account][PARTITION]

    def bucket_policy(self, bucket: str) -> dict[str, Any] | None:
        """The policy deployed for the bucket (by CloudFormation, or put through the S3 API)."""
        deployed = BUCKET_POLICIES.get((self.account, bucket))
        if deployed is not None:
            return deployed
        try:
            policy = self._s3().get_bucket(bucket).policy
        except Exception:
            return None
        return _loads(policy) if policy else None

    def _kms(self, region: str) -> Any:
        from moto.kms.models import kms_backends

        return kms_backends[self.account][region]

    def key_arn(self, key: str, region: str) -> str:
        """A key id, key ARN, alias or alias ARN as the key's ARN (the resource KMS authorizes)."""
        try:
            return str(self._kms(region).describe_key(key).arn)
        except Exception:
            return key if key.startswith("arn:") else f"arn:{PARTITION}:kms:{region}:{self.account}:key/{key}"

    def key_policy(self, key_arn: str, region: str) -> dict[str, Any]:
        """The key policy; a key that does not exist has none, and KMS denies."""
        try:
            return _loads(self._kms(region).describe_key(key_arn).policy)
        except Exception:
            return {"Statement": []}

    def object_kms_key(self, bucket: str, key: str) -> str | None:
        try:
            stored = self._s3().get_object(bucket, key)
        except Exception:
            return None
        if stored is None or stored.encryption != "aws:kms":
            return None
        return str(stored.kms_key_id) if stored.kms_key_id else None

    def bucket_kms_key(self, bucket: str) -> str | None:
        """The bucket's default SSE-KMS key, if its default encryption is SSE-KMS."""
        try:
            encryption = self._s3().get_bucket_encryption(bucket)
        except Exception:
            return None
        for rule in _as_list((encryption or {}).get("Rule", [])):
            default = rule.get("ApplyServerSideEncryptionByDefault", {})
            if default.get("SSEAlgorithm") == "aws:kms" and default.get("KMSMasterKeyID"):
                return str(default["KMSMasterKeyID"])
        return None

    def topic_kms_key(self, topic_arn: str, region: str) -> str | None:
        from moto.sns.models import sns_backends

        try:
            topic = sns_backends[self.account][region].get_topic(topic_arn)
        except Exception:
            return None
        return str(topic.kms_master_key_id) or None

    def _sagemaker(self, region: str) -> Any:
        from moto.sagemaker.models import sagemaker_backends

        return sagemaker_backends[self.account][region]

    def endpoint_config_kms_key(self, name: str, region: str) -> str | None:
        try:
            config = self._sagemaker(region).endpoint_configs[name]
        except Exception:
            return None
        return getattr(config, "kms_key_id", None) or None

    def endpoint_config_of(self, endpoint: str, region: str) -> str | None:
        """The endpoint config an endpoint runs on (what Application Auto Scaling reads for a variant)."""
        try:
            return str(self._sagemaker(region).endpoints[endpoint].endpoint_config_name)
        except Exception:
            return None

    def next_model_package(self, group: str, region: str) -> str:
        """ARN of the version CreateModelPackage is about to make in ``group``."""
        try:
            packages = self._sagemaker(region).model_packages.values()
            count = sum(1 for p in packages if p.model_package_group_name == group)
        except Exception:
            count = 0
        return f"arn:{PARTITION}:sagemaker:{region}:{self.account}:model-package/{group.lower()}/{count + 1}"

    def model_role(self, model_name: str, region: str) -> tuple[str | None, str | None]:
        """(execution role ARN, image) of a model, for transform jobs.

        The image is the one the model serves (:func:`~sm_constructs.local.jobs.runner.serving_container`: a
        registered version's, for a model created from one); the model's execution role pulls it.
        """
        backend = self._sagemaker(region)
        model = backend._models.get(model_name)
        if model is None:
            return None, None
        return model.execution_role_arn, serving_container(backend, model).get("Image")


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


_FIELD = re.compile(r"\{([^{}]+)\}")


def _lookup(values: Mapping[str, Any], path: str) -> Any:
    value: Any = values
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _fill(template: str, values: Mapping[str, Any]) -> str | None:
    """A template with every ``{field}`` filled, or ``None`` when a field has no value."""
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        value = _lookup(values, match.group(1))
        if value is None or value == "":
            missing = True
            return ""
        return str(value)

    filled = _FIELD.sub(replace, template)
    return None if missing else filled


#: condition keys every request carries besides its call's own (IAM User Guide, "AWS global condition
#: context keys": principal keys; KMS developer guide: kms:CallerAccount on every KMS request)
ADDED_CONTEXT_KEYS = ("aws:PrincipalArn", "aws:PrincipalAccount", "aws:PrincipalIsAWSService", "kms:CallerAccount")


def _principal_context(principal: str, account: str) -> dict[str, str]:
    if principal.startswith("arn:"):
        return {"aws:PrincipalArn": principal, "aws:PrincipalAccount": account, "aws:PrincipalIsAWSService": "false"}
    return {"aws:PrincipalIsAWSService": "true"}


@dataclass
class Enforcer:
    """Authorizes calls against the policies in a :class:`PolicyStore`.

    :param log: a JSON-lines file that gets one line per decision (principal, action, resource,
        decision, reason). Default: no log.
    """

    store: PolicyStore
    account: str
    log: Path | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._out: TextIO | None = None

    def _record(self, request: Request, outcome: Outcome) -> None:
        if self.log is None:
            return
        line = {
            "principal": request.principal,
            "action": request.action,
            "resource": request.resource,
            "decision": outcome.decision.value,
            "reason": outcome.reason,
        }
        text = json.dumps(line) + "\n"
        with self._lock:
            # opened once, in append mode and line-buffered: each decision is in the file as it is made
            if self._out is None or self._out.closed:
                self._out = self.log.open("a", buffering=1)
            self._out.write(text)

    def check(self, principal: str, call: Call, values: Mapping[str, Any], *, session: str) -> Request | None:
        """Authorize one call; raises :class:`AccessDenied`. ``None`` when the call does not happen."""
        principal = call.principal or principal
        resource = _fill(call.resource, values)
        if call.when in ("kms", "tags") and resource is None:
            return None
        if resource is None:
            raise ValueError(f"the emulator cannot name the resource of {call.action} ({call.resource})")
        context: dict[str, Any] = dict(GLOBAL_CONTEXT)
        for key, template in call.context.items():
            filled = _fill(template, values)
            if filled is not None:
                context[key] = filled
        region = str(values.get("region", ""))
        service = call.action.split(":", 1)[0]
        caller_account = _arn_account(principal) or self.account
        caller = self.store.for_account(caller_account)
        context.update(_principal_context(principal, caller_account))
        if principal.startswith("arn:"):
            # "aws:PrincipalTag/tag-key: ... the tag attached to the principal making the request"
            # (IAM User Guide, "AWS global condition context keys"); a role's session carries its tags
            context.update({f"aws:PrincipalTag/{k}": v for k, v in caller.principal_tags(principal).items()})
        if service == "kms":
            resource = caller.key_arn(resource, region)
            context.setdefault("kms:CallerAccount", caller_account)
        request = Request(principal, call.action, resource, context, session=session)
        # the resource's own account holds its resource-based policy and decides its half of a
        # cross-account request (IAM User Guide, "Cross-account policy evaluation logic")
        owner_account = _owner_account(service, resource) or caller_account
        owner = self.store.for_account(owner_account)
        resource_policy, key_policy, boundary = None, False, None
        if call.action == "sts:AssumeRole":
            resource_policy = owner.trust_policy(resource) or {"Statement": []}
            identity: list[dict[str, Any]] = []
        else:
            if principal.startswith("arn:"):
                identity, boundary = caller.identity_policies(principal), caller.permissions_boundary(principal)
            else:
                identity = []
            if service == "s3":
                resource_policy = owner.bucket_policy(_bucket_of(resource))
            elif service == "kms":
                resource_policy, key_policy = owner.key_policy(resource, region), True
            elif service == "sagemaker":
                resource_policy = owner.group_policy(resource)
            elif service == "ecr" and resource != "*":
                resource_policy = owner.repository_policy(resource)
            elif service == "events":
                resource_policy = owner.event_bus_policy(resource)
        outcome = authorize(
            request,
            identity,
            resource_policy,
            key_policy=key_policy,
            resource_account=owner_account,
            boundary=boundary,
        )
        self._record(request, outcome)
        if not outcome.allowed:
            raise AccessDenied(request, outcome)
        return request

    # -- state machine tasks --------------------------------------------------------------
    def task(
        self, resource_arn: str, parameters: Mapping[str, Any], *, role_arn: str, state_machine_arn: str, region: str
    ) -> None:
        """Every call AWS makes for one task of a state machine (see the module docs)."""
        integration = resource_arn.split(":::", 1)[-1]
        sync = integration.endswith(".sync") or integration.endswith(".sync:2")
        integration = integration.split(".sync", 1)[0].split(".waitForTaskToken", 1)[0]
        calls = INTEGRATIONS.get(integration)
        if calls is None:
            raise UnknownIntegration(
                f"the local emulator enforces IAM and has no table of the calls AWS makes for {integration} "
                f"(sm_constructs/local/iam/calls.py); run with IAM enforcement off to use it"
            )
        # the state machine's own account: moto keeps each account's state machines apart
        account = _arn_account(state_machine_arn) or self.account
        values: dict[str, Any] = {
            **parameters,
            "partition": PARTITION,
            "region": region,
            "account": account,
            "role": role_arn,
            "state_machine_arn": state_machine_arn,
            "@state_machine_key": STATE_MACHINE_KEYS.get(state_machine_arn),
            **self._lookups(integration, parameters, region, account),
        }
        for call in STATE_MACHINE_ACCESS:
            self.check(role_arn, call, values, session="states")
        for call in calls:
            if call.when == "stop" or (call.when == "sync" and not sync):
                continue
            if call.when == "tags" and not parameters.get("Tags"):
                continue
            self.check(role_arn, call, values, session=_session(state_machine_arn))

    def _lookups(self, integration: str, parameters: Mapping[str, Any], region: str, account: str) -> dict[str, Any]:
        store = self.store.for_account(account)
        found: dict[str, Any] = {}
        if integration == "lambda:invoke":
            found["@function_arn"] = _function_arn(str(parameters.get("FunctionName", "")), region, account)
        if "EndpointConfigName" in parameters and integration in (
            "sagemaker:createEndpoint",
            "sagemaker:updateEndpoint",
        ):
            found["@endpoint_config_kms_key"] = store.endpoint_config_kms_key(
                str(parameters["EndpointConfigName"]), region
            )
        if integration == "aws-sdk:sagemaker:createModelPackage" and parameters.get("ModelPackageGroupName"):
            found["@next_model_package"] = store.next_model_package(str(parameters["ModelPackageGroupName"]), region)
        if integration.startswith("aws-sdk:applicationautoscaling:"):
            # the scalable target and target-tracking alarms get generated ids; the variant's endpoint is
            # the first two parts of the resource id (endpoint/<name>/variant/<variant>)
            found["@scalable_target_id"] = "local-target"
            found["@alarm_id"] = "local-alarm"
            endpoint = "/".join(str(parameters.get("ResourceId", "")).split("/")[:2])
            found["@autoscaling_endpoint"] = f"arn:{PARTITION}:sagemaker:{region}:{account}:{endpoint.lower()}"
            config = store.endpoint_config_of(endpoint.split("/")[-1], region)
            found["@autoscaling_endpoint_config"] = (
                f"arn:{PARTITION}:sagemaker:{region}:{account}:endpoint-config/{config.lower()}" if config else None
            )
        if integration == "aws-sdk:sagemaker:createArtifact":
            from ..aws.sagemaker_lineage import artifact_arn

            source = parameters.get("Source")
            found["@new_artifact"] = artifact_arn(region, account, source if isinstance(source, dict) else {})
        if integration == "aws-sdk:s3:getObject" and parameters.get("Bucket") and parameters.get("Key"):
            found["@object_kms_key"] = store.object_kms_key(str(parameters["Bucket"]), str(parameters["Key"]))
        if integration == "sns:publish" and parameters.get("TopicArn"):
            found["@topic_kms_key"] = store.topic_kms_key(str(parameters["TopicArn"]), region)
        return found


#: SageMaker's prebuilt images live in registries of AWS's own accounts, one per region and family
#: (sagemaker-core's ``image_uri_config``, packaged as ``sm_constructs/data/image_accounts.json``),
#: whose repository policies let every account pull: "SageMaker AI provides prebuilt Docker images ...
#: To pull an image, your IAM principal needs the ECR pull permissions" (SageMaker Developer Guide,
#: "Docker Registry Paths and Example Code", sagemaker-algo-docker-registry-paths.html). The pull is
#: still a cross-account request: the execution role's identity policies must allow it.
PREBUILT_IMAGE_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
            "Resource": "*",
        }
    ],
}


@functools.cache
def _image_registry() -> dict[str, Any]:
    text = resources.files("sm_constructs.data").joinpath("image_accounts.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


def _prebuilt_image_repository(repository_arn: str) -> bool:
    parts = repository_arn.split(":", 5)
    if len(parts) != 6 or not parts[5].startswith("repository/"):
        return False
    region, account, name = parts[3], parts[4], parts[5].split("/", 1)[1]
    registry = _image_registry()
    accounts = registry["regions"].get(region, {})
    return any(
        accounts.get(family) == account and spec.get("repository") == name
        for family, spec in registry["families"].items()
    )


def _arn_account(arn: str) -> str | None:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 and re.fullmatch(r"\d{12}", parts[4]) else None


def _bucket_of(resource: str) -> str:
    return resource.split(":::", 1)[1].split("/", 1)[0]


def _owner_account(service: str, resource: str) -> str | None:
    """The account a resource belongs to: in its ARN, or for S3 (ARNs without an account) the bucket's owner."""
    if service == "s3" and ":::" in resource:
        return PolicyStore.bucket_account(_bucket_of(resource))
    return _arn_account(resource)


def _session(state_machine_arn: str) -> str:
    return state_machine_arn.rsplit(":", 1)[-1] or "states"


# -- hooks into moto's interpreter ------------------------------------------------------------
def _denied_error(integration: str, error: AccessDenied) -> ClientError:
    """The error the service returns; the integration turns it into the task's error and cause."""
    sdk = integration.startswith("aws-sdk:")
    service = integration.split(":")[1 if sdk else 0]
    code = {"s3": "AccessDenied", "sns": "AuthorizationError"}.get(service, "AccessDeniedException")
    message = str(error)
    if service == "sagemaker" and not sdk:
        # the optimized integration's cause, as AWS reports it (quoted in aws/aws-cdk issue 26012)
        message += " (Service: AmazonSageMaker; Status Code: 400; Error Code: AccessDeniedException; Request ID: local-iam; Proxy: null)"
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": 403, "RequestId": "local-iam"},
        },
        error.request.action.split(":", 1)[1],
    )


def _install_task_authorization(enforcer: Enforcer) -> None:
    from .. import patches

    @patches.wrap(
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_factory",
        "state_task_service_for",
        why="every Task state's call is authorized against the deployed policies first, as on AWS",
    )
    def state_task_service_for(delegate: Any, service_name: str) -> Any:
        service = delegate(service_name)
        original = service._eval_service_task

        def eval_service_task(
            env: Any, resource_runtime_part: Any, normalised_parameters: dict[str, Any], state_credentials: Any
        ) -> None:
            machine = env.states.context_object.context_object_data.get("StateMachine", {}).get("Id", "")
            try:
                enforcer.task(
                    service.resource.resource_arn,
                    normalised_parameters,
                    role_arn=state_credentials.role_arn,
                    state_machine_arn=machine,
                    region=resource_runtime_part.region,
                )
            except AccessDenied as denied:
                raise _denied_error(service.resource.resource_arn.split(":::", 1)[-1], denied) from None
            original(env, resource_runtime_part, normalised_parameters, state_credentials)

        service._eval_service_task = eval_service_task  # this task's service only
        return service


def _install_bucket_policies() -> None:
    """``AWS::S3::BucketPolicy`` for moto's CloudFormation (it skips the type), recorded for enforcement."""
    from moto.core.common_models import CloudFormationModel

    from .. import patches
    from ..aws import cloudformation

    class BucketPolicyResource(cloudformation.ResourceModel, CloudFormationModel):
        TYPE = "AWS::S3::BucketPolicy"

        def __init__(self, bucket: str) -> None:
            self.bucket = bucket

        @property
        def physical_resource_id(self) -> str:
            return self.bucket

        @patches.creates
        def create_from_cloudformation_json(cls: Any, change: patches.Change) -> BucketPolicyResource:
            bucket = str(change.properties["Bucket"])
            BUCKET_POLICIES[(change.account_id, bucket)] = _loads(change.properties["PolicyDocument"])
            return cls(bucket)

        @classmethod
        def delete_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            BUCKET_POLICIES.pop((account_id, str(cloudformation_json["Properties"]["Bucket"])), None)

    cloudformation.resource_type(BucketPolicyResource, why="AWS::S3::BucketPolicy (moto skips it), recorded for IAM")


def _install_state_machine_keys() -> None:
    """Record each CloudFormation state machine's customer managed key (moto's model drops it)."""
    from .. import patches

    def record_key(machine: Any, properties: dict[str, Any], account_id: str) -> None:
        encryption = properties.get("EncryptionConfiguration") or {}
        if encryption.get("Type") == "CUSTOMER_MANAGED_KMS_KEY" and encryption.get("KmsKeyId"):
            STATE_MACHINE_KEYS[machine.arn] = str(encryption["KmsKeyId"])

    patches.wrap_cloudformation(
        "moto.stepfunctions.models:StateMachine",
        why="a CloudFormation state machine's customer managed key is recorded for IAM (moto's model drops it)",
        made=record_key,
        update=False,
    )


def _function_arn(function_name: str, region: str, account: str) -> str:
    """The ARN a Lambda ``FunctionName`` names: a name (``my-function[:alias]``), a partial ARN
    (``123456789012:function:my-function``) or an ARN (botocore's Lambda model, ``Invoke.FunctionName``)."""
    if function_name.startswith("arn:"):
        return function_name
    if function_name.split(":")[1:2] == ["function"]:
        return f"arn:{PARTITION}:lambda:{region}:{function_name}"
    return f"arn:{PARTITION}:lambda:{region}:{account}:function:{function_name}"


def install(enforcer: Enforcer) -> None:
    """Authorize every state machine task; record bucket policies and state machine keys for it."""
    from .. import patches

    _install_task_authorization(enforcer)
    _install_bucket_policies()
    _install_state_machine_keys()
    patches.apply()


def model_data_access(enforcer: Enforcer, backend: Any, endpoint_config: str) -> str | None:
    """The ``FailureReason`` of an endpoint whose variant's model role may not read the model's data.

    SageMaker downloads a model's ``ModelDataUrl`` as the model's execution role when it deploys it
    (SageMaker Developer Guide, "CreateModel API: Execution Role Permissions": the role needs
    ``s3:GetObject`` on the model artifacts), so the role's policies decide, and for a
    bucket or key of another account (a release's build account) the bucket and key policies too.
    The calls are :data:`~sm_constructs.local.iam.calls.JOB_ACCESS` ``read`` (``s3:GetObject``, and
    ``kms:Decrypt`` through S3 for an SSE-KMS object). SageMaker's wording of the failure is not
    documented; the emulator's names the model data and AWS's denial.
    """
    from .calls import JOB_ACCESS

    try:
        variants = backend.describe_endpoint_config(endpoint_config)["ProductionVariants"]
    except Exception:
        return None  # CreateEndpoint reports the missing configuration itself
    region = backend.region_name
    for variant in variants:
        model = backend._models.get(variant.get("ModelName", ""))
        if model is None or not model.execution_role_arn:
            continue
        url = str(serving_container(backend, model).get("ModelDataUrl") or "")
        if not url.startswith("s3://"):
            continue
        bucket, _, key = url.removeprefix("s3://").partition("/")
        owner = enforcer.store.for_account(PolicyStore.bucket_account(bucket) or backend.account_id)
        values = {
            "partition": PARTITION,
            "region": region,
            "account": backend.account_id,
            "role": model.execution_role_arn,
            "bucket": bucket,
            "key": key,
            "object_key": (owner.key_arn(kms, region) if (kms := owner.object_kms_key(bucket, key)) else None),
            "object_arn": f"arn:{PARTITION}:s3:::{bucket}/{key}",
        }
        for call in JOB_ACCESS["read"]:
            try:
                enforcer.check(model.execution_role_arn, call, values, session="SageMaker")
            except AccessDenied as denied:
                return f"Could not access model data at {url}: {denied}"
    return None
