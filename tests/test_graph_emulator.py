"""README's graph pipeline deployed into the local emulator with the real CDK CLI (CloudFormation, IAM
enforced: every call a step makes is checked against the policies the pipeline derived) and run.

Two preprocessing branches, two candidate trainings and their evaluations run side by side; the
condition reads both reports and registers and releases the better candidate. A second run on the
same data reuses every job (step caching) and registers no duplicate version.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from cache_harness import run
from graph_app import build

from sm_constructs import MlDataBucket, SageMakerExecutionRole, cli
from sm_constructs._lineage_read import read_lineage, start_actions
from sm_constructs.local.cli.demo import ACCOUNT_ID, REGION, LocalSession, cdk, emulator_env, start_server, stop_server
from sm_constructs.local.server import _free_port

pytestmark = pytest.mark.xdist_group("graph-emulator")
STACK = "GraphTest"
GROUP = "graph-candidates"
DATA = Path(__file__).resolve().parents[1] / "reference" / "data" / "churn.csv"


def _synth(outdir: Path) -> Path:
    """README's graph pipeline in a stack of its own: a data bucket, an execution role granted the
    prefixes the steps read and write, and the pipeline (its failure topic and alarms included)."""
    app = App(outdir=str(outdir))
    stack = Stack(app, STACK)
    data = MlDataBucket(stack, "Data")
    role = SageMakerExecutionRole(stack, "Exec")
    data.grant_read(role, "raw/")
    for prefix in ("processed/", "models/", "evaluation/", "scores/"):
        data.grant_read_write(role, prefix)
    build(stack, data.bucket, role, key=data.encryption_key)
    return Path(app.synth().directory)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("graph-local")
    assembly = _synth(workdir / "cdk.out")
    proc, url = start_server(_free_port(), workdir, time_scale=0.05)
    try:
        env, log = emulator_env(url), workdir / "cdk.log"
        cdk(env, "bootstrap", f"aws://{ACCOUNT_ID}/{REGION}", log=log, cwd=workdir)
        cdk(env, "deploy", STACK, "--app", str(assembly), "--require-approval", "never", log=log, cwd=workdir)
        session = LocalSession(url)
        resources = session.client("cloudformation").list_stack_resources(StackName=STACK)["StackResourceSummaries"]
        physical = {(r["ResourceType"], r["LogicalResourceId"]): r.get("PhysicalResourceId") for r in resources}
        (bucket,) = [
            p for (kind, logical), p in physical.items() if kind == "AWS::S3::Bucket" and "DataBucket" in logical
        ]
        (machine,) = [p for (kind, _), p in physical.items() if kind == "AWS::StepFunctions::StateMachine"]
        session.client("s3").upload_file(str(DATA), bucket, "raw/churn.csv")
        yield {"session": session, "machine": machine, "bucket": bucket}
    finally:
        stop_server(proc)


def _versions(emulator) -> list[dict]:
    sm = emulator["session"].client("sagemaker")
    return sm.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]


def _auc(emulator, output: dict, name: str) -> float:
    return float(output["steps"][f"PickBetterReport{1 if name == 'A' else 2}"]["report"]["metrics"]["auc"])


def test_the_graph_runs_in_parallel_picks_the_better_candidate_and_a_cached_rerun_adds_no_version(emulator):
    started = time.monotonic()
    first = run(emulator["session"], emulator["machine"], "graph-1", {}, 600)
    assert first["status"] == "SUCCEEDED", (first["described"].get("cause"), first["entered"][-6:])
    entered = first["entered"]
    for job in ("PrepareA", "PrepareB", "TrainA", "TrainB", "EvaluateA", "EvaluateB"):
        assert job in entered, job  # a miss: every job ran
    # the branches ran side by side: at some point a state of each branch was running at once
    events = first["events"]
    both = [cli._running(events[:i]) for i in range(len(events))]
    assert any("PrepareA" in r and "PrepareB" in r for r in both) or any(
        ("TrainA" in r and "TrainB" in r) for r in both
    ), "no point where both candidates' jobs ran at once"

    # the condition compared the two reports and took the better candidate's branch
    auc_a, auc_b = _auc(emulator, first["output"], "A"), _auc(emulator, first["output"], "B")
    better = "A" if auc_a >= auc_b else "B"
    worse = "B" if better == "A" else "A"
    assert {f"Register{better}", f"Model{better}", f"Score{better}"} <= set(entered)
    assert not {f"Register{worse}", f"Model{worse}", f"Score{worse}"} & set(entered)
    (version,) = _versions(emulator)
    scored = emulator["session"].client("s3").list_objects_v2(Bucket=emulator["bucket"], Prefix="scores/graph-1/")
    assert scored.get("KeyCount", 0) >= 1
    # the run's lineage holds the steps of the Condition's branch it took, and none of the other's
    sm = emulator["session"].client("sagemaker")
    recorded = read_lineage(sm, start_actions(sm, first["arn"]))
    own = [recorded.actions[arn] for arn in start_actions(sm, first["arn"])]
    assert sorted(a.type for a in own) == ["ModelRegistration"] + ["ProcessingJob"] * 4 + ["TrainingJob"] * 2 + [
        "TransformJob"
    ], [(a.type, a.source) for a in own]
    (registration,) = [a for a in own if a.type == "ModelRegistration"]
    (score,) = [a for a in own if a.type == "TransformJob"]
    assert (
        registration.source == version["ModelPackageArn"]
        and f":transform-job/graph-score-{better.lower()}" in score.source
    )
    assert any(kind == "ModelPackage" and uri == version["ModelPackageArn"] for _, kind, uri in score.reads)

    # the same data again: every job is reused, the condition reads the reused evaluations' reports,
    # and the version the first run registered is this run's (no duplicate)
    second = run(emulator["session"], emulator["machine"], "graph-2", {}, 600)
    assert second["status"] == "SUCCEEDED", second["described"].get("cause")
    for job in ("PrepareA", "PrepareB", "TrainA", "TrainB", "EvaluateA", "EvaluateB"):
        assert f"{job}CacheHit" in second["entered"] and job not in second["entered"], job
    assert (_auc(emulator, second["output"], "A"), _auc(emulator, second["output"], "B")) == (auc_a, auc_b)
    assert f"Register{better}Reused" in second["entered"] and f"Register{better}" not in second["entered"]
    assert _versions(emulator) == [version]
    assert second["output"]["steps"][f"Register{better}"]["ModelPackageArn"] == version["ModelPackageArn"]
    print(
        f"graph runs: {first['seconds']:.0f}s, cached {second['seconds']:.0f}s, test {time.monotonic() - started:.0f}s"
    )


def test_a_rerun_from_a_step_inside_a_branch_skips_the_rest_and_reuses_their_results(emulator):
    """``sm-pipeline run --from TrainB --reuse <first run>``: candidate A's branch is skipped, B's starts at TrainB."""
    client = emulator["session"].client("stepfunctions")
    first = f"{emulator['machine'].replace(':stateMachine:', ':execution:')}:graph-1"
    payload = json.loads(cli.resume_input(client, emulator["machine"], "TrainB", first, "{}"))
    assert sorted(payload["resume"]["steps"]) == ["EvaluateA", "PrepareA", "PrepareB", "TrainA"]
    rerun = run(emulator["session"], emulator["machine"], "graph-from-trainb", payload, 600)
    assert rerun["status"] == "SUCCEEDED", rerun["described"].get("cause")
    entered = set(rerun["entered"])
    assert {"SkipBranch_PrepareA", "TrainBCacheKey", "EvaluateBCacheKey", "PickBetter"} <= entered
    assert not {"PrepareACacheKey", "TrainACacheKey", "EvaluateACacheKey", "PrepareBCacheKey"} & entered
    # the skipped steps' results are the first run's, as later steps read them
    assert rerun["output"]["steps"]["TrainA"] == payload["resume"]["steps"]["TrainA"]
