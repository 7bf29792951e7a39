"""Container images for SageMaker jobs and models, resolved without knowing the region at synth.

Built-in images (scikit-learn, Spark processing, XGBoost) live in AWS-owned registries whose
account differs per region. The table comes from SageMaker's published registry data (the
SDK's ``image_uri_config`` JSON, see ``scripts/refresh_image_accounts.py``) and is rendered as one
``CfnMapping`` per stack (:data:`MAPPING_ID`), so in an env-agnostic stack the image URI is
``Fn::FindInMap``-resolved at deploy time::

    ${account}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/<repository>:<tag>

``AWS::URLSuffix`` gives ``amazonaws.com.cn`` in China and ``AWS::Partition`` the right ARN
partition in GovCloud and China. A stack with a concrete region gets a literal account instead,
and a region without the image is a synth-time error; in an env-agnostic stack a region missing
from the table can only fail at deploy (CloudFormation rejects the ``Fn::FindInMap``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from aws_cdk import CfnMapping, Stack, Token
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from constructs import Construct

from ._iam import combine_grants
from ._memo import aws, stack_memo
from ._validation import Problems, is_token

__all__ = ["DEFAULT_VERSIONS", "MAPPING_ID", "ContainerImage", "ImageConfig", "image_registry"]

#: Logical ID of the per-stack registry mapping (part of the template contract: keep it stable).
MAPPING_ID = "SmConstructsImageRegistry"

#: Framework versions used when none is given. Pinned here, not taken from the data file, so that
#: refreshing the registry data never changes a deployed job's image behind its owner's back.
DEFAULT_VERSIONS = {"sklearn": "1.4-2", "spark": "3.5", "xgboost": "1.7-1", "modelmonitor": "latest"}

#: What an execution role needs to pull from a repository (plus ecr:GetAuthorizationToken on "*").
ECR_PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]


def grant_ecr_token(grantee: iam.IGrantable) -> iam.Grant:
    """``ecr:GetAuthorizationToken`` on ``*``: the action has no resource type (what aws-cdk's
    ``ecr.AuthorizationToken.grant_read`` adds, as a grant that can be combined)."""
    return iam.Grant.add_to_principal(grantee=grantee, actions=["ecr:GetAuthorizationToken"], resource_arns=["*"])


_ECR_TAG_RE = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127}$")
_DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")


@cache
def image_registry() -> dict[str, Any]:
    """The packaged registry data: ``source``, ``families`` (repository, versions -> tag) and ``regions``."""
    text = resources.files("sm_constructs.data").joinpath("image_accounts.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@dataclass(frozen=True)
class ImageConfig:
    """A bound image: the URI for API requests and the repositories the execution role must pull from.

    :param image_uri: the URI API requests name.
    :param repository_arns: ECR repositories the role must pull from. Default: - none known.
    :param family: the built-in family (``sklearn``, ``spark``, ``xgboost``). Default: - none (your own image).
    """

    image_uri: str
    #: ECR repository ARNs to grant pull on; empty when nothing is known (:meth:`ContainerImage.from_uri`).
    repository_arns: list[str] = field(default_factory=list)
    #: Built-in family ("sklearn", "spark", "xgboost"), or None for your own images.
    family: str | None = None


class ContainerImage:
    """An image for a job or model; :meth:`bind` it in a construct scope to get its URI and repositories.

    Build one with the factories (``sklearn``, ``spark_processing``, ``xgboost``,
    ``from_ecr_repository``, ``from_asset``, ``from_uri``); the same object may be bound in many
    scopes and stacks.
    """

    def bind(self, scope: Construct) -> ImageConfig:
        """The image URI (tokens allowed) and repository ARNs as seen from ``scope``'s stack."""
        raise NotImplementedError

    def grant_pull(self, scope: Construct, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` pull this image; a dropped grant (``success`` False, no statements) when nothing
        can be derived (``from_uri``: grant it yourself).

        A grantee with ``grant_ecr_pull`` (``SageMakerExecutionRole``) uses it, so its statements stay in one place.
        Any other grantee gets the pull actions on the repositories plus ``ecr:GetAuthorizationToken`` on ``*``
        (that action has no resource type), which cdk-nag reports as ``AwsSolutions-IAM5[Resource::*]``.
        """
        config = self.bind(scope)
        if not config.repository_arns:
            return iam.Grant.drop(grantee, "pull an image given by URI only (no repository known)")
        if hasattr(grantee, "grant_ecr_pull"):
            grant: iam.Grant = grantee.grant_ecr_pull(*config.repository_arns)
            return grant
        return combine_grants(
            grant_ecr_token(grantee),
            iam.Grant.add_to_principal(grantee=grantee, actions=ECR_PULL_ACTIONS, resource_arns=config.repository_arns),
        )

    # ---- factories ------------------------------------------------------------------------
    @staticmethod
    def sklearn(framework_version: str | None = None) -> ContainerImage:
        """SageMaker's scikit-learn image (processing, script-mode training, inference).

        :param framework_version: e.g. ``"1.2-1"``. Default: ``DEFAULT_VERSIONS["sklearn"]`` (1.4-2).
        """
        return _BuiltIn("sklearn", framework_version or DEFAULT_VERSIONS["sklearn"])

    @staticmethod
    def spark_processing(
        framework_version: str | None = None,
        *,
        py_version: str | None = None,
        container_version: str | None = None,
    ) -> ContainerImage:
        """SageMaker's Spark processing image (``smspark-submit``), tagged as the SageMaker SDK tags it.

        :param framework_version: Spark version, e.g. ``"3.5"``. Default: ``DEFAULT_VERSIONS["spark"]`` (3.5).
        :param py_version: e.g. ``"py312"``; give it together with ``container_version`` to pin an exact
            release (``3.5-cpu-py312-v1.4``). Default: - the floating ``<version>-cpu`` tag the SDK uses.
        :param container_version: container release such as ``"1"`` or ``"1.4"`` (rendered ``v1.4``).
            Default: - none (see ``py_version``).
        """
        return _BuiltIn(
            "spark", framework_version or DEFAULT_VERSIONS["spark"], py_version=py_version, container=container_version
        )

    @staticmethod
    def xgboost(framework_version: str | None = None) -> ContainerImage:
        """SageMaker's built-in XGBoost algorithm image (training and inference; also script mode).

        :param framework_version: e.g. ``"3.0-5"``. Default: ``DEFAULT_VERSIONS["xgboost"]`` (1.7-1).
        """
        return _BuiltIn("xgboost", framework_version or DEFAULT_VERSIONS["xgboost"])

    @staticmethod
    def model_monitor() -> ContainerImage:
        """SageMaker Model Monitor's analyzer (``sagemaker-model-monitor-analyzer``): data-quality
        baselines (a processing job) and monitoring schedules. The SDK pins no tag (``latest``)."""
        return _BuiltIn("modelmonitor", DEFAULT_VERSIONS["modelmonitor"])

    @staticmethod
    def from_ecr_repository(repository: ecr.IRepository, tag: str = "latest") -> ContainerImage:
        """An image in your ECR repository; pull is granted on that repository only.

        :param tag: image tag, or an image digest ``sha256:...`` for an immutable reference. Default: ``latest``.
        """
        return _Repository(repository, tag)

    @staticmethod
    def from_asset(directory: str, **docker_image_asset_kwargs: Any) -> ContainerImage:
        """An image built from a local Dockerfile as a CDK ``DockerImageAsset``.

        Synth only stages the directory into the cloud assembly (no Docker engine needed); the
        image is built and pushed to the bootstrap repository by ``cdk deploy`` / ``cdk-assets`` on
        a machine with Docker. Keyword arguments go to ``DockerImageAsset`` (``file``,
        ``build_args``, ``platform``, ...). One asset is created per stack, in the first scope bound.
        """
        return _Asset(directory, docker_image_asset_kwargs)

    @staticmethod
    def from_uri(uri: str) -> ContainerImage:
        """Any image URI (escape hatch). No repository is known, so no pull permission is derived:
        grant ``ecr:BatchGetImage`` etc. on the repository yourself."""
        return _Uri(uri)


class _BuiltIn(ContainerImage):
    def __init__(self, family: str, version: str, *, py_version: str | None = None, container: str | None = None):
        self.family = family
        self.version = version
        self.py_version = py_version
        self.container_version = container

    def _validate(self, scope: Construct, stack: Stack) -> dict[str, Any]:
        spec: dict[str, Any] = image_registry()["families"][self.family]
        versions: dict[str, Any] = spec["versions"]
        problems = Problems.at("ContainerImage", scope)
        entry = versions.get(self.version)
        if entry is None:
            problems.add(f"{self.family} framework_version", self.version, f"supported: {', '.join(versions)}")
        elif self.py_version is not None or self.container_version is not None:
            if (self.py_version is None) != (self.container_version is None):
                problems.conflict(
                    ["py_version", "container_version"], "give both to pin a release, or neither for the floating tag"
                )
            if self.py_version is not None and self.py_version not in entry.get("py_versions", []):
                options = ", ".join(entry.get("py_versions", [])) or "none"
                problems.add("py_version", self.py_version, f"Spark {self.version} images ship {options}")
            if self.container_version is not None and not re.fullmatch(r"\d+(\.\d+)*", self.container_version):
                problems.add("container_version", self.container_version, "a release number such as '1' or '1.4'")
        region = stack.region
        if not Token.is_unresolved(region) and self.family not in image_registry()["regions"].get(region, {}):
            published = [r for r, families in image_registry()["regions"].items() if self.family in families]
            problems.add(
                "region",
                region,
                f"SageMaker publishes no {spec['repository']} image there (regions: {', '.join(published)})",
            )
        problems.raise_if_any()
        return spec

    def bind(self, scope: Construct) -> ImageConfig:
        key = ("builtin-image", self.family, self.version, self.py_version, self.container_version)
        return stack_memo(scope, key, lambda stack: self._bind(scope, stack))

    def _bind(self, scope: Construct, stack: Stack) -> ImageConfig:
        spec = self._validate(scope, stack)
        tag: str = spec["versions"][self.version]["tag"]
        if self.py_version and self.container_version:
            tag = f"{tag}-{self.py_version}-v{self.container_version}"
        # Env-agnostic: Fn::FindInMap on AWS::Region. Concrete region: the lazy mapping returns the literal account.
        account = _mapping(stack).find_in_map(stack.region, self.family)
        repository = spec["repository"]
        uri = f"{account}.dkr.ecr.{aws('REGION')}.{aws('URL_SUFFIX')}/{repository}:{tag}"
        arn = f"arn:{aws('PARTITION')}:ecr:{aws('REGION')}:{account}:repository/{repository}"
        return ImageConfig(image_uri=uri, repository_arns=[arn], family=self.family)


def _mapping(stack: Stack) -> CfnMapping:
    """The stack's one registry mapping, created on first use (lazy: rendered only when looked up by token)."""
    existing = stack.node.try_find_child(MAPPING_ID)
    if isinstance(existing, CfnMapping):
        return existing
    regions: dict[str, dict[str, str]] = image_registry()["regions"]
    return CfnMapping(stack, MAPPING_ID, mapping={r: dict(accounts) for r, accounts in regions.items()}, lazy=True)


class _Repository(ContainerImage):
    def __init__(self, repository: ecr.IRepository, tag: str) -> None:
        self.repository = repository
        self.tag = tag

    def bind(self, scope: Construct) -> ImageConfig:
        if not is_token(self.tag) and not (
            isinstance(self.tag, str) and (_ECR_TAG_RE.fullmatch(self.tag) or _DIGEST_RE.fullmatch(self.tag))
        ):
            problems = Problems.at("ContainerImage", scope)
            problems.add(
                "tag", self.tag, "an ECR image tag ([a-zA-Z0-9_][a-zA-Z0-9_.-], at most 128) or sha256:<digest>"
            )
            problems.raise_if_any()
        uri = (
            self.repository.repository_uri_for_digest(self.tag)
            if not is_token(self.tag) and self.tag.startswith("sha256:")
            else self.repository.repository_uri_for_tag(self.tag)
        )
        return ImageConfig(uri, [self.repository.repository_arn])


class _Asset(ContainerImage):
    def __init__(self, directory: str, kwargs: dict[str, Any]) -> None:
        self.directory = directory
        self.kwargs = kwargs

    def bind(self, scope: Construct) -> ImageConfig:
        # One asset per stack however many jobs use this image.
        return stack_memo(scope, ("asset-image", self), lambda _: self._bind(scope))

    def _bind(self, scope: Construct) -> ImageConfig:
        dockerfile = Path(self.directory) / self.kwargs.get("file", "Dockerfile")
        problems = Problems.at("ContainerImage", scope)
        if not dockerfile.is_file():
            problems.add("from_asset(directory)", self.directory, f"no Dockerfile at {dockerfile}")
        problems.raise_if_any()
        asset = ecr_assets.DockerImageAsset(scope, _free_id(scope, "Image"), directory=self.directory, **self.kwargs)
        return ImageConfig(asset.image_uri, [asset.repository.repository_arn])


def _free_id(scope: Construct, base: str) -> str:
    """``base``, or ``base2``, ``base3``... when a scope binds several asset images."""
    candidate, n = base, 1
    while scope.node.try_find_child(candidate) is not None:
        n += 1
        candidate = f"{base}{n}"
    return candidate


class _Uri(ContainerImage):
    def __init__(self, uri: str) -> None:
        self.uri = uri

    def bind(self, scope: Construct) -> ImageConfig:
        if not is_token(self.uri) and (not isinstance(self.uri, str) or not self.uri.strip() or " " in self.uri):
            problems = Problems.at("ContainerImage", scope)
            problems.add("from_uri(uri)", self.uri, "an image URI such as '<registry>/<repository>:<tag>'")
            problems.raise_if_any()
        return ImageConfig(self.uri, [])
