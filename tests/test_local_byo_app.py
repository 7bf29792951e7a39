"""End to end with an app that is not the reference app (tests/apps/byo): deployed into the emulator
by ``sm-local``, changed and redeployed, then run: split → hyperparameter tuning (real trials) → model
of the best trial → endpoint ‖ batch transform, with a bring-your-own container and a Spark split;
the endpoint answers ``sm-pipeline invoke`` with the
deployed model's scores.

One emulator and app for the module (all its tests on one xdist worker); waits run 20x faster.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest

from sm_constructs.local.cli.demo import LocalSession
from sm_constructs.local.cli.project import LocalProject

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.xdist_group("byo-app")


def _rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, 4))
    labels = (features[:, 0] - features[:, 2] + rng.normal(scale=0.7, size=n) > 0).astype(int)
    return features, labels


@pytest.fixture(scope="session")
def byo(tmp_path_factory):
    app = Path(shutil.copytree(ROOT / "tests" / "apps" / "byo", tmp_path_factory.mktemp("byo") / "app"))
    project = LocalProject(app)
    try:
        project.deploy("--context", "trials=2", time_scale=0.05)
        # the change: Grid search over categorical depths instead of 2 random trials, deployed as a change set
        (app / "cdk.json").write_text(json.dumps({"app": "python app.py", "context": {"strategy": "Grid"}}))
        project.deploy("--context", "trials=3")
        url = project.require_url()
        session = LocalSession(url)
        resources = session.client("cloudformation").list_stack_resources(StackName="Byo")["StackResourceSummaries"]
        (bucket,) = [
            r["PhysicalResourceId"]
            for r in resources
            if r["ResourceType"] == "AWS::S3::Bucket" and r["LogicalResourceId"].startswith("DataBucket")
        ]
        features, labels = _rows(400, 1)
        body = "f1,f2,f3,f4,label\n" + "".join(
            ",".join(f"{v:.4f}" for v in row) + f",{label}\n" for row, label in zip(features, labels, strict=True)
        )
        session.client("s3").put_object(Bucket=bucket, Key="raw/data.csv", Body=body.encode())
        yield {"project": project, "session": session, "bucket": bucket, "url": url, "app": app}
    finally:
        project.reset()


@pytest.fixture(scope="session")
def run(byo):
    sfn = byo["session"].client("stepfunctions")
    arn = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name="grid")["executionArn"]
    deadline = time.monotonic() + 400
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the run did not finish in time"
        time.sleep(1)
    return described


def test_the_redeployed_definition_runs_to_the_end(byo, run):
    assert run["status"] == "SUCCEEDED", run.get("cause")
    sm = byo["session"].client("sagemaker")
    (tuning,) = sm.list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"]
    described = sm.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=tuning["HyperParameterTuningJobName"]
    )
    assert described["HyperParameterTuningJobConfig"]["Strategy"] == "Grid"  # the change, not the first deployment
    assert described["TrainingJobStatusCounters"]["Completed"] == 3


def test_tuning_picks_the_real_best_trial_and_its_model_is_used(byo, run):
    sm, s3 = byo["session"].client("sagemaker"), byo["session"].client("s3")
    (tuning,) = sm.list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"]
    name = tuning["HyperParameterTuningJobName"]
    described = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    trials = [
        sm.describe_training_job(TrainingJobName=t["TrainingJobName"])
        for t in sm.list_training_jobs(NameContains=name)["TrainingJobSummaries"]
    ]
    assert len(trials) == 3
    scores = {
        t["TrainingJobName"]: {m["MetricName"]: m["Value"] for m in t["FinalMetricDataList"]}["validation:auc"]
        for t in trials
    }
    best = described["BestTrainingJob"]
    assert best["TrainingJobName"] == max(scores, key=scores.get)
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pytest.approx(max(scores.values()))
    # the model, endpoint and batch transform use the best trial's artifact
    output = json.loads(run["output"])
    assert best["TrainingJobName"] in output["steps"]["Tune"]["ModelArtifacts"]
    model = sm.describe_model(ModelName=output["steps"]["Model"]["ModelName"])
    assert model["PrimaryContainer"]["ModelDataUrl"] == output["steps"]["Tune"]["ModelArtifacts"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=byo["bucket"], Prefix="batch/grid/").get("Contents", [])]
    (predictions,) = [k for k in keys if k.endswith(".csv.out") and not k.split("/")[-1].startswith(".")]
    scores = s3.get_object(Bucket=byo["bucket"], Key=predictions)["Body"].read().decode().split()
    assert len(scores) > 20 and all(0 <= float(v) <= 1 for v in scores)


def test_the_split_ran_on_spark_in_local_mode(byo, run):
    s3 = byo["session"].client("s3")
    listed = s3.list_objects_v2(Bucket=byo["bucket"], Prefix="processed/grid/").get("Contents", [])
    parts = {o["Key"].split("/")[2] for o in listed if "/part-" in o["Key"] and o["Key"].endswith(".csv")}
    assert parts == {"train", "validation", "batch"}
    (log,) = (byo["app"] / ".sm-local" / "jobs").glob("byo-split-*/job.log")
    text = log.read_text()
    assert "spark-submit --master 'local[*]'" in text and "split 400 rows into train" in text


def test_the_endpoint_answers_with_the_deployed_model(byo, run, tmp_path):
    import xgboost as xgb

    s3 = byo["session"].client("s3")
    features, _ = _rows(5, 2)
    rows = tmp_path / "rows.csv"
    rows.write_text("".join(",".join(f"{v:.4f}" for v in row) + "\n" for row in features))
    env = {**os.environ, **byo["project"].env(byo["url"])}
    done = subprocess.run(
        [sys.executable, "-m", "sm_constructs.cli", "invoke", "byo-scores", "--body", f"@{rows}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    answered = np.array([float(v) for v in done.stdout.split()])
    # scored here with the same artifact: the endpoint served that model, not a canned answer
    artifact = json.loads(run["output"])["steps"]["Tune"]["ModelArtifacts"]
    bucket, _, key = artifact.removeprefix("s3://").partition("/")
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())) as tar:
        tar.extractall(tmp_path / "model", filter="data")
    booster = xgb.Booster()
    booster.load_model(str(tmp_path / "model" / "xgboost-model"))
    expected = booster.predict(xgb.DMatrix(np.loadtxt(rows, delimiter=",", ndmin=2)))
    assert answered == pytest.approx(expected, abs=1e-5)
    assert len(set(answered.round(4))) > 1

    unknown = subprocess.run(
        [sys.executable, "-m", "sm_constructs.cli", "invoke", "nope", "--body", "1,2,3,4"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert unknown.returncode == 1 and "Endpoint nope of account 123456789012 not found" in unknown.stderr


def test_the_bring_your_own_container_ran_from_its_dockerfile(byo, run):
    """Published into the emulator's ECR by the CDK CLI without Docker, run here from the asset's files."""
    session = byo["session"]
    ecr = session.client("ecr")
    repositories = [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]]
    (assets,) = [r for r in repositories if r.startswith("cdk-") and "container-assets" in r]
    assert ecr.describe_images(repositoryName=assets)["imageDetails"]
    body = session.client("s3").get_object(Bucket=byo["bucket"], Key="processed/grid/featured/data.csv")["Body"].read()
    header, first = body.decode().splitlines()[:2]
    assert header == "f1,f2,f3,f4,f1_times_f2,label"  # the Dockerfile's ENV named the feature
    f1, f2, *_, product, _label = (float(v) for v in first.split(","))
    assert product == pytest.approx(f1 * f2, abs=1e-3)
    (log,) = (byo["app"] / ".sm-local" / "jobs").glob("byo-featurize-*/job.log")
    text = log.read_text()
    assert "image asset FROM python:3.11-slim" in text and "not run locally (no Docker engine): RUN pip install" in text
