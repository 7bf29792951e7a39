import pytest
from hypothesis import given
from hypothesis import strategies as st

from sm_constructs._validation import ConstructValidationError, Problems


def test_single_problem_names_kind_path_field_value_and_rule():
    p = Problems("NotebookInstance", "Stack/Nb")
    p.int_range("volume_size_gb", 2, 5, 16384, " GB")
    with pytest.raises(ConstructValidationError) as e:
        p.raise_if_any()
    assert str(e.value) == "NotebookInstance 'Stack/Nb': volume_size_gb=2 is invalid: must be between 5 and 16384 GB"


def test_all_problems_are_reported_at_once():
    p = Problems("X", "S/X")
    p.instance_type("instance_type", "m5.xlarge")
    p.name("job_name_prefix", "a" * 60, max_len=63, reserve=13, what="job name prefix")
    p.conflict(["existing_bucket", "bucket_props"], "give one or the other")
    with pytest.raises(ConstructValidationError) as e:
        p.raise_if_any()
    assert len(e.value.problems) == 3
    assert "use at most 50" in str(e.value)
    assert "existing_bucket and bucket_props conflict" in str(e.value)


def test_no_problem_no_error():
    p = Problems("X", "S/X")
    p.instance_type("instance_type", "ml.m5.xlarge")
    p.int_range("n", 5, 5, 10)
    p.raise_if_any()


@given(st.text(max_size=30))
def test_instance_type_rule_accepts_only_ml_types(value):
    p = Problems("X", "S/X")
    p.instance_type("instance_type", value)
    ok = not p
    parts = value.split(".")
    looks_ml = (
        len(parts) == 3
        and parts[0] == "ml"
        and all(parts[1:])
        and all(c.islower() or c.isdigit() or c == "-" for c in "".join(parts[1:]))
        and all(c.isascii() for c in value)
        and not parts[1].startswith("-")
        and "-" not in parts[2]
    )
    assert ok == looks_ml


# ---- the walk of a request against botocore's model --------------------------------------------------
def _problems_of(operation: str, request: dict, service: str = "sagemaker") -> list[str]:
    from sm_constructs._validation import check_request

    p = Problems("X", "S/X")
    check_request(p, service, operation, request)
    return p._items


def test_walk_checks_enum_length_pattern_range_and_required():
    items = _problems_of(
        "CreateModelPackageGroup",
        {"ModelPackageGroupName": "bad_name", "ModelPackageGroupDescription": "d" * 1025},
    )
    assert any(i.startswith("ModelPackageGroupName='bad_name' is invalid: must match") for i in items)
    assert any("ModelPackageGroupDescription=" in i and "at most 1024" in i for i in items)
    items = _problems_of("CreateEndpoint", {"EndpointName": "e"})
    assert items == [
        "EndpointConfigName=None is invalid: is required (SageMaker CreateEndpoint, shape CreateEndpointInput)"
    ]


def test_walk_reads_java_unicode_classes():
    # EntityDescription is [\p{L}\p{M}\p{Z}\p{S}\p{N}\p{P}]*: letters of any script pass, a control character fails.
    ok = _problems_of(
        "CreateModelPackageGroup", {"ModelPackageGroupName": "g", "ModelPackageGroupDescription": "Ærø 模型 ✓"}
    )
    bad = _problems_of(
        "CreateModelPackageGroup", {"ModelPackageGroupName": "g", "ModelPackageGroupDescription": "a\x07"}
    )
    assert ok == [] and len(bad) == 1 and "must match" in bad[0]


def test_walk_skips_run_time_values_but_not_static_jsonpaths():
    from aws_cdk import aws_stepfunctions as sfn

    token = sfn.JsonPath.string_at("$.steps.Model.ModelName")
    assert _problems_of("CreateEndpoint", {"EndpointName": token, "EndpointConfigName.$": "$.c"}) == []
    (item,) = _problems_of("CreateEndpoint", {"EndpointName": "e", "EndpointConfigName": "$.steps.C.Name"})
    assert "sfn.JsonPath.string_at('$.steps.C.Name')" in item
    # DataProcessing filters are JSONPaths by definition (shape JsonPath): no error there.
    request = {
        "TransformJobName": "t",
        "ModelName": "m",
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket-b/in/"}}},
        "TransformOutput": {"S3OutputPath": "s3://bucket-b/out/"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        "DataProcessing": {"InputFilter": "$[1:]", "OutputFilter": "$.x"},
    }
    assert _problems_of("CreateTransformJob", request) == []


def test_walk_names_unknown_fields_with_the_nearest_member():
    (item,) = _problems_of("CreateEndpoint", {"EndpointName": "e", "EndpointConfigName": "c", "Tag": []})
    assert "Tag=[] is invalid: not a field of CreateEndpointInput; nearest: 'Tags'" in item


def test_walk_covers_other_services():
    (item,) = _problems_of("GetObject", {"Bucket": "b", "Key": ""}, service="s3")
    assert item.startswith("Key='' is invalid: is 0 characters; at least 1 (S3 GetObject")
    (item,) = _problems_of(
        "CreateStateMachine", {"name": "n" * 81, "definition": "{}", "roleArn": "r"}, "stepfunctions"
    )
    assert "at most 80" in item
