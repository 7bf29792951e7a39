"""Container images for SageMaker jobs and models, resolved without knowing the region at synth.

Built-in images (scikit-learn, Spark processing, XGBoost) live in AWS-owned registries whose
account differs per region. The table comes from SageMaker's published registry data (see
``scripts/refresh_image_accounts.py``) and is rendered as one ``CfnMapping`` per stack, so the
image URI is ``Fn::FindInMap``-resolved at deploy time and stacks stay env-agnostic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from aws_cdk import Aws, CfnMapping, Fn, Stack, Token
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from constructs import Construct

from ._validation import Problems

__all__ = ["ContainerImage", "ImageConfig", "image_registry"]

MAPPING_ID = "SmConstructsImageRegistry"


@cache
def image_registry() -> dict[str, Any]:
    """The packaged registry table: ``families`` (repository, tags) and ``regions`` (accounts)."""
    text = resources.files("sm_constructs.data").joinpath("image_accounts.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


@dataclass(frozen=True)
class ImageConfig:
    """A bound image: the URI for requests and the repositories the execution role must pull from."""

    image_uri: str
    repository_arns: list[str] = field(default_factory=list)
    #: Built-in family ("sklearn", "spark", "xgboost") or None for user images.
    family: str | None = None


class ContainerImage:
    """An image for a job or model; call :meth:`bind` in a construct scope to get its URI."""

    def bind(self, scope: Construct) -> ImageConfig:
        raise NotImplementedError

    def grant_pull(self, scope: Construct, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` pull this image (no-op for plain URIs: nothing is known to grant)."""
        config = self.bind(scope)
        if not config.repository_arns:
            return
        if hasattr(grantee, "grant_ecr_pull"):
            grantee.grant_ecr_pull(*config.repository_arns)
            return
        iam.Grant.add_to_principal(grantee=grantee, actions=["ecr:GetAuthorizationToken"], resource_arns=["*"])
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            resource_arns=config.repository_arns,
        )

    # ---- factories ------------------------------------------------------------------------
    @staticmethod
    def sklearn(framework_version: str | None = None) -> ContainerImage:
        """SageMaker's scikit-learn image (processing, script-mode training, inference). Default: newest."""
        return _BuiltIn("sklearn", framework_version)

    @staticmethod
    def spark_processing(framework_version: str | None = None) -> ContainerImage:
        """SageMaker's Spark processing image (``smspark-submit``). Default: newest."""
        return _BuiltIn("spark", framework_version)

    @staticmethod
    def xgboost(framework_version: str | None = None) -> ContainerImage:
        """SageMaker's built-in XGBoost algorithm image (training, inference, and a Python with xgboost).
        Default: ``1.7-1``, the newest version with the pickle-free model format widely supported."""
        return _BuiltIn("xgboost", framework_version or "1.7-1")

    @staticmethod
    def from_ecr_repository(repository: ecr.IRepository, tag: str = "latest") -> ContainerImage:
        """An image in your ECR repository; pull is granted on that repository only."""
        return _Repository(repository, tag)

    @staticmethod
    def from_asset(directory: str, **kwargs: Any) -> ContainerImage:
        """An image built from a local Dockerfile as a CDK ``DockerImageAsset``.

        Synth only stages the directory (no Docker engine needed); the image is built and pushed by
        ``cdk deploy`` / ``cdk-assets`` on a machine with Docker. ``kwargs`` go to DockerImageAsset.
        """
        return _Asset(directory, kwargs)

    @staticmethod
    def from_uri(uri: str) -> ContainerImage:
        """Any image URI (escape hatch). No pull permission can be derived: grant it yourself."""
        return _Uri(uri)


class _BuiltIn(ContainerImage):
    def __init__(self, family: str, version: str | None) -> None:
        self.family = family
        spec = image_registry()["families"][family]
        self.version = version or spec["default_version"]
        self._spec = spec

    def bind(self, scope: Construct) -> ImageConfig:
        stack = Stack.of(scope)
        problems = Problems("ContainerImage", scope.node.path)
        tags: dict[str, str] = self._spec["tags"]
        if self.version not in tags:
            problems.add(f"{self.family} framework_version", self.version, f"supported: {', '.join(tags)}")
        regions: dict[str, dict[str, str]] = image_registry()["regions"]
        if not Token.is_unresolved(stack.region) and self.family not in regions.get(stack.region, {}):
            problems.add("region", stack.region, f"SageMaker publishes no {self.family} image there")
        problems.raise_if_any()
        account = Fn.find_in_map(_mapping(stack).logical_id, Aws.REGION, self.family)
        repository = self._spec["repository"]
        uri = f"{account}.dkr.ecr.{Aws.REGION}.{Aws.URL_SUFFIX}/{repository}:{tags[self.version]}"
        arn = f"arn:{Aws.PARTITION}:ecr:{Aws.REGION}:{account}:repository/{repository}"
        return ImageConfig(image_uri=uri, repository_arns=[arn], family=self.family)


def _mapping(stack: Stack) -> CfnMapping:
    existing = stack.node.try_find_child(MAPPING_ID)
    if isinstance(existing, CfnMapping):
        return existing
    regions: dict[str, dict[str, str]] = image_registry()["regions"]
    return CfnMapping(stack, MAPPING_ID, mapping={region: dict(accounts) for region, accounts in regions.items()})


class _Repository(ContainerImage):
    def __init__(self, repository: ecr.IRepository, tag: str) -> None:
        self.repository = repository
        self.tag = tag

    def bind(self, scope: Construct) -> ImageConfig:
        return ImageConfig(self.repository.repository_uri_for_tag(self.tag), [self.repository.repository_arn])


class _Asset(ContainerImage):
    def __init__(self, directory: str, kwargs: dict[str, Any]) -> None:
        self.directory = directory
        self.kwargs = kwargs
        self._assets: dict[str, ecr_assets.DockerImageAsset] = {}

    def bind(self, scope: Construct) -> ImageConfig:
        key = Stack.of(scope).node.path
        if key not in self._assets:
            dockerfile = Path(self.directory) / self.kwargs.get("file", "Dockerfile")
            problems = Problems("ContainerImage", scope.node.path)
            if not dockerfile.is_file():
                problems.add("from_asset(directory)", self.directory, f"no Dockerfile at {dockerfile}")
            problems.raise_if_any()
            self._assets[key] = ecr_assets.DockerImageAsset(scope, "Image", directory=self.directory, **self.kwargs)
        asset = self._assets[key]
        return ImageConfig(asset.image_uri, [asset.repository.repository_arn])


class _Uri(ContainerImage):
    def __init__(self, uri: str) -> None:
        self.uri = uri

    def bind(self, scope: Construct) -> ImageConfig:
        return ImageConfig(self.uri, [])
