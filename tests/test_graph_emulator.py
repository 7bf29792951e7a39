"""README's graph pipeline run in the local emulator (moto's Step Functions interpreter and the job runner).

Two preprocessing branches, two candidate trainings and their evaluations run side by side; the
condition reads both reports and registers and releases the better candidate. A second run on the
same data reuses every job (step caching) and registers no duplicate version. The state machine is
created from the synthesized template without CloudFormation (as tests/test_cache_emulator.py
does), so IAM enforcement is off here; the pipeline's IAM is asserted on the template in
tests/test_graph.py.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from cache_harness import ACCOUNT, REGION, run, state_machine_definition, upload_assets
from graph_app import build

from sm_constructs import cli
from sm_constructs.local.cli.demo import LocalSession, start_server, stop_server
from sm_constructs.local.server import _free_port

pytestmark = pytest.mark.xdist_group("graph-emulator")
BUCKET = "graph-test-data"
GROUP = "graph-candidates"
DATA = Path(__file__).resolve().parents[1] / "reference" / "data" / "churn.csv"


def _synth(outdir: Path) -> tuple[dict, Path]:
    app = App(outdir=str(outdir))
    stack = Stack(app, "GraphTest", env=Environment(account=ACCOUNT, region=REGION))
    role = iam.Role.from_role_arn(stack, "Role", f"arn:aws:iam::{ACCOUNT}:role/sm-exec", mutable=False)
    build(stack, s3.Bucket.from_bucket_name(stack, "Data", BUCKET), role, alarms=False)
    assembly = app.synth()
    return assembly.get_stack_by_name("GraphTest").template, Path(assembly.directory)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("graph-local")
    template, assembly_dir = _synth(workdir / "cdk.out")
    proc, url = start_server(_free_port(), workdir, time_scale=0.05, enforce_iam=False)
    try:
        session = LocalSession(url)
        session.client("s3").create_bucket(Bucket=BUCKET)
        session.client("s3").upload_file(str(DATA), BUCKET, "raw/churn.csv")
        session.client("sagemaker").create_model_package_group(ModelPackageGroupName=GROUP)
        upload_assets(session, assembly_dir, "GraphTest")
        resources = {}
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] == "AWS::SNS::Topic":
                resources[logical_id] = session.client("sns").create_topic(Name=logical_id)["TopicArn"]
            elif resource["Type"] == "AWS::SageMaker::ModelPackageGroup":
                resources[logical_id] = GROUP
            else:
                resources[logical_id] = logical_id
        machine = session.client("stepfunctions").create_state_machine(
            name="graph-test",
            definition=state_machine_definition(template, resources),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn",
        )["stateMachineArn"]
        yield {"session": session, "machine": machine}
    finally:
        stop_server(proc)


def _versions(emulator) -> list[dict]:
    sm = emulator["session"].client("sagemaker")
    return sm.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]


def _auc(emulator, output: dict, name: str) -> float:
    return float(output["steps"][f"PickBetterReport{1 if name == 'A' else 2}"]["report"]["metrics"]["auc"])


def test_the_graph_runs_in_parallel_picks_the_better_candidate_and_a_cached_rerun_adds_no_version(emulator):
    started = time.monotonic()
    first = run(emulator["session"], emulator["machine"], "graph-1", {"inputDataUri": f"s3://{BUCKET}/raw/"}, 600)
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
    scored = emulator["session"].client("s3").list_objects_v2(Bucket=BUCKET, Prefix="scores/graph-1/")
    assert scored.get("KeyCount", 0) >= 1

    # the same data again: every job is reused, the condition reads the reused evaluations' reports,
    # and the version the first run registered is this run's (no duplicate)
    second = run(emulator["session"], emulator["machine"], "graph-2", {"inputDataUri": f"s3://{BUCKET}/raw/"}, 600)
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
