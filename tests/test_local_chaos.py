"""Chaos: many overlapping runs of the reference pipeline in the emulator, with seeded random faults.

Twenty executions start within a few seconds of each other against one deployment of the reference
app. A seeded generator picks the faults: throttled creates (processing, training, model), training
jobs that fail for capacity, runs whose input breaks the preprocessing script, slow jobs, and
instance quotas small enough that the burst is refused (``ResourceLimitExceeded``). Every run that
passes the gate registers its version pending manual approval; the test approves each version as
its run succeeds (``UpdateModelPackage``, as ``sm-pipeline approve`` does), and the registry's event
starts the ``ModelDeployment`` state machine, so releases of different models to the one endpoint
``sm-constructs-churn`` overlap each other and the remaining builds. Each run reads its own copy of
the input (``raw/<good|broken>/<run>/``), so step caching finds no earlier job with the same request
and every run creates its own jobs (the test asserts it).

The seed is printed (and shown on failure); ``SM_CHAOS_SEED=<n>`` replays one. With
``SM_CHAOS_REPORT=<file>`` the outcome table is written there (``scripts/update_chaos_table.py``
puts it into docs/reliability.md). Waits and retry intervals run 20x faster (time scale
0.05): an endpoint update takes 4.5 s, the quota retry waits up to 195 s in all (expected: half,
with full jitter), long enough for the burst to drain through quotas of 5 to 7 processing and 3 to
4 training instances.
"""

from __future__ import annotations

import collections
import json
import os
import random
import time
from pathlib import Path

import pytest

from sm_constructs.local.cli.demo import (
    ACCOUNT_ID,
    REGION,
    LocalSession,
    deploy,
    emulator_env,
    stack_outputs,
    start_server,
    stop_server,
)
from sm_constructs.local.server import _free_port

pytestmark = pytest.mark.xdist_group("chaos")
STATE_MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:sm-constructs-churn"
DEPLOYMENT = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:sm-constructs-churn-deployment"
GROUP = "churn-models"
ENDPOINT = "sm-constructs-churn"
RUNS = 20
SCALE = 0.05
CAPACITY = (
    "CapacityError: Unable to provision requested ML compute capacity. Please retry using a different ML instance type."
)
SLOW_SECONDS = 60  # 3 s at the time scale
JOB_NAME_FIELDS = {
    "createProcessingJob.sync": "ProcessingJobName",
    "createTrainingJob.sync": "TrainingJobName",
    "createTransformJob.sync": "TransformJobName",
}


@pytest.fixture(scope="session")
def local(tmp_path_factory, reference_assembly):
    workdir = tmp_path_factory.mktemp("sm-local-chaos")
    proc, url = start_server(_free_port(), workdir, time_scale=SCALE)
    try:
        deploy(emulator_env(url), workdir, assembly=reference_assembly)
        session = LocalSession(url)
        found = stack_outputs(session)
        s3 = session.client("s3")
        # under raw/, the prefix the execution role may read; one copy per run, so no run's request
        # equals another's and step caching reuses nothing
        good = Path("reference/data/churn.csv").read_bytes()
        for i in range(RUNS):
            s3.put_object(Bucket=found["bucket"], Key=f"raw/good/chaos-{i:02d}/churn.csv", Body=good)
            s3.put_object(
                Bucket=found["bucket"], Key=f"raw/broken/chaos-{i:02d}/churn.csv", Body=b"not,the,schema\n1,2,3\n"
            )
        yield {"session": session, "workdir": workdir, **found}
    finally:
        stop_server(proc)


