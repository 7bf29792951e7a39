"""Step caching, structurally: the key's fields, the lookups' requests and IAM, the hit's shape.

Execution (hits, misses, failed jobs, expiry) is tested in the emulator: test_cache_emulator.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from sfn_requests import assert_all_requests_valid, iter_states, state_machines
from support import cfn_lint, new_app, new_stack

from sm_constructs import (
    InputField,
    MlPipeline,
    ProcessingDefinition,
    ProcessingInput,
    ProcessingOutput,
    StepCache,
    TrainingChannel,
    TrainingDefinition,
)
from sm_constructs._validation import ConstructValidationError

HERE = Path(__file__).resolve().parent
RUN = sfn.JsonPath.execution_name


def _build(stack, *, cache_training: bool = True, num_round: str = "10"):
    role = iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::123456789012:role/sm-exec", mutable=False)
    prepare = ProcessingDefinition(
        stack,
        "Prepare",
        role=role,
        code=HERE / "cache_app" / "prepare.py",
        inputs=[ProcessingInput("raw", sfn.JsonPath.string_at("$.input.rawUri"))],
        outputs=[ProcessingOutput("train", sfn.JsonPath.format("s3://data/processed/{}/", RUN))],
        name_prefix="cache-prepare",
    )
    train = TrainingDefinition(
        stack,
        "Train",
        role=role,
        output_path=sfn.JsonPath.format("s3://data/models/{}", RUN),
        channels=[TrainingChannel("train", prepare.output_uri("train"), content_type="text/csv")],
        hyperparameters={"objective": "binary:logistic", "num_round": num_round},
        name_prefix="cache-train",
        cache=StepCache(expire_after=Duration.days(7)) if cache_training else None,
    )
    pipeline = MlPipeline(
        stack,
        "Pipeline",
        preprocessing=[prepare],
        training=train,
        inputs=[InputField("rawUri", kind="s3_uri", default="s3://data/raw/")],
        cache=StepCache(),
        alarms=False,
    )
    return prepare, train, pipeline


@pytest.fixture(scope="module")
def built():
    app = new_app()
    stack = new_stack(app)
    prepare, train, _ = _build(stack)
    template = app.synth().get_stack_by_name(stack.stack_name).template
    (asl,) = state_machines(template).values()
    return {"template": template, "states": dict(iter_states(asl)), "prepare": prepare, "train": train}


def test_the_key_covers_the_request_without_name_tags_and_per_run_values(built):
    states = built["states"]
    for step in ("Prepare", "Train"):
        task = states[step]["Parameters"]
        key = states[f"{step}CacheKey"]["Parameters"]["request"]
        text = json.dumps(key)
        assert "$$." not in text and "States.UUID" not in text
        assert not {"Tags", "ProcessingJobName.$", "TrainingJobName.$"} & set(key)
        # everything else of the request as sent is in the key, unchanged
        assert {k for k in task if not k.startswith(("Tags", "ProcessingJobName", "TrainingJobName"))} == set(key)
    train_key = states["TrainCacheKey"]["Parameters"]["request"]
    assert train_key["HyperParameters"] == {"objective": "binary:logistic", "num_round": "10"}
    # the upstream output is read from the step's result, so a reused upstream job's location counts
    (channel,) = train_key["InputDataConfig"]
    assert channel["DataSource"]["S3DataSource"]["S3Uri.$"] == "$.steps.Prepare.Outputs[0]"
    assert "S3OutputPath" not in train_key["OutputDataConfig"]  # per run: $$.Execution.Name
    # the code asset (its S3 key and file name are its content hash) is part of the processing key
    prepare_key = states["PrepareCacheKey"]["Parameters"]["request"]
    assert built["prepare"].code_asset.asset_hash in json.dumps(prepare_key["AppSpecification"])
    assert [i["InputName"] for i in prepare_key["ProcessingInputs"]] == ["raw", "code"]


def test_the_key_is_a_sha256_of_the_request_text_and_jobs_carry_it(built):
    states = built["states"]
    hashed = states["TrainCacheKeyHash"]["Parameters"]
    assert hashed["key.$"] == "States.Hash(States.JsonToString($.cache.Train.request), 'SHA-256')"
    assert hashed["cutoff.$"].endswith("-7))")  # the definition's own cache (7 days) wins over the pipeline's
    assert "-30))" in states["PrepareCacheKeyHash"]["Parameters"]["cutoff.$"]
    for step in ("Prepare", "Train"):
        tags = {t["Key"]: t for t in states[step]["Parameters"]["Tags"]}
        assert tags["sm-constructs:cache-key"]["Value.$"] == f"$.cache.{step}.key"
        assert tags["sm-constructs:cache-day"]["Value.$"] == f"$.cache.{step}.day"
    name = states["Prepare"]["Parameters"]["ProcessingJobName.$"]
    assert name.startswith("States.Format('{}-{}-{}', 'cache-prepare', $.cache.Prepare.index,")


def test_lookups_find_completed_jobs_only(built):
    states = built["states"]
    search = states["TrainCacheLookup"]
    assert search["Resource"].endswith(":states:::aws-sdk:sagemaker:search")
    filters = search["Parameters"]["SearchExpression"]["Filters"]
    assert {"Name": "TrainingJobStatus", "Operator": "Equals", "Value": "Completed"} in filters
    assert {"Name": "Tags.sm-constructs:cache-key", "Operator": "Equals", "Value.$": "$.cache.Train.key"} in filters
    listed = states["PrepareCacheLookup"]
    assert listed["Resource"].endswith(":states:::aws-sdk:sagemaker:listProcessingJobs")
    assert listed["Parameters"]["StatusEquals"] == "Completed"
    assert (listed["Parameters"]["SortBy"], listed["Parameters"]["SortOrder"]) == ("CreationTime", "Descending")
    # the processing hit also needs the full key in the candidate's tags
    choice = json.dumps(states["PrepareCacheHitOrMiss"])
    assert '"StringEqualsPath": "$.cache.Prepare.key"' in choice
    assert '"StringGreaterThanEqualsPath": "$.cache.Prepare.cutoff"' in choice


def _reused(selector):
    """A hit's selection: the task's, marked Reused, without what this run was billed for (it ran no job)."""
    return {**{k: v for k, v in selector.items() if k != "Billing"}, "Reused": True}


def test_a_hit_has_the_shape_of_the_task_result(built):
    states = built["states"]
    train, hit = states["Train"], states["TrainCacheHit"]
    assert "Billing" in train["ResultSelector"] and "Billing" in states["Prepare"]["ResultSelector"]
    assert hit["Parameters"] == _reused(train["ResultSelector"]) and hit["ResultPath"] == train["ResultPath"]
    prepare, hit = states["Prepare"], states["PrepareCacheHit"]
    assert hit["ResultSelector"] == _reused(prepare["ResultSelector"]) and hit["ResultPath"] == prepare["ResultPath"]
    assert hit["Resource"].endswith(":states:::aws-sdk:sagemaker:describeProcessingJob")
    # both paths continue with the same next state
    assert states["TrainCacheHit"].get("Next") == states["Train"].get("Next")


def test_every_request_is_botocore_valid(built):
    requests = assert_all_requests_valid(built["template"], expect_at_least=6)
    operations = {r.operation.name for r in requests}
    assert {"Search", "ListProcessingJobs", "ListTags", "DescribeProcessingJob"} <= operations


def _statements(template):
    out = []
    for resource in template["Resources"].values():
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            out.extend(resource["Properties"]["PolicyDocument"]["Statement"])
    return out


def test_lookups_iam_is_scoped(built):
    statements = _statements(built["template"])
    star = [s for s in statements if s["Resource"] == "*"]
    star_actions = sorted({a for s in star for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])})
    # only the calls that take no resource ARN are granted on "*": the two lookups and lineage's ListArtifacts
    assert [a for a in star_actions if a.startswith("sagemaker:")] == [
        "sagemaker:ListArtifacts",
        "sagemaker:ListProcessingJobs",
        "sagemaker:Search",
    ]
    reads = [
        s
        for s in statements
        if "sagemaker:ListTags" in s["Action"] and "sagemaker:DescribeProcessingJob" in s["Action"]
    ]
    assert reads and all("processing-job/cache-prepare-*" in json.dumps(s["Resource"]) for s in reads)


def test_cfn_lint_clean(built):
    assert cfn_lint(built["template"]) == []


def test_bad_cache_settings_fail_at_synth():
    stack = new_stack(new_app())
    role = iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::123456789012:role/sm-exec", mutable=False)
    with pytest.raises(ConstructValidationError, match=r"cache.expire_after.*at least 1 day"):
        TrainingDefinition(
            stack, "T1", role=role, output_path="s3://bucket/m", cache=StepCache(expire_after=Duration.days(0))
        )
    with pytest.raises(ConstructValidationError, match=r"cache.expire_after='2 hours'.*whole number of days"):
        TrainingDefinition(
            stack, "T0", role=role, output_path="s3://bucket/m", cache=StepCache(expire_after=Duration.hours(2))
        )
    with pytest.raises(ConstructValidationError, match=r"name_prefix.*cached"):
        ProcessingDefinition(stack, "P1", role=role, entrypoint=["x"], name_prefix="p" * 30, cache=StepCache())
    done = TrainingDefinition(stack, "T2", role=role, output_path="s3://bucket/m")
    done.task()
    with pytest.raises(ConstructValidationError, match="before task"):
        done.enable_cache(StepCache())
