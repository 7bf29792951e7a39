"""Data-aware step caching: the fingerprint states (listing each input prefix, hashing its object
versions in-state) run in moto's ASL interpreter against moto's S3, and their IAM read from the template.

The whole pipeline (hits and misses on changed data, in the emulator) is in test_cache_emulator.py.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from asl_eval import ended, moto_step_functions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match, Template
from sfn_requests import iter_states, state_machines
from support import new_app, new_stack

from sm_constructs import InputField, MlPipeline, ProcessingDefinition, ProcessingInput, ProcessingOutput, StepCache
from sm_constructs._validation import ConstructValidationError
from sm_constructs.jobs.cache import MAX_DEPTH, MAX_PAGES, PAGE_SIZE

RUN = sfn.JsonPath.execution_name


def _build(stack, raw: InputField) -> ProcessingDefinition:
    role = iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::123456789012:role/sm-exec", mutable=False)
    prepare = ProcessingDefinition(
        stack,
        "Prepare",
        role=role,
        entrypoint=["python3", "-c", "pass"],
        inputs=[
            ProcessingInput("raw", sfn.JsonPath.string_at("$.input.rawUri")),
            ProcessingInput("lookup", "s3://reference-data/lookup/"),
            ProcessingInput("recent", sfn.JsonPath.format("s3://{}/daily/{}/", "events-data", RUN)),
        ],
        outputs=[ProcessingOutput("train", sfn.JsonPath.format("s3://data/processed/{}/", RUN))],
        name_prefix="prepare",
    )
    MlPipeline(stack, "Pipeline", preprocessing=[prepare], inputs=[raw], cache=StepCache(), alarms=False)
    return prepare


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    app = new_app()
    stack = new_stack(app)
    _build(stack, InputField("rawUri", kind="s3_uri", default="s3://data/raw/"))
    template = app.synth().get_stack_by_name(stack.stack_name).template
    (asl,) = state_machines(template).values()
    return {"template": template, "states": dict(iter_states(asl))}


def test_each_input_prefix_but_the_code_is_fingerprinted_and_hashed_into_the_key(built):
    states = built["states"]
    key = states["PrepareCacheKey"]["Parameters"]
    assert key["inputs"] == [
        {"uri.$": "$.input.rawUri"},
        {"uri": "s3://reference-data/lookup/"},
        {"uri.$": "States.Format('s3://{}/daily/{}/', 'events-data', $$.Execution.Name)"},
    ]
    fingerprint = states["PrepareData"]
    assert fingerprint["Type"] == "Map" and fingerprint["ItemsPath"] == "$.cache.Prepare.inputs"
    assert fingerprint["ResultPath"] == "$.cache.Prepare.data"
    hashed = states["PrepareCacheKeyHash"]["Parameters"]
    assert hashed["key.$"] == (
        "States.Hash(States.Format('{}{}', States.Hash(States.JsonToString($.cache.Prepare.request), 'SHA-256'), "
        "States.Hash(States.JsonToString($.cache.Prepare.data), 'SHA-256')), 'SHA-256')"
    )
    # data it cannot fingerprint (saying why) runs the job without the cache; other errors fail the step
    not_cached, failed = fingerprint["Catch"]
    assert not_cached == {
        "ErrorEquals": ["SmConstructs.NotCached"],
        "ResultPath": "$.cache.Prepare.uncached",
        "Next": "PrepareNotCached",
    }
    assert failed["ErrorEquals"] == ["States.ALL"] and failed["Next"] == "PrepareFailed"
    # the failure path, naming the step (the failed run's lineage, then the notification)
    assert states["PrepareFailed"]["Next"] == "LineageNames"
    assert states["PrepareNotCached"]["Next"] == "Prepare"
    assert states["PrepareNotCached"]["Parameters"]["key"] == "uncached"


def test_listing_is_granted_per_input_prefix_only(built):
    template = Template.from_json(built["template"])
    for bucket, prefix in [("data", "raw/*"), ("reference-data", "lookup/*"), ("events-data", "daily/*")]:
        template.has_resource_properties(
            "AWS::IAM::ManagedPolicy",
            {
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            {
                                "Action": "s3:ListBucketVersions",
                                "Effect": "Allow",
                                "Resource": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":s3:::{bucket}"]]},
                                "Condition": {"StringLike": {"s3:prefix": prefix}},
                            }
                        ]
                    )
                }
            },
        )


def test_an_input_whose_location_is_unknown_at_synth_fails_naming_it():
    with pytest.raises(ConstructValidationError, match=r"'Test/Prepare': inputs\[raw\]='\$.input.rawUri'.*InputField"):
        _build(new_stack(), InputField("rawUri", kind="s3_uri"))


# ---- the fingerprint states, run -------------------------------------------------------------------
BUCKET = "fingerprint-data"


def _fingerprint(states: dict[str, Any], s3: Any, sfn_client: Any, uris: list[str]) -> dict[str, Any]:
    """Run the PrepareData Map alone over ``uris``; its description (status, cause, output)."""
    fingerprint = {k: v for k, v in states["PrepareData"].items() if k not in ("Next", "Catch")}
    asl = {"StartAt": "PrepareData", "States": {"PrepareData": {**fingerprint, "End": True}}}
    arn = sfn_client.create_state_machine(
        name=f"fp-{time.monotonic_ns()}",
        definition=json.dumps(asl).replace("arn:ref-AWS::Partition:", "arn:aws:"),
        roleArn="arn:aws:iam::123456789012:role/r",
    )["stateMachineArn"]
    payload = {"cache": {"Prepare": {"inputs": [{"uri": u} for u in uris]}}}
    execution = sfn_client.start_execution(stateMachineArn=arn, input=json.dumps(payload))["executionArn"]
    return ended(sfn_client, execution, tries=3000)


@pytest.fixture(scope="module")
def aws():
    with moto_step_functions():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.create_bucket(Bucket=f"{BUCKET}-versioned")
        s3.put_bucket_versioning(Bucket=f"{BUCKET}-versioned", VersioningConfiguration={"Status": "Enabled"})
        yield s3, boto3.client("stepfunctions")


def _prints(built, aws, *uris: str) -> list[dict[str, Any]]:
    described = _fingerprint(built["states"], *aws, list(uris))
    assert described["status"] == "SUCCEEDED", described
    return list(json.loads(described["output"])["cache"]["Prepare"]["data"])


def test_same_data_same_fingerprint_and_a_changed_object_changes_it(built, aws):
    s3, _ = aws
    for name in ("a.csv", "b.csv"):
        s3.put_object(Bucket=BUCKET, Key=f"same/{name}", Body=b"1,2\n")
    s3.put_object(Bucket=BUCKET, Key="same-other/x.csv", Body=b"9\n")  # another prefix sharing the name's start
    uri = f"s3://{BUCKET}/same/"
    first, again = _prints(built, aws, uri), _prints(built, aws, uri)
    assert first == again and first[0]["uri"] == uri and first[0]["pages"] == 1
    s3.put_object(Bucket=BUCKET, Key="same-other/x.csv", Body=b"10\n")  # outside the prefix (trailing / kept)
    assert _prints(built, aws, uri) == first
    s3.put_object(Bucket=BUCKET, Key="same/b.csv", Body=b"1,3\n")  # unversioned: the ETag changes
    changed = _prints(built, aws, uri)
    assert changed[0]["fingerprint"] != first[0]["fingerprint"]
    s3.put_object(Bucket=BUCKET, Key="same/b.csv", Body=b"1,2\n")  # the same bytes again: the same data
    assert _prints(built, aws, uri) == first


def test_versioned_inputs_are_fingerprinted_by_version(built, aws):
    s3, _ = aws
    bucket = f"{BUCKET}-versioned"
    s3.put_object(Bucket=bucket, Key="v/a.csv", Body=b"1\n")
    uri = f"s3://{bucket}/v/a.csv"  # an object URI is a prefix too
    first = _prints(built, aws, uri)
    s3.put_object(Bucket=bucket, Key="v/a.csv", Body=b"1\n")  # a new version, same bytes: a new version id
    second = _prints(built, aws, uri)
    assert second[0]["fingerprint"] != first[0]["fingerprint"]
    s3.delete_object(Bucket=bucket, Key="v/a.csv")  # a delete marker: the latest version changes
    assert _prints(built, aws, uri)[0]["fingerprint"] != second[0]["fingerprint"]


def test_prefixes_are_paged_and_too_many_objects_are_not_cached_saying_why(built, aws):
    from moto.s3.models import s3_backends  # objects straight into moto's S3, quickly: the states list them

    s3, sfn_client = aws
    backend = s3_backends["123456789012"]["aws"]
    for i in range(PAGE_SIZE + 5):
        backend.put_object(BUCKET, f"paged/{i:04}.csv", b"1\n")
    uri = f"s3://{BUCKET}/paged/"
    (paged,) = _prints(built, aws, uri)
    assert paged["pages"] == 2
    s3.put_object(Bucket=BUCKET, Key=f"paged/{PAGE_SIZE + 2:04}.csv", Body=b"2\n")  # an object on the second page
    assert _prints(built, aws, uri)[0]["fingerprint"] != paged["fingerprint"]
    for i in range(PAGE_SIZE * MAX_PAGES + 1):
        backend.put_object(BUCKET, f"big/{i:05}", b"")
    described = _fingerprint(built["states"], s3, sfn_client, [f"s3://{BUCKET}/big/"])
    assert described["status"] == "FAILED" and described["error"] == "SmConstructs.NotCached"
    assert described["cause"] == (
        f"s3://{BUCKET}/big/ has more than {PAGE_SIZE * MAX_PAGES} object versions ({MAX_PAGES} listing pages): "
        "the step runs without the cache"
    )


def test_uris_the_states_cannot_rebuild_are_not_cached_saying_why(built, aws):
    s3, sfn_client = aws
    s3.create_bucket(Bucket=f"{BUCKET}-whole")
    s3.put_object(Bucket=f"{BUCKET}-whole", Key="deep/a.csv", Body=b"1\n")
    assert _prints(built, aws, f"s3://{BUCKET}-whole")[0]["pages"] == 1  # the whole bucket
    deep = f"s3://{BUCKET}/" + "/".join(["d"] * (MAX_DEPTH + 1)) + "/"
    described = _fingerprint(built["states"], s3, sfn_client, [deep])
    assert (
        described["cause"]
        == f"{deep} has more than {MAX_DEPTH} key levels below the bucket: the step runs without the cache"
    )
    described = _fingerprint(built["states"], s3, sfn_client, [f"s3://{BUCKET}/a//b"])
    assert "an empty path segment" in described["cause"]
