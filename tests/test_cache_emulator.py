"""Step caching executed in the local emulator (moto's Step Functions interpreter and SageMaker).

A two-step pipeline (processing → XGBoost training, both run by the emulator's job runner) with
``cache=StepCache(...)``: hits, misses, failed jobs and expiry are read from the execution history
and from the jobs SageMaker holds, not from the state machine's own claims.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from cache_harness import ACCOUNT, REGION, run, state_machine_definition, upload_assets

from sm_constructs import (
    ClusterConfig,
    ContainerImage,
    InputField,
    MlPipeline,
    ProcessingDefinition,
    ProcessingInput,
    ProcessingOutput,
    StepCache,
    TrainingChannel,
    TrainingDefinition,
)
from sm_constructs.local.cli.demo import LocalSession, start_server, stop_server
from sm_constructs.local.server import _free_port

pytestmark = pytest.mark.xdist_group("cache-emulator")
HERE = Path(__file__).resolve().parent
BUCKET = "cache-test-data"
RUN = sfn.JsonPath.execution_name
ROWS = "\n".join(f"{i % 2},{i % 7},{(i * 3) % 5}" for i in range(40)) + "\n"


def build(outdir: Path) -> tuple[dict, Path]:
    app = App(outdir=str(outdir))
    stack = Stack(app, "CacheTest", env=Environment(account=ACCOUNT, region=REGION))
    role = iam.Role.from_role_arn(stack, "Role", f"arn:aws:iam::{ACCOUNT}:role/sm-exec", mutable=False)
    prepare = ProcessingDefinition(
        stack,
        "Prepare",
        role=role,
        code=HERE / "cache_app" / "prepare.py",
        arguments=["--input-dir", "/opt/ml/processing/input/raw", "--output-dir", "/opt/ml/processing/output/train"],
        inputs=[ProcessingInput("raw", sfn.JsonPath.string_at("$.input.rawUri"))],
        outputs=[ProcessingOutput("train", sfn.JsonPath.format(f"s3://{BUCKET}/processed/{{}}/", RUN))],
        name_prefix="cache-prepare",
    )
    train = TrainingDefinition(
        stack,
        "Train",
        role=role,
        image=ContainerImage.xgboost("1.7-1"),
        output_path=sfn.JsonPath.format(f"s3://{BUCKET}/models/{{}}", RUN),
        channels=[
            TrainingChannel("train", prepare.output_uri("train"), content_type="text/csv"),
            TrainingChannel("validation", sfn.JsonPath.string_at("$.input.validationUri"), content_type="text/csv"),
        ],
        hyperparameters={"objective": "binary:logistic", "num_round": sfn.JsonPath.string_at("$.input.numRound")},
        cluster=ClusterConfig(instance_type=sfn.JsonPath.string_at("$.input.trainingInstanceType")),
        name_prefix="cache-train",
    )
    MlPipeline(
        stack,
        "Pipeline",
        preprocessing=[prepare],
        training=train,
        inputs=[
            InputField("rawUri", kind="s3_uri", default=f"s3://{BUCKET}/raw/"),
            InputField("validationUri", kind="s3_uri", default=f"s3://{BUCKET}/validation/"),
            InputField("numRound", default="3"),
            InputField("trainingInstanceType", kind="instance_type", default="ml.m5.large"),
        ],
        cache=StepCache(expire_after=Duration.days(30)),
        alarms=False,
    )
    assembly = app.synth()
    return assembly.get_stack_by_name("CacheTest").template, Path(assembly.directory)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("cache-local")
    template, assembly_dir = build(workdir / "cdk.out")
    # The state machine is created here without CloudFormation, so its role has no policies in the
    # emulator: IAM enforcement is off for this module. The lookups' IAM runs enforced in
    # test_local_e2e.py (the reference pipeline caches its steps) and in bench/cache.py.
    proc, url = start_server(_free_port(), workdir, time_scale=0.05, enforce_iam=False)
    try:
        session = LocalSession(url)
        session.client("s3").create_bucket(Bucket=BUCKET)
        session.client("s3").put_object(Bucket=BUCKET, Key="validation/data.csv", Body=ROWS.encode())
        upload_assets(session, assembly_dir, "CacheTest")
        resources = {}
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] == "AWS::SNS::Topic":
                resources[logical_id] = session.client("sns").create_topic(Name=logical_id)["TopicArn"]
            else:
                resources[logical_id] = logical_id
        definition = state_machine_definition(template, resources)
        machine = session.client("stepfunctions").create_state_machine(
            name="cache-test", definition=definition, roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn"
        )["stateMachineArn"]
        yield {"session": session, "machine": machine}
    finally:
        stop_server(proc)


def _upload(emulator, prefix: str, body: str = ROWS) -> str:
    emulator["session"].client("s3").put_object(Bucket=BUCKET, Key=f"{prefix}data.csv", Body=body.encode())
    return f"s3://{BUCKET}/{prefix}"


def _jobs(emulator) -> tuple[list[dict], list[dict]]:
    sm = emulator["session"].client("sagemaker")
    return (
        sm.list_processing_jobs(MaxResults=100)["ProcessingJobSummaries"],
        sm.list_training_jobs(MaxResults=100)["TrainingJobSummaries"],
    )


def _today() -> int:
    return (datetime.datetime.now(datetime.UTC).date() - datetime.date(1970, 1, 1)).days


def _without_times(value):
    if isinstance(value, dict):
        return {k: "<time>" if k == "Timestamp" else _without_times(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    return value


def _ran(result: dict, step: str) -> str:
    """'miss' when the job task ran, 'hit' when the earlier job was reused."""
    entered = result["entered"]
    assert (step in entered) != (f"{step}CacheHit" in entered), entered
    return "miss" if step in entered else "hit"


def test_identical_input_hits_without_creating_jobs_and_outputs_the_same_shape(emulator):
    raw = _upload(emulator, "raw-identical/")
    first = run(emulator["session"], emulator["machine"], "identical-1", {"rawUri": raw})
    assert first["status"] == "SUCCEEDED", first["described"].get("cause")
    assert (_ran(first, "Prepare"), _ran(first, "Train")) == ("miss", "miss")
    # the day number the state machine computed from its start time is the calendar's
    assert first["output"]["cache"]["Train"]["day"] == str(_today())
    jobs = _jobs(emulator)

    second = run(emulator["session"], emulator["machine"], "identical-2", {"rawUri": raw})
    assert second["status"] == "SUCCEEDED", second["described"].get("cause")
    assert (_ran(second, "Prepare"), _ran(second, "Train")) == ("hit", "hit")
    assert _jobs(emulator) == jobs  # no job created
    # a hit's step output is the earlier job's, in the shape the .sync task gives, marked Reused and
    # without what this run was billed for (it ran no job; the run manifest prices it at nothing)
    # (timestamps inside come as each integration writes them: epoch ms from .sync, text from the SDK)
    hits, misses = second["output"]["steps"], first["output"]["steps"]
    assert {step: hits[step].pop("Reused") for step in hits} == {"Prepare": True, "Train": True}
    assert {step: set(misses[step].pop("Billing")) for step in misses} == {
        "Prepare": {"InstanceType", "InstanceCount", "ProcessingStartTime", "ProcessingEndTime"},
        "Train": {"InstanceType", "InstanceCount", "BillableTimeInSeconds"},
    }
    assert _without_times(hits) == _without_times(misses)
    assert set(first["output"]["steps"]["Train"]) >= {"TrainingJobName", "ModelArtifacts", "FinalMetrics"}
    # the reused outputs are the first run's locations (this run wrote nothing of its own)
    assert "/identical-1/" in second["output"]["steps"]["Train"]["ModelArtifacts"]


@pytest.mark.parametrize("change", [{"numRound": "4"}, {"trainingInstanceType": "ml.m5.xlarge"}])
def test_a_changed_training_field_reruns_training_but_not_preprocessing(emulator, change):
    raw = _upload(
        emulator, f"raw-change-{len(change['numRound' if 'numRound' in change else 'trainingInstanceType'])}/"
    )
    base = run(emulator["session"], emulator["machine"], f"change-base-{_free_port()}", {"rawUri": raw})
    assert base["status"] == "SUCCEEDED"
    processing, training = _jobs(emulator)
    changed = run(emulator["session"], emulator["machine"], f"change-{_free_port()}", {"rawUri": raw, **change})
    assert changed["status"] == "SUCCEEDED", changed["described"].get("cause")
    assert (_ran(changed, "Prepare"), _ran(changed, "Train")) == ("hit", "miss")
    after_processing, after_training = _jobs(emulator)
    assert len(after_processing) == len(processing) and len(after_training) == len(training) + 1
    assert changed["output"]["cache"]["Train"]["key"] != base["output"]["cache"]["Train"]["key"]


def test_changed_data_reruns_exactly_the_steps_that_read_it_and_those_after(emulator):
    raw, validation = _upload(emulator, "raw-data/"), _upload(emulator, "validation-data/")
    payload = {"rawUri": raw, "validationUri": validation}
    first = run(emulator["session"], emulator["machine"], "data-1", payload)
    assert first["status"] == "SUCCEEDED", first["described"].get("cause")
    same = run(emulator["session"], emulator["machine"], "data-2", payload)
    assert (_ran(same, "Prepare"), _ran(same, "Train")) == ("hit", "hit")
    assert same["output"]["cache"]["Train"]["data"] == first["output"]["cache"]["Train"]["data"]

    # one object changed under the validation prefix: only training reads it
    _upload(emulator, "validation-data/", ROWS + "1,1,1\n")
    changed = run(emulator["session"], emulator["machine"], "data-3", payload)
    assert changed["status"] == "SUCCEEDED", changed["described"].get("cause")
    assert (_ran(changed, "Prepare"), _ran(changed, "Train")) == ("hit", "miss")
    assert changed["output"]["cache"]["Train"]["data"] != first["output"]["cache"]["Train"]["data"]

    # one object changed under the raw prefix: preprocessing reads it, and training reads its output
    _upload(emulator, "raw-data/", ROWS + "0,0,0\n")
    upstream = run(emulator["session"], emulator["machine"], "data-4", payload)
    assert upstream["status"] == "SUCCEEDED", upstream["described"].get("cause")
    assert (_ran(upstream, "Prepare"), _ran(upstream, "Train")) == ("miss", "miss")
    again = run(emulator["session"], emulator["machine"], "data-5", payload)
    assert (_ran(again, "Prepare"), _ran(again, "Train")) == ("hit", "hit")


def test_a_failed_job_never_hits(emulator):
    raw = _upload(emulator, "raw-failing/", ROWS + "fail,0,0\n")
    failed = run(emulator["session"], emulator["machine"], "failing-1", {"rawUri": raw})
    assert failed["status"] == "FAILED"
    sm = emulator["session"].client("sagemaker")
    failed_jobs = sm.list_processing_jobs(StatusEquals="Failed", MaxResults=100)["ProcessingJobSummaries"]
    assert failed_jobs  # the failed job is there, tagged with the same key as the next run
    tags = sm.list_tags(ResourceArn=failed_jobs[0]["ProcessingJobArn"])["Tags"]
    failed_key = next(t["Value"] for t in tags if t["Key"] == "sm-constructs:cache-key")

    # the same data again: the same key as the failed job, which is not reused (the job runs, and fails, again)
    retried = run(emulator["session"], emulator["machine"], "failing-2", {"rawUri": raw})
    assert retried["status"] == "FAILED"
    assert _ran(retried, "Prepare") == "miss"
    again = sm.list_processing_jobs(StatusEquals="Failed", MaxResults=100)["ProcessingJobSummaries"]
    assert len(again) == len(failed_jobs) + 1
    tags = sm.list_tags(ResourceArn=again[0]["ProcessingJobArn"])["Tags"]
    assert next(t["Value"] for t in tags if t["Key"] == "sm-constructs:cache-key") == failed_key


def _set_day(emulator, arn: str, day: int) -> None:
    sm = emulator["session"].client("sagemaker")
    sm.delete_tags(ResourceArn=arn, TagKeys=["sm-constructs:cache-day"])
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "sm-constructs:cache-day", "Value": str(day)}])


def test_expiry_is_respected(emulator):
    raw = _upload(emulator, "raw-expiry/")
    first = run(emulator["session"], emulator["machine"], "expiry-1", {"rawUri": raw})
    assert first["status"] == "SUCCEEDED"
    job = first["output"]["steps"]["Train"]["TrainingJobArn"]

    _set_day(emulator, job, _today() - 30)  # created 30 days ago: still within 30 days
    within = run(emulator["session"], emulator["machine"], "expiry-2", {"rawUri": raw})
    assert _ran(within, "Train") == "hit"

    _set_day(emulator, job, _today() - 31)  # 31 days ago: expired
    expired = run(emulator["session"], emulator["machine"], "expiry-3", {"rawUri": raw})
    assert expired["status"] == "SUCCEEDED", expired["described"].get("cause")
    assert _ran(expired, "Train") == "miss"
    assert expired["output"]["steps"]["Train"]["TrainingJobArn"] != job


def test_selective_rerun_starts_at_a_step_with_the_earlier_results(emulator):
    from sm_constructs.cli import CliError, cache_hits, resume_input

    sfn_client = emulator["session"].client("stepfunctions")
    raw = _upload(emulator, "raw-rerun/")
    earlier = run(emulator["session"], emulator["machine"], "rerun-1", {"rawUri": raw})
    assert earlier["status"] == "SUCCEEDED"
    processing, _ = _jobs(emulator)

    payload = json.loads(resume_input(sfn_client, emulator["machine"], "Train", earlier["arn"], '{"numRound": "5"}'))
    assert payload["rawUri"] == raw and payload["numRound"] == "5"  # the earlier input, --input over it
    assert payload["resume"]["steps"] == {"Prepare": earlier["output"]["steps"]["Prepare"]}
    rerun = run(emulator["session"], emulator["machine"], "rerun-2", payload)
    assert rerun["status"] == "SUCCEEDED", rerun["described"].get("cause")
    assert "ResumeAtTrain" in rerun["entered"]
    assert not any(name.startswith("Prepare") for name in rerun["entered"])  # preprocessing did not run
    assert len(_jobs(emulator)[0]) == len(processing)
    assert rerun["output"]["steps"]["Prepare"] == earlier["output"]["steps"]["Prepare"]
    assert _ran(rerun, "Train") == "miss"  # numRound changed

    again = run(emulator["session"], emulator["machine"], "rerun-3", {"rawUri": raw})
    assert cache_hits(again["events"]) == [
        f"Prepare: cache hit, reused {earlier['output']['steps']['Prepare']['ProcessingJobName']}",
        f"Train: cache hit, reused {earlier['output']['steps']['Train']['TrainingJobName']}",
    ]
    with pytest.raises(CliError, match=r"--from Evaluate: not a step.*Prepare, Train"):
        resume_input(sfn_client, emulator["machine"], "Evaluate", earlier["arn"], "{}")


def test_the_run_summary_prints_what_each_job_cost(emulator):
    from sm_constructs.cli import cost_lines
    from sm_constructs.cost import PriceTable

    sm = emulator["session"].client("sagemaker")
    raw = _upload(emulator, "raw-cost/")
    first = run(emulator["session"], emulator["machine"], "cost-1", {"rawUri": raw})
    assert first["status"] == "SUCCEEDED", first["described"].get("cause")
    lines = cost_lines(sm, first["events"])
    prepare, train, total = lines
    job = sm.describe_training_job(TrainingJobName=first["output"]["steps"]["Train"]["TrainingJobName"])
    assert job["BillableTimeInSeconds"] == job["TrainingTimeInSeconds"] >= 1  # the emulator's wall clock
    assert train.startswith("Train: $") and "× ml.m5.large × " in train and "(BillableTimeInSeconds)" in train
    assert prepare.startswith("Prepare: $") and "(ProcessingEndTime - ProcessingStartTime)" in prepare
    assert total.startswith("total: $") and PriceTable.load().source["as_of"] in total

    again = run(emulator["session"], emulator["machine"], "cost-2", {"rawUri": raw})
    assert cost_lines(sm, again["events"])[:2] == [
        "Prepare: $0.00 (reused an earlier job)",
        "Train: $0.00 (reused an earlier job)",
    ]


def test_data_that_cannot_be_fingerprinted_runs_the_step_uncached_saying_why(emulator):
    from sm_constructs.cli import cache_hits

    deep = "raw-deep/" + "d/" * 8  # 9 key levels: more than the states rebuild
    raw = _upload(emulator, deep)
    payload = {"rawUri": raw}
    first = run(emulator["session"], emulator["machine"], "deep-1", payload)
    assert first["status"] == "SUCCEEDED", first["described"].get("cause")
    reason = f"{raw} has more than 8 key levels below the bucket: the step runs without the cache"
    assert first["output"]["cache"]["Prepare"]["reason"] == reason
    assert f"Prepare: not cached, {reason}" in cache_hits(first["events"])
    job = first["output"]["steps"]["Prepare"]["ProcessingJobName"]
    assert job.startswith("cache-prepare-uncached-")
    tags = (
        emulator["session"]
        .client("sagemaker")
        .list_tags(ResourceArn=first["output"]["steps"]["Prepare"]["ProcessingJobArn"])
    )
    assert {"Key": "sm-constructs:cache-key", "Value": "uncached"} in tags["Tags"]
    again = run(emulator["session"], emulator["machine"], "deep-2", payload)
    assert _ran(again, "Prepare") == "miss"  # an uncached job is never reused
