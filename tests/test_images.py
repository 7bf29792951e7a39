import importlib.util
import json
import shutil
from pathlib import Path

import pytest
from aws_cdk import CfnOutput, Environment, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from support import ROOT, cfn_lint, new_app, new_stack, template_of

from sm_constructs._validation import ConstructValidationError
from sm_constructs.images import DEFAULT_VERSIONS, MAPPING_ID, ContainerImage, image_registry

# Published by AWS independently of the SDK data (SageMaker "Docker Registry Paths" docs and
# aws/sagemaker-spark-container available_images.md): the generated table must agree.
KNOWN = {
    ("us-east-1", "sklearn"): "683313688378",
    ("eu-west-1", "xgboost"): "141502667606",
    ("us-east-1", "spark"): "173754725891",
    ("cn-north-1", "sklearn"): "450853457545",
    ("cn-north-1", "spark"): "671472414489",
    ("us-gov-west-1", "sklearn"): "414596584902",
}
SUFFIX = {"cn-north-1": "amazonaws.com.cn", "cn-northwest-1": "amazonaws.com.cn"}
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-3", "cn-north-1", "cn-northwest-1", "us-gov-west-1"]


def _partition(region):
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


def _resolve(value, template, region):
    """Evaluate Fn::Join / Fn::FindInMap / pseudo parameters the way CloudFormation would in ``region``."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(_resolve(p, template, region) for p in parts)
    if "Fn::FindInMap" in value:
        name, key, attr = value["Fn::FindInMap"]
        return template["Mappings"][name][_resolve(key, template, region)][attr]
    pseudo = {
        "AWS::Region": region,
        "AWS::URLSuffix": SUFFIX.get(region, "amazonaws.com"),
        "AWS::Partition": _partition(region),
    }
    if "Ref" in value and value["Ref"] in pseudo:
        return pseudo[value["Ref"]]
    raise AssertionError(value)


@pytest.fixture(scope="module")
def template():
    stack = new_stack()
    images = {
        "Sklearn": ContainerImage.sklearn("1.2-1"),
        "SklearnDefault": ContainerImage.sklearn(),
        "Spark": ContainerImage.spark_processing("3.5"),
        "SparkPinned": ContainerImage.spark_processing("3.5", py_version="py312", container_version="1.4"),
        "Xgboost": ContainerImage.xgboost(),
        "XgboostOld": ContainerImage.xgboost("1.0-1"),
    }
    for name, image in images.items():
        config = image.bind(stack)
        CfnOutput(stack, name, value=config.image_uri)
        CfnOutput(stack, f"{name}Repo", value=config.repository_arns[0])
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    images["Sklearn"].grant_pull(stack, role)
    return template_of(stack).to_json()


def _outputs(template, region):
    return {k: _resolve(v["Value"], template, region) for k, v in template["Outputs"].items()}


def test_one_mapping_holds_the_published_table(template):
    assert list(template["Mappings"]) == [MAPPING_ID]
    mapping = template["Mappings"][MAPPING_ID]
    assert mapping == image_registry()["regions"]
    for (region, family), account in KNOWN.items():
        assert mapping[region][family] == account


@pytest.mark.parametrize("region", REGIONS)
def test_uris_and_repository_arns_resolve_per_region(template, region):
    out = _outputs(template, region)
    accounts = template["Mappings"][MAPPING_ID][region]
    host = {f: f"{accounts[f]}.dkr.ecr.{region}.{SUFFIX.get(region, 'amazonaws.com')}" for f in accounts}
    assert out["Sklearn"] == f"{host['sklearn']}/sagemaker-scikit-learn:1.2-1-cpu-py3"
    assert out["SklearnDefault"] == f"{host['sklearn']}/sagemaker-scikit-learn:{DEFAULT_VERSIONS['sklearn']}-cpu-py3"
    assert out["Spark"] == f"{host['spark']}/sagemaker-spark-processing:3.5-cpu"
    assert out["SparkPinned"] == f"{host['spark']}/sagemaker-spark-processing:3.5-cpu-py312-v1.4"
    assert out["Xgboost"] == f"{host['xgboost']}/sagemaker-xgboost:1.7-1"
    assert out["XgboostOld"] == f"{host['xgboost']}/sagemaker-xgboost:1.0-1-cpu-py3"
    arn = f"arn:{_partition(region)}:ecr:{region}:{accounts['spark']}:repository/sagemaker-spark-processing"
    assert out["SparkRepo"] == arn


def test_grant_pull_on_a_plain_role_is_scoped_to_the_repository(template):
    (policy,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    by_action = {json.dumps(s["Action"]): s["Resource"] for s in statements}
    assert by_action['"ecr:GetAuthorizationToken"'] == "*"  # ECR does not scope the token action
    pull = next(r for a, r in by_action.items() if "ecr:BatchGetImage" in a)
    assert _resolve(pull, template, "us-east-1") == (
        "arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-scikit-learn"
    )


def test_env_agnostic_and_lint_clean(template):
    assert "us-east-1" not in json.dumps(template["Outputs"])
    assert cfn_lint(template) == []
    assert cfn_lint(template, regions=["cn-north-1", "us-gov-west-1"]) == []


def test_data_file_is_package_data_from_the_pinned_sdk():
    data = image_registry()
    assert data["source"]["package"] in {"sagemaker", "sagemaker-core"} and data["source"]["version"]
    for family, version in DEFAULT_VERSIONS.items():
        assert version in data["families"][family]["versions"]
    assert {"cn-north-1", "us-gov-west-1", "us-east-1"} <= set(data["regions"])
    packaged = ROOT / "sm_constructs" / "data" / "image_accounts.json"
    assert json.loads(packaged.read_text()) == data  # read through importlib.resources from the package


@pytest.fixture(scope="module")
def refresh():
    spec = importlib.util.spec_from_file_location("refresh", ROOT / "scripts" / "refresh_image_accounts.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _config(versions, **top):
    return {**top, "versions": versions}


def test_refresh_builds_tags_and_accounts_like_the_sdk(refresh):
    reg = {"us-east-1": "111", "cn-north-1": "222"}
    configs = {
        "sklearn": {
            "training": _config(
                {
                    "1.2-1": {
                        "processors": ["cpu"],
                        "py_versions": ["py3"],
                        "repository": "sagemaker-scikit-learn",
                        "registries": reg,
                    }
                }
            )
        },
        "spark": {
            "processing": _config(
                {
                    "3.5": {
                        "py_versions": ["py39", "py312"],
                        "repository": "sagemaker-spark-processing",
                        "registries": {"us-east-1": "333"},
                    }
                },
                processors=["cpu"],
            )
        },
        "xgboost": {
            "training": _config(
                {
                    "1": {"repository": "xgboost", "registries": {"us-east-1": "999"}},
                    "1.0-1": {
                        "processors": ["cpu"],
                        "py_versions": ["py3"],
                        "repository": "sagemaker-xgboost",
                        "registries": reg,
                    },
                    "1.7-1": {"repository": "sagemaker-xgboost", "registries": reg},
                }
            )
        },
        # as the SDK ships it: scopes listed, one unnamed version
        "model-monitor": _config(
            {"": {"repository": "sagemaker-model-monitor-analyzer", "registries": {"us-east-1": "555"}}},
            processors=["cpu"],
            scope=["monitoring"],
        ),
    }
    data = refresh.build(configs, "sagemaker-core==9.9", "9.9", "sagemaker/core/image_uri_config")
    assert data["source"] == {"package": "sagemaker-core", "version": "9.9", "path": "sagemaker/core/image_uri_config"}
    assert data["families"]["sklearn"]["versions"] == {"1.2-1": {"tag": "1.2-1-cpu-py3"}}
    assert data["families"]["spark"]["versions"] == {"3.5": {"tag": "3.5-cpu", "py_versions": ["py39", "py312"]}}
    assert data["families"]["xgboost"]["versions"] == {"1.0-1": {"tag": "1.0-1-cpu-py3"}, "1.7-1": {"tag": "1.7-1"}}
    assert data["families"]["modelmonitor"]["versions"] == {"latest": {"tag": "latest"}}
    assert data["regions"] == {
        "cn-north-1": {"sklearn": "222", "xgboost": "222"},
        "us-east-1": {"sklearn": "111", "spark": "333", "xgboost": "111", "modelmonitor": "555"},
    }
    configs["xgboost"]["training"]["versions"]["1.7-1"]["registries"] = {"us-east-1": "444"}
    with pytest.raises(SystemExit, match="registry accounts differ"):
        refresh.build(configs, "sagemaker-core==9.9", "9.9", "x")


def test_unknown_version_lists_supported():
    with pytest.raises(
        ConstructValidationError,
        match=r"ContainerImage 'Test': sklearn framework_version='9\.9' is invalid: supported: .*1\.2-1",
    ):
        ContainerImage.sklearn("9.9").bind(new_stack())


def test_spark_pinning_rules():
    with pytest.raises(ConstructValidationError, match=r"2 problems") as err:
        ContainerImage.spark_processing("3.3", py_version="py312").bind(new_stack())
    text = str(err.value)
    assert "py_version and container_version conflict" in text
    assert "py_version='py312' is invalid: Spark 3.3 images ship py39" in text
    with pytest.raises(ConstructValidationError, match=r"container_version='v1' is invalid: a release number"):
        ContainerImage.spark_processing(py_version="py39", container_version="v1").bind(new_stack())


def test_concrete_region_resolves_to_a_literal_account():
    stack = Stack(new_app(), "China", env=Environment(region="cn-north-1"))
    config = ContainerImage.sklearn("1.2-1").bind(stack)
    resolved = json.dumps(stack.resolve(config.image_uri))
    assert "450853457545.dkr.ecr." in resolved and "FindInMap" not in resolved


def test_region_without_image_is_a_synth_error_when_known():
    stack = Stack(new_app(), "Somewhere", env=Environment(account="123456789012", region="xx-nowhere-1"))
    with pytest.raises(
        ConstructValidationError, match=r"region='xx-nowhere-1' is invalid: SageMaker publishes no sagemaker-xgboost"
    ):
        ContainerImage.xgboost().bind(stack)


def test_mapping_created_once_and_only_when_needed():
    stack = new_stack()
    ContainerImage.sklearn().bind(stack)
    ContainerImage.xgboost().bind(stack)
    ContainerImage.from_uri("public.ecr.aws/x/y:1").bind(stack)
    assert [c.node.id for c in stack.node.children if c.node.id.startswith("SmConstructs")] == [MAPPING_ID]
    other = new_stack()
    ContainerImage.from_uri("public.ecr.aws/x/y:1").bind(other)
    assert other.node.try_find_child(MAPPING_ID) is None


def test_ecr_repository_image_tag_digest_and_arns():
    stack = new_stack()
    repo = ecr.Repository(stack, "Repo")
    image = ContainerImage.from_ecr_repository(repo, "v3")
    config = image.bind(stack)
    assert stack.resolve(config.repository_arns) == [
        {"Fn::GetAtt": [stack.get_logical_id(repo.node.default_child), "Arn"]}
    ]
    assert json.dumps(stack.resolve(config.image_uri)).endswith(':v3"]]}')
    digest = "sha256:" + "a" * 64
    assert json.dumps(stack.resolve(ContainerImage.from_ecr_repository(repo, digest).bind(stack).image_uri)).endswith(
        f'@{digest}"]]}}'
    )
    with pytest.raises(ConstructValidationError, match=r"tag='bad tag' is invalid: an ECR image tag"):
        ContainerImage.from_ecr_repository(repo, "bad tag").bind(stack)


def test_asset_image_synthesizes_without_docker(tmp_path, monkeypatch):
    (tmp_path / "Dockerfile").write_text("FROM public.ecr.aws/docker/library/python:3.12-slim\n")
    (tmp_path / "Other.Dockerfile").write_text("FROM public.ecr.aws/docker/library/python:3.11-slim\n")
    monkeypatch.setenv("PATH", "/nonexistent")  # no docker binary reachable; node is already running
    assert shutil.which("docker") is None
    app = new_app()
    stack = new_stack(app)
    ecr.Repository(stack, "Placeholder", image_scan_on_push=True)  # a stack needs one resource
    image = ContainerImage.from_asset(str(tmp_path))
    config = image.bind(stack)
    assert image.bind(stack) == config  # one asset per stack, however often bound
    other = ContainerImage.from_asset(str(tmp_path), file="Other.Dockerfile").bind(stack)
    assert [c.node.id for c in stack.node.children if c.node.id.startswith("Image")] == ["Image", "Image2"]
    assembly = app.synth()
    manifest = json.loads((Path(assembly.directory) / "Test.assets.json").read_text())
    assert len(manifest["dockerImages"]) == 2
    for image_manifest in manifest["dockerImages"].values():
        staged = Path(assembly.directory) / image_manifest["source"]["directory"]
        assert (staged / "Dockerfile").is_file()  # staged for cdk-assets to build at publish time
    # the URI and the pull grant name the repository and tag cdk-assets publishes each image to
    destinations = [d for m in manifest["dockerImages"].values() for d in m["destinations"].values()]
    published = {f"{d['repositoryName']}:{d['imageTag']}" for d in destinations}
    registry = "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/"
    uri = stack.resolve(config.image_uri)["Fn::Sub"]
    assert uri.startswith(registry) and uri.removeprefix(registry) in published
    (repositories,) = {d["repositoryName"] for d in destinations}
    (repository_arn,) = stack.resolve(other.repository_arns)
    assert repository_arn["Fn::Join"][1][-2:] == [":repository/", {"Fn::Sub": repositories}]


def test_asset_without_dockerfile_is_a_clear_error(tmp_path):
    with pytest.raises(ConstructValidationError, match="no Dockerfile at"):
        ContainerImage.from_asset(str(tmp_path)).bind(new_stack())


def test_uri_escape_hatch_grants_nothing():
    stack = new_stack()
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    image = ContainerImage.from_uri("public.ecr.aws/x/y:1")
    config = image.bind(stack)
    assert config.image_uri == "public.ecr.aws/x/y:1" and config.repository_arns == []
    grant = image.grant_pull(stack, role)
    assert not grant.success and grant.principal_statements == []
    assert "Policy" not in [c.node.id for c in role.node.children]
    with pytest.raises(ConstructValidationError, match=r"from_uri\(uri\)='' is invalid"):
        ContainerImage.from_uri("").bind(stack)