def plan(seed: int) -> dict:
    """The faults of one chaos run, all drawn from ``seed``."""
    rng = random.Random(seed)
    return {
        "broken_runs": sorted(rng.sample(range(RUNS), rng.randint(2, 4))),
        "start_offsets": [rng.uniform(0, 4) for _ in range(RUNS)],
        "faults": {
            "CreateProcessingJob": {"error": "ThrottlingException", "times": rng.randint(1, 3)},
            "CreateTrainingJob": {"error": "ThrottlingException", "times": rng.randint(1, 3)},
            "CreateModel": {"error": "ThrottlingException", "times": rng.randint(1, 2)},
            "FailTrainingJob": {"error": CAPACITY, "times": rng.randint(1, 2)},
            "SlowTrainingJob": {"seconds": SLOW_SECONDS, "times": rng.randint(1, 3)},
            "SlowProcessingJob": {"seconds": SLOW_SECONDS, "times": rng.randint(1, 3)},
        },
        "quotas": {
            "ml.m5.large for processing job usage": rng.randint(5, 7),
            "ml.m5.xlarge for training job usage": rng.randint(3, 4),
        },
    }


def _history(sfn, arn):
    events = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
        events.extend(page["events"])
    return events


def _task_calls(events):
    """Every task attempt: resource, parameters, when scheduled, the TaskSubmitted event (.sync jobs)
    and the outcome event. Parallel branches interleave, so attempts are matched by resource."""
    calls, open_calls = [], {}
    for event in events:
        kind = event["type"]
        if kind == "TaskScheduled":
            details = event["taskScheduledEventDetails"]
            call = {
                "resource": details["resource"],
                "parameters": json.loads(details["parameters"]),
                "at": event["timestamp"],
                "submitted": None,
                "outcome": None,
            }
            calls.append(call)
            open_calls[details["resource"]] = call
        elif kind in ("TaskSubmitted", "TaskSucceeded", "TaskFailed", "TaskTimedOut"):
            details = next(v for k, v in event.items() if k.endswith("EventDetails"))
            call = open_calls.get(details.get("resource"))
            if call is None:
                continue
            if kind == "TaskSubmitted":
                call["submitted"] = event
            else:
                call["outcome"] = event
                del open_calls[details["resource"]]
    return calls


def _entered(events):
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def _all(paginator_call, key, **kwargs):
    out, token = [], None
    while True:
        page = paginator_call(**kwargs, **({"NextToken": token} if token else {}))
        out.extend(page[key])
        token = page.get("NextToken")
        if not token:
            return out


