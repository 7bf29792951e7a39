"""Releases across accounts: build in one account, staging and production in two others.

The build account registers and approves model versions (:class:`~sm_constructs.MlPipeline`,
:class:`~sm_constructs.ModelPackageGroup`). :class:`ReleaseSource` there shares what a release needs
with the staging and production accounts, and nothing more:

* the model package group's resource policy (``ModelPackageGroupPolicy``) lets them describe and list
  the group's versions, and lets staging record its smoke test on a version (``UpdateModelPackage``);
* the artifacts bucket's policy lets them read the released artifacts (one prefix), and the bucket
  key's policy lets them decrypt through S3 only (``kms:ViaService``), with no ``kms:CreateGrant``;
* the registry's state-change events are forwarded to their default event buses.

Every grant names the account (``aws:PrincipalAccount``) and only roles tagged as release readers
(``aws:PrincipalTag``) in it: no ``*`` principal. In each target account :class:`ReleaseTarget` lets the
build account's forwarder put those events on the default bus (``events:source`` and
``events:detail-type`` pinned), imports the shared group, and tags and grants the roles that read a
release. A :class:`~sm_constructs.ModelDeployment` there deploys: in staging every approved version,
followed by a :class:`SmokeTest` whose result is recorded on the version; in production only versions
that passed staging and carry the production approval (``required_metadata``, see
:data:`PRODUCTION_GATE`).

The accounts and regions are props or context (:meth:`ReleaseAccounts.from_context`); the stacks stay
deployable with ``cdk deploy`` and from a CDK Pipelines pipeline (``examples/multi-account``).

Sources: SageMaker Developer Guide, "Deploy a Model Version from a Different Account"
(model-registry-deploy-xaccount.html: the model group, the artifacts bucket and its key each need a
cross-account resource policy) and "Set up discoverability" (model-registry-ram-discover.html: the
group policy's DescribeModelPackage, ListModelPackages, DescribeModelPackageGroup); IAM User Guide,
"Cross-account policy evaluation logic"; EventBridge User Guide, "Sending and receiving events
between AWS accounts" (a rule targets the other account's bus; that bus's resource policy allows
``events:PutEvents``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from aws_cdk import Aws, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from constructs import Construct

from ._flags import pin_feature_flags
from ._iam import ManagedPolicyRole, service_of_this_account
from ._iam_facts import EVENTS_PRINCIPAL
from ._nag import acknowledge, flatten_cfn_reference, iam5
from ._validation import Problems, typed
from .jobs._task import sagemaker_arn
from .jobs.refs import IModelPackageGroup, group_versions_arn
from .jobs.registry import ModelPackageGroup
from .storage import DataPrefix, MlDataBucket

__all__ = [
    "PRODUCTION_APPROVAL",
    "PRODUCTION_GATE",
    "RELEASE_READER_TAG",
    "SMOKE_TEST_KEY",
    "ReleaseAccounts",
    "ReleaseSource",
    "ReleaseTarget",
    "SmokeTest",
    "StageEnvironment",
]

#: Tag (value ``true``) that marks the target accounts' roles allowed to read a release in the build account.
RELEASE_READER_TAG = "sm-constructs:release-reader"
#: ``CustomerMetadataProperties`` key the staging smoke test records its result under (``Passed``/``Failed``).
SMOKE_TEST_KEY = "SmokeTest"
#: ``CustomerMetadataProperties`` key of the production approval: a person sets it to ``Approved`` on the
#: version in the build account (``aws sagemaker update-model-package --customer-metadata-properties``).
PRODUCTION_APPROVAL = "ProductionApproval"
#: What production deploys: versions that passed staging and were approved for production.
PRODUCTION_GATE: Mapping[str, str] = {SMOKE_TEST_KEY: "Passed", PRODUCTION_APPROVAL: "Approved"}

#: The registry's calls a target account makes on the shared group (model-registry-ram-discover.html)
SHARED_GROUP_ACTIONS = (
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:DescribeModelPackage",
    "sagemaker:ListModelPackages",
)
#: The smoke test's record on the version (SageMaker API reference, UpdateModelPackage: CustomerMetadataProperties)
RECORD_ACTIONS = ("sagemaker:UpdateModelPackage",)
#: Reading a released artifact, and decrypting it through S3 (Amazon S3 User Guide, SSE-KMS)
ARTIFACT_READ_ACTIONS = ("s3:GetObject",)
ARTIFACT_KEY_ACTIONS = ("kms:Decrypt",)
#: The registry's event (deployment.APPROVAL_EVENT), forwarded to the target accounts
REGISTRY_EVENT_SOURCE = "aws.sagemaker"
REGISTRY_EVENT_DETAIL_TYPE = "SageMaker Model Package State Change"
#: EventBridge User Guide, "Using IAM policy conditions in Amazon EventBridge": events:source, events:detail-type
PUT_EVENTS_ACTIONS = ("events:PutEvents",)

_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
Stage = Literal["staging", "production"]


@dataclass(frozen=True)
class StageEnvironment:
    """Where one stage runs: its account and region.

    :param account: the stage's AWS account id.
    :param region: the stage's region.
    """

    account: str
    region: str


@dataclass(frozen=True)
class ReleaseAccounts:
    """The three accounts of a release and their regions.

    :param build: where models are trained, registered and approved (the registry and artifacts).
    :param staging: where every approved version is deployed and smoke-tested.
    :param production: where versions that passed staging and were approved for production are deployed.
    :param artifacts_prefix: the prefix of the artifacts bucket the released versions' artifacts are under;
        the target accounts can read nothing else. Default: ``models/``.
    """

    build: StageEnvironment
    staging: StageEnvironment
    production: StageEnvironment
    artifacts_prefix: str = DataPrefix.MODELS

    @staticmethod
    def from_context(scope: Construct, key: str = "sm-constructs:release") -> ReleaseAccounts:
        """The accounts from context, e.g. ``cdk.json``: ``{"sm-constructs:release": {"build": {"account":
        "111111111111", "region": "us-east-1"}, "staging": {...}, "production": {...}}}``."""
        problems = Problems.for_construct("ReleaseAccounts", scope, "from_context")
        value = scope.node.try_get_context(key)
        stages: dict[str, StageEnvironment] = {}
        if not isinstance(value, Mapping):
            problems.add(f"context '{key}'", value, "give build, staging and production, each with account and region")
            problems.raise_if_any()
        assert isinstance(value, Mapping)
        for stage in ("build", "staging", "production"):
            entry = value.get(stage)
            if not isinstance(entry, Mapping) or not {"account", "region"} <= set(entry):
                problems.add(f"context '{key}'.{stage}", entry, "give an object with account and region")
                continue
            stages[stage] = StageEnvironment(str(entry["account"]), str(entry["region"]))
        problems.raise_if_any()
        accounts = ReleaseAccounts(stages["build"], stages["staging"], stages["production"])
        accounts.check(problems, f"context '{key}'")
        problems.raise_if_any()
        return accounts

    def check(self, problems: Problems, where: str) -> None:
        """Account ids of 12 digits, AWS region names, and a build account apart from both targets."""
        for stage, env in (("build", self.build), ("staging", self.staging), ("production", self.production)):
            if not _ACCOUNT.match(env.account):
                problems.add(f"{where}.{stage}.account", env.account, "an AWS account id is 12 digits")
            if not _REGION.match(env.region):
                problems.add(f"{where}.{stage}.region", env.region, "an AWS region name such as us-east-1")
        for stage, env in (("staging", self.staging), ("production", self.production)):
            if env.account == self.build.account:
                problems.add(
                    f"{where}.{stage}.account",
                    env.account,
                    "is the build account: a release across accounts needs a separate account per stage",
                )
        if not self.artifacts_prefix.endswith("/"):
            problems.add(f"{where}.artifacts_prefix", self.artifacts_prefix, "a prefix ends with '/'")

    @property
    def targets(self) -> dict[Stage, StageEnvironment]:
        return {"staging": self.staging, "production": self.production}

    def stage(self, name: Stage) -> StageEnvironment:
        return self.targets[name]


def _reader_conditions(accounts: Sequence[str]) -> dict[str, Any]:
    """Only the named accounts' roles tagged as release readers (no ``*`` principal anywhere)."""
    return {
        "StringEquals": {
            "aws:PrincipalAccount": list(accounts),
            f"aws:PrincipalTag/{RELEASE_READER_TAG}": "true",
        }
    }


