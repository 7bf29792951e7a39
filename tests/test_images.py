import json
import shutil
from pathlib import Path

import pytest
from aws_cdk import CfnOutput, Environment, Stack
from aws_cdk import aws_ecr as ecr
from support import cfn_lint, new_app, new_stack, template_of

from sm_constructs._validation import ConstructValidationError
from sm_constructs.images import MAPPING_ID, ContainerImage, image_registry

# Published by AWS for these regions (SageMaker docs, "Docker Registry Paths and Example Code").
KNOWN = {
    ("us-east-1", "sklearn"): "683313688378",
    ("eu-west-1", "xgboost"): "141502667606",
    ("cn-north-1", "sklearn"): "450853457545",
    ("us-gov-west-1", "sklearn"): "414596584902",
}
SUFFIX = {"cn-north-1": "amazonaws.com.cn"}


def _resolve(value, template, region):
    """Evaluate Fn::Join / Fn::FindInMap / Ref pseudo parameters the way CloudFormation would."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(_resolve(p, template, region) for p in parts)
    if "Fn::FindInMap" in value:
        name, key, attr = value["Fn::FindInMap"]
        return template["Mappings"][name][_resolve(key, template, region)][attr]
    if value == {"Ref": "AWS::Region"}:
        return region
    if value == {"Ref": "AWS::URLSuffix"}:
        return SUFFIX.get(region, "amazonaws.com")
    if value == {"Ref": "AWS::Partition"}:
        return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if "gov" in region else "aws"
    raise AssertionError(value)


@pytest.fixture(scope="module")
def template():
    stack = new_stack()
    ecr.Repository(stack, "Placeholder", image_scan_on_push=True)  # a stack needs one resource
    CfnOutput(stack, "Sklearn", value=ContainerImage.sklearn("1.2-1").bind(stack).image_uri)
    CfnOutput(stack, "Spark", value=ContainerImage.spark_processing("3.5").bind(stack).image_uri)
    xgb = ContainerImage.xgboost().bind(stack)
    CfnOutput(stack, "Xgboost", value=xgb.image_uri)
    CfnOutput(stack, "XgboostRepo", value=xgb.repository_arns[0])
    return template_of(stack).to_json()


def test_one_mapping_holds_the_published_table(template):
    mapping = template["Mappings"][MAPPING_ID]
    assert mapping == image_registry()["regions"]
    for (region, family), account in KNOWN.items():
        assert mapping[region][family] == account


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-3", "cn-north-1", "us-gov-west-1"])
def test_uris_resolve_per_region(template, region):
    out = {k: _resolve(v["Value"], template, region) for k, v in template["Outputs"].items()}
    account = template["Mappings"][MAPPING_ID][region]["sklearn"]
    suffix = SUFFIX.get(region, "amazonaws.com")
    assert out["Sklearn"] == f"{account}.dkr.ecr.{region}.{suffix}/sagemaker-scikit-learn:1.2-1-cpu-py3"
    assert out["Spark"].endswith(f".dkr.ecr.{region}.{suffix}/sagemaker-spark-processing:3.5-cpu-py312")
    assert out["Xgboost"].endswith("/sagemaker-xgboost:1.7-1")
    assert out["XgboostRepo"].startswith(f"arn:{_resolve({'Ref': 'AWS::Partition'}, template, region)}:ecr:{region}:")


def test_env_agnostic_and_lint_clean(template):
    assert "us-east-1" not in str(template["Outputs"])
    assert cfn_lint(template) == []


def test_unknown_version_lists_supported():
    stack = new_stack()
    with pytest.raises(
        ConstructValidationError, match=r"sklearn framework_version='9.9' is invalid: supported: .*1\.2-1"
    ):
        ContainerImage.sklearn("9.9").bind(stack)


def test_region_without_image_is_an_error_when_known():
    stack = Stack(new_app(), "Somewhere", env=Environment(account="123456789012", region="xx-nowhere-1"))
    with pytest.raises(ConstructValidationError, match="region='xx-nowhere-1'"):
        ContainerImage.xgboost().bind(stack)


def test_ecr_repository_image():
    stack = new_stack()
    repo = ecr.Repository(stack, "Repo")
    config = ContainerImage.from_ecr_repository(repo, "v3").bind(stack)
    assert stack.resolve(config.repository_arns) == [
        {"Fn::GetAtt": [stack.get_logical_id(repo.node.default_child), "Arn"]}
    ]
    assert "v3" in str(stack.resolve(config.image_uri))


def test_asset_image_synthesizes_without_docker(tmp_path, monkeypatch):
    (tmp_path / "Dockerfile").write_text("FROM public.ecr.aws/docker/library/python:3.12-slim\n")
    monkeypatch.setenv("PATH", "/nonexistent")  # no docker binary reachable; node is already running
    assert shutil.which("docker") is None
    app = new_app()
    stack = new_stack(app)
    ecr.Repository(stack, "Placeholder", image_scan_on_push=True)  # a stack needs one resource
    config = ContainerImage.from_asset(str(tmp_path)).bind(stack)
    assembly = app.synth()
    manifest = json.loads((Path(assembly.directory) / "Test.assets.json").read_text())
    (image,) = manifest["dockerImages"].values()
    staged = Path(assembly.directory) / image["source"]["directory"]
    assert (staged / "Dockerfile").is_file()  # staged for cdk-assets to build at publish time
    assert "container-assets" in str(stack.resolve(config.image_uri))


def test_asset_without_dockerfile_is_a_clear_error(tmp_path):
    with pytest.raises(ConstructValidationError, match="no Dockerfile at"):
        ContainerImage.from_asset(str(tmp_path)).bind(new_stack())


def test_uri_escape_hatch():
    config = ContainerImage.from_uri("public.ecr.aws/x/y:1").bind(new_stack())
    assert config.image_uri == "public.ecr.aws/x/y:1" and config.repository_arns == []