def test_overlapping_runs_with_faults_lose_nothing_and_release_in_turn(local):
    seed = int(os.environ.get("SM_CHAOS_SEED") or random.SystemRandom().randrange(2**32))
    print(f"chaos seed {seed} (replay: SM_CHAOS_SEED={seed})")
    chosen = plan(seed)
    session, bucket, workdir = local["session"], local["bucket"], local["workdir"]
    sfn, sm, s3, sqs = (session.client(s) for s in ("stepfunctions", "sagemaker", "s3", "sqs"))
    queue = sqs.create_queue(QueueName="chaos-failures")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    session.client("sns").subscribe(TopicArn=local["topic"], Protocol="sqs", Endpoint=queue_arn)
    (workdir / "faults.json").write_text(json.dumps(chosen["faults"]))
    (workdir / "quotas.json").write_text(json.dumps(chosen["quotas"]))

    started = time.monotonic()
    executions = {}
    for i, offset in sorted(enumerate(chosen["start_offsets"]), key=lambda item: item[1]):
        time.sleep(max(0.0, offset - (time.monotonic() - started)))
        raw = "raw/broken" if i in chosen["broken_runs"] else "raw/good"
        name = f"chaos-{i:02d}"
        executions[name] = sfn.start_execution(
            stateMachineArn=STATE_MACHINE,
            name=name,
            input=json.dumps({"inputDataUri": f"s3://{bucket}/{raw}/{name}/"}),
        )["executionArn"]
    described, approved = {}, []
    deadline = time.monotonic() + 900

    def approve_pending():
        """Approve every version pending approval, as a person would once its run succeeded."""
        succeeded = [n for n, s in described.items() if s["status"] == "SUCCEEDED"]
        if not succeeded:  # a version registers before its run ends
            return
        for version in _all(sm.list_model_packages, "ModelPackageSummaryList", ModelPackageGroupName=GROUP):
            if version["ModelApprovalStatus"] == "PendingManualApproval":
                if not approved:  # the deployment's batch transform scores processed/latest/batch/
                    run = succeeded[0]
                    s3.copy_object(
                        Bucket=bucket,
                        Key="processed/latest/batch/batch.csv",
                        CopySource={"Bucket": bucket, "Key": f"processed/{run}/batch/batch.csv"},
                    )
                sm.update_model_package(ModelPackageArn=version["ModelPackageArn"], ModelApprovalStatus="Approved")
                approved.append(version["ModelPackageArn"])

    while len(described) < RUNS and time.monotonic() < deadline:
        for name, arn in executions.items():
            if name not in described:
                status = sfn.describe_execution(executionArn=arn)
                if status["status"] != "RUNNING":
                    described[name] = status
        approve_pending()
        time.sleep(0.5)
    if len(described) < RUNS:  # where the stragglers are, to tell slow from stuck
        for name in sorted(set(executions) - set(described)):
            entered = _entered(_history(sfn, executions[name]))
            print(f"{name} still running: {len(entered)} states entered, last {entered[-5:]}")
    assert len(described) == RUNS, f"seed {seed}: still running: {set(executions) - set(described)}"
    approve_pending()
    # one deployment per approval (the registry's event), each SUCCEEDED: deployed or superseded
    deployments: dict[str, str] = {}
    while time.monotonic() < deadline:
        listed = _all(sfn.list_executions, "executions", stateMachineArn=DEPLOYMENT)
        deployments = {e["name"]: e["executionArn"] for e in listed}
        if len(listed) >= len(approved) and all(e["status"] != "RUNNING" for e in listed):
            break
        time.sleep(0.5)
    wall = time.monotonic() - started
    assert len(deployments) == len(approved), f"seed {seed}: {len(approved)} approvals, {len(deployments)} deployments"
    deployed = {name: sfn.describe_execution(executionArn=arn) for name, arn in deployments.items()}
    for name, status in deployed.items():
        assert status["status"] == "SUCCEEDED", (
            f"seed {seed}: deployment {name} {status['status']} {status.get('cause')}"
        )
    histories = {name: _history(sfn, arn) for name, arn in {**executions, **deployments}.items()}
    calls = {name: _task_calls(events) for name, events in histories.items()}
    left = json.loads((workdir / "faults.json").read_text())

    # -- every execution succeeded, or failed through the notified failure path with its cause ------
    outcomes: collections.Counter[str] = collections.Counter()
    for name, status in described.items():
        if status["status"] == "SUCCEEDED":
            outcomes["SUCCEEDED"] += 1
            continue
        entered = _entered(histories[name])
        assert status["status"] == "FAILED", f"seed {seed}: {name} {status['status']}"
        assert entered[-2:] == ["NotifyFailure", "PipelineFailed"], f"seed {seed}: {name} ended {entered[-3:]}"
        cause = status.get("cause", "")
        kind = next(
            (k for k in ("AlgorithmError", "CapacityError", "ResourceLimitExceeded") if k in cause),
            None,
        )
        assert kind, f"seed {seed}: {name} failed for an unplanned reason: {status.get('error')} {cause[:500]}"
        outcomes[f"FAILED ({kind}), notified"] += 1
        preprocessed = any(c["resource"] == "createProcessingJob.sync" and c["submitted"] for c in calls[name])
        if int(name[-2:]) in chosen["broken_runs"] and preprocessed:
            assert kind == "AlgorithmError", f"seed {seed}: {name} had broken input but failed with {kind}"
    for i in chosen["broken_runs"]:
        assert described[f"chaos-{i:02d}"]["status"] == "FAILED", f"seed {seed}: broken run {i} succeeded"
    failed = RUNS - outcomes["SUCCEEDED"]
    notified = []
    deadline = time.monotonic() + 30
    while len(notified) < failed and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            notified.append(message)
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    assert len(notified) == failed, f"seed {seed}: {failed} runs failed, {len(notified)} notifications"

    # -- no two jobs share a name, and every job SageMaker knows was created by one of the runs ----
    created = [
        call["parameters"][JOB_NAME_FIELDS[call["resource"]]]
        for run in calls.values()
        for call in run
        if call["resource"] in JOB_NAME_FIELDS and call["submitted"] is not None
    ]
    assert len(created) == len(set(created)), f"seed {seed}: job names reused: {collections.Counter(created)}"
    known = (
        [j["ProcessingJobName"] for j in _all(sm.list_processing_jobs, "ProcessingJobSummaries", MaxResults=100)]
        + [j["TrainingJobName"] for j in _all(sm.list_training_jobs, "TrainingJobSummaries", MaxResults=100)]
        + [j["TransformJobName"] for j in _all(sm.list_transform_jobs, "TransformJobSummaries", MaxResults=100)]
    )
    assert sorted(known) == sorted(created), f"seed {seed}: jobs in SageMaker differ from jobs the runs created"

    # -- no output overwritten or lost: one version per key, no delete markers, all outputs there --
    versions, markers = [], []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        versions.extend(page.get("Versions", []))
        markers.extend(page.get("DeleteMarkers", []))
    per_key = collections.Counter(v["Key"] for v in versions)
    assert not markers, f"seed {seed}: deleted: {[m['Key'] for m in markers]}"
    assert all(n == 1 for n in per_key.values()), (
        f"seed {seed}: overwritten: {[k for k, n in per_key.items() if n > 1]}"
    )
    for name, status in described.items():
        if status["status"] != "SUCCEEDED":
            continue
        # no cache hit: the model the run registered was trained by this run's own job
        trained = json.loads(status["output"])["steps"]["Train"]["TrainingJobName"]
        own = {c["parameters"].get("TrainingJobName") for c in calls[name] if c["submitted"] is not None}
        assert trained in own, f"seed {seed}: {name} reused training job {trained}"
        keys = {k for k in per_key if k.split("/")[1:2] in ([name], [trained])}
        expected = {
            f"processed/{name}/train/train.csv",
            f"processed/{name}/validation/validation.csv",
            f"processed/{name}/test/test.csv",
            f"processed/{name}/test/features.json",
            f"processed/{name}/batch/batch.csv",
            f"evaluation/{trained}/evaluation.json",  # under the model's training job
        }
        assert expected <= keys, f"seed {seed}: {name} lost {expected - keys}"
        assert any(k.startswith(f"models/{name}/") and k.endswith("/output/model.tar.gz") for k in keys)
    registered = _all(sm.list_model_packages, "ModelPackageSummaryList", ModelPackageGroupName=GROUP)
    assert len(registered) == outcomes["SUCCEEDED"] == len(approved), f"seed {seed}: {len(registered)} registered"
    for name in deployments:
        if "Deployed" in _entered(histories[name]):  # a release that ran to the end scored the batch
            assert f"batch/{name}/batch.csv.out" in per_key, f"seed {seed}: deployment {name} lost its batch output"

    # -- the endpoint serves the config of the last release that started its update ---------------
    releases = sorted(
        (call["at"], call["parameters"]["EndpointConfigName"], name)
        for name, run in calls.items()
        for call in run
        if call["resource"] in ("createEndpoint", "updateEndpoint")
        and call["outcome"] is not None
        and call["outcome"]["type"] == "TaskSucceeded"
    )
    assert releases, f"seed {seed}: no release reached the endpoint"
    endpoint = sm.describe_endpoint(EndpointName=ENDPOINT)
    assert endpoint["EndpointStatus"] == "InService", f"seed {seed}: endpoint {endpoint['EndpointStatus']}"
    assert endpoint["EndpointConfigName"] == releases[-1][1], f"seed {seed}: endpoint not on the last release"
    assert len({config for _, config, _ in releases}) == len(releases), f"seed {seed}: a config released twice"
    assert {name for _, _, name in releases} <= set(deployments), f"seed {seed}: a build touched the endpoint"

    # -- every injected fault shows in some history, as a retry or a caught failure -----------------
    failures = [
        call["outcome"]["taskFailedEventDetails"]
        for run in calls.values()
        for call in run
        if call["outcome"] is not None and call["outcome"]["type"] == "TaskFailed"
    ]
    throttled = sum(1 for f in failures if "ThrottlingException (injected fault)" in f.get("cause", ""))
    injected_throttling = sum(
        chosen["faults"][op]["times"] for op in ("CreateProcessingJob", "CreateTrainingJob", "CreateModel")
    )
    assert all(left[op]["times"] == 0 for op in chosen["faults"]), f"seed {seed}: faults not all taken: {left}"
    assert throttled == injected_throttling, f"seed {seed}: {injected_throttling} throttles injected, {throttled} seen"
    assert all(
        f["error"] == "SageMaker.AmazonSageMakerException"
        for f in failures
        if "ThrottlingException" in f.get("cause", "")
    )
    capacity_failed = [n for n, s in described.items() if CAPACITY in s.get("cause", "")]
    assert len(capacity_failed) == chosen["faults"]["FailTrainingJob"]["times"], f"seed {seed}: {capacity_failed}"
    quota_refusals = [f for f in failures if f["error"] == "SageMaker.ResourceLimitExceededException"]
    assert quota_refusals, f"seed {seed}: the burst never met a quota"
    slow = chosen["faults"]["SlowTrainingJob"]["times"] + chosen["faults"]["SlowProcessingJob"]["times"]
    long_jobs = sum(
        1
        for run in calls.values()
        for call in run
        if call["submitted"] is not None
        and call["outcome"] is not None
        and (call["outcome"]["timestamp"] - call["submitted"]["timestamp"]).total_seconds() >= SLOW_SECONDS * SCALE
    )
    assert long_jobs >= slow
    busy = sum(1 for events in histories.values() for name in _entered(events) if name == "DeployBusyWait")
    refused_releases = sum(
        1
        for f in failures
        if "Cannot update in-progress endpoint" in f.get("cause", "")
        or "already existing endpoint" in f.get("cause", "")
    )

    table = [
        "| chaos run | |",
        "| --- | --- |",
        f"| seed | {seed} |",
        f"| executions | {RUNS}, started within {max(chosen['start_offsets']):.1f} s |",
        f"| throttled creates (injected, retried) | {throttled} |",
        f"| quota refusals (`ResourceLimitExceeded`, retried) | {len(quota_refusals)} with quotas {chosen['quotas']} |",
        f"| capacity failures (training job, caught) | {len(capacity_failed)} |",
        f"| failing script (broken input, caught) | {len(chosen['broken_runs'])} runs |",
        f"| slow jobs | {slow} (+{SLOW_SECONDS} s each, scaled) |",
        *[f"| outcome: {k} | {v} |" for k, v in sorted(outcomes.items())],
        f"| approvals (each starts a deployment) | {len(approved)}; "
        f"{sum('Superseded' in _entered(histories[n]) for n in deployments)} superseded by a later one |",
        f"| releases to one endpoint | {len(releases)}; {busy} busy waits, {refused_releases} refused calls retried |",
        f"| endpoint at the end | InService on the last release's config ({releases[-1][2]}) |",
        f"| wall time | {wall:.0f} s (time scale {SCALE}) |",
    ]
    print("\n".join(table))
    if os.environ.get("SM_CHAOS_REPORT"):
        with open(os.environ["SM_CHAOS_REPORT"], "w") as out:
            out.write("\n".join(table) + "\n")