def _roots(accounts: Sequence[str]) -> list[iam.IPrincipal]:
    return [iam.AccountPrincipal(account) for account in accounts]


class ReleaseSource(Construct):
    """The build account's half of a release: shares the group, the artifacts and the approval events.

    :param accounts: the release's accounts; this construct's stack is the build account's.
    :param group: the model package group whose versions are released (a group this app creates: its
        resource policy is set here).
    :param artifacts: the bucket (and its key) the versions' artifacts are in, under
        ``accounts.artifacts_prefix``.
    """

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        accounts: ReleaseAccounts,
        group: ModelPackageGroup,
        artifacts: MlDataBucket,
    ) -> None:
        problems = Problems.for_construct(type(self).__name__, scope, id)
        accounts.check(problems, "accounts")
        if artifacts.encryption_key is None:
            problems.add("artifacts", artifacts.node.path, "the artifacts bucket must be SSE-KMS with a customer key")
        problems.raise_if_any()
        super().__init__(scope, id)
        pin_feature_flags(self)
        self.accounts = accounts
        targets = [env.account for env in accounts.targets.values()]
        # from the name, not the group's ARN attribute: the policy is a property of the group itself
        group_arn = sagemaker_arn(self, "model-package-group", group.group_name)
        versions_arn = group_versions_arn(self, group)
        #: The group's resource policy, as rendered into ``ModelPackageGroupPolicy``.
        self.group_policy = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="ReleaseRead",
                    principals=_roots(targets),
                    actions=list(SHARED_GROUP_ACTIONS),
                    resources=[group_arn, versions_arn],
                    conditions=_reader_conditions(targets),
                ),
                iam.PolicyStatement(
                    sid="StagingRecordsSmokeTest",
                    principals=_roots([accounts.staging.account]),
                    actions=list(RECORD_ACTIONS),
                    resources=[versions_arn],
                    conditions=_reader_conditions([accounts.staging.account]),
                ),
            ]
        )
        group.cfn_group.model_package_group_policy = self.group_policy.to_json()

        objects = artifacts.bucket.arn_for_objects(f"{accounts.artifacts_prefix}*")
        artifacts.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ReleaseReadArtifacts",
                principals=_roots(targets),
                actions=list(ARTIFACT_READ_ACTIONS),
                resources=[objects],
                conditions=_reader_conditions(targets),
            )
        )
        assert artifacts.encryption_key is not None
        artifacts.encryption_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ReleaseDecryptArtifactsThroughS3",
                principals=_roots(targets),
                actions=list(ARTIFACT_KEY_ACTIONS),
                resources=["*"],
                conditions={
                    "StringEquals": {
                        **_reader_conditions(targets)["StringEquals"],
                        "kms:ViaService": f"s3.{Aws.REGION}.amazonaws.com",
                    }
                },
            )
        )

        #: Forwards the group's state-change events to the staging and production default buses.
        self.forward_rule = events.Rule(
            self,
            "ForwardRegistryEvents",
            description=f"Forwards {group.group_name}'s registry events to the staging and production accounts",
            event_pattern=events.EventPattern(
                source=[REGISTRY_EVENT_SOURCE],
                detail_type=[REGISTRY_EVENT_DETAIL_TYPE],
                detail={"ModelPackageGroupName": [group.group_name]},
            ),
        )
        role = ManagedPolicyRole(self, "ForwardRole", assumed_by=service_of_this_account(EVENTS_PRINCIPAL))
        for stage, env in accounts.targets.items():
            bus = events.EventBus.from_event_bus_arn(
                self,
                f"{stage.title()}Bus",
                f"arn:{Aws.PARTITION}:events:{env.region}:{env.account}:event-bus/default",
            )
            self.forward_rule.add_target(events_targets.EventBus(bus, role=role))


class ReleaseTarget(Construct):
    """A target account's half of a release (staging or production).

    Lets the build account forward the registry's events to this account's default bus, imports the
    shared group for a :class:`~sm_constructs.ModelDeployment`, and with :meth:`grant_release_read`
    tags and grants the roles that read a release.

    :param accounts: the release's accounts; this construct's stack is ``stage``'s account.
    :param stage: ``staging`` or ``production``.
    :param group_name: the shared model package group in the build account.
    :param artifacts_bucket_name: the build account's artifacts bucket.
    """

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        accounts: ReleaseAccounts,
        stage: Stage,
        group_name: str,
        artifacts_bucket_name: str,
    ) -> None:
        problems = Problems.for_construct(type(self).__name__, scope, id)
        accounts.check(problems, "accounts")
        problems.one_of("stage", stage, ("staging", "production"))
        problems.raise_if_any()
        super().__init__(scope, id)
        pin_feature_flags(self)
        self.accounts = accounts
        self.stage = stage
        self.artifacts_bucket_name = artifacts_bucket_name
        build = accounts.build
        #: The shared group, in the build account.
        self.group: IModelPackageGroup = ModelPackageGroup.from_group_name(
            self, "Group", group_name, account=build.account, region=build.region
        )
        self.bus_policy = events.CfnEventBusPolicy(
            self,
            "FromBuildAccount",
            event_bus_name="default",
            statement_id=f"sm-constructs-release-from-{build.account}",
            statement={
                "Sid": f"SmConstructsReleaseFrom{build.account}",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{Aws.PARTITION}:iam::{build.account}:root"},
                "Action": list(PUT_EVENTS_ACTIONS),
                "Resource": f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}:event-bus/default",
                "Condition": {
                    "StringEquals": {
                        "aws:PrincipalAccount": build.account,
                        "events:source": REGISTRY_EVENT_SOURCE,
                        "events:detail-type": REGISTRY_EVENT_DETAIL_TYPE,
                    }
                },
            },
        )

    def grant_release_read(self, role: iam.IRole) -> iam.Grant:
        """Tag ``role`` as a release reader and let it read released artifacts of the build account.

        Give it to the deployment's model execution role (SageMaker reads the artifact as that role) and
        to its state machine role (it describes the versions). The build account's policies admit only
        tagged roles of this account.
        """
        from aws_cdk import Tags

        Tags.of(role).add(RELEASE_READER_TAG, "true")
        build = self.accounts.build
        bucket_objects = f"arn:{Aws.PARTITION}:s3:::{self.artifacts_bucket_name}/{self.accounts.artifacts_prefix}*"
        build_keys = f"arn:{Aws.PARTITION}:kms:{build.region}:{build.account}:key/*"
        grant = iam.Grant.add_to_principal(
            grantee=role, actions=list(ARTIFACT_READ_ACTIONS), resource_arns=[bucket_objects]
        )
        key_grant = iam.Grant.add_to_principal(
            grantee=role,
            actions=list(ARTIFACT_KEY_ACTIONS),
            resource_arns=[build_keys],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{build.region}.amazonaws.com"}},
        )

        stack = Stack.of(self)
        acknowledge(
            role,
            [iam5(resource=flatten_cfn_reference(stack.resolve(arn))) for arn in (bucket_objects, build_keys)],
            "Released artifacts are the objects under the build account's artifacts prefix, decrypted through S3 "
            "only; the build account's bucket and key policies narrow both to this account's tagged roles.",
        )
        return grant.combine(key_grant)


@dataclass(frozen=True)
class SmokeTest:
    """A first invocation of a newly deployed endpoint, before the release counts as passed.

    The endpoint is invoked with ``payload``; the test passes when the response is JSON holding each
    of ``expected_fields`` (top-level keys). The result is recorded on the version in the registry
    (``CustomerMetadataProperties[SmokeTest]`` = ``Passed`` or ``Failed``), where production's gate reads it.

    :param payload: the request body, e.g. ``'{"instances": [[1.0, 2.0]]}'``.
    :param expected_fields: keys the JSON response must have. Default: - any JSON response passes.
    :param content_type: Default: ``application/json``.
    :param accept: Default: ``application/json``.
    """

    payload: str
    expected_fields: Sequence[str] = ()
    content_type: str = "application/json"
    accept: str = "application/json"
