"""AWS's own example scripts, unchanged, as processing jobs of the local runner.

The scripts (``tests/aws_examples/``; repository, path, commit and licence in its README) hard-code
SageMaker's container paths and reach them through ``tarfile``, ``pickle``, ``joblib``, pandas and
Spark's JVM. Each job's ``/opt/ml`` is its own (:mod:`sm_constructs.local.jobs.namespace`). The
reference for their outputs is the same script in SageMaker's layout: a real ``/opt/ml`` made by
util-linux's ``unshare`` and ``mount`` in a throwaway mount namespace (not the runner's code), or
content computed here from the inputs.
"""

import io
import json
import pickle
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import boto3
import joblib
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from moto import mock_aws
from sklearn.metrics import mean_squared_error

from sm_constructs.local.jobs.runner import JobRunner

REGION = "us-east-1"
EXAMPLES = Path(__file__).resolve().parent / "aws_examples"
CODE = "/opt/ml/processing/input/code"


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("SM_LOCAL_ZYGOTE", "off")  # each job a new process (the warm path: test_local_opt_ml.py)
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket="examples")
        yield client


def _processing_job(tmp_path, s3, name, entrypoint, inputs, outputs):
    """Run a processing job; ``inputs``: LocalPath → {file: bytes}; its outputs as LocalPath → {file: bytes}."""
    for i, files in enumerate(inputs.values()):
        for file, body in files.items():
            s3.put_object(Bucket="examples", Key=f"{name}/in{i}/{file}", Body=body)
    request = {
        "ProcessingJobName": name,
        "AppSpecification": {"ImageUri": "sklearn", "ContainerEntrypoint": entrypoint},
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}
        },
        "ProcessingInputs": [
            {
                "InputName": f"in{i}",
                "S3Input": {
                    "S3Uri": f"s3://examples/{name}/in{i}/",
                    "LocalPath": local,
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            }
            for i, local in enumerate(inputs)
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": f"out{i}",
                    "S3Output": {
                        "S3Uri": f"s3://examples/{name}/out{i}/",
                        "LocalPath": local,
                        "S3UploadMode": "EndOfJob",
                    },
                }
                for i, local in enumerate(outputs)
            ]
        },
        "RoleArn": "arn:aws:iam::123456789012:role/r",
    }
    runner = JobRunner(lambda region: boto3.client("s3", region_name=region), tmp_path / "work")
    root = tmp_path / "work/jobs" / name
    root.mkdir(parents=True)
    runner._processing(name, request, root, root / "job.log", REGION)
    results = {}
    for i, local in enumerate(outputs):
        prefix = f"{name}/out{i}/"
        listed = s3.list_objects_v2(Bucket="examples", Prefix=prefix).get("Contents", [])
        results[local] = {
            o["Key"][len(prefix) :]: s3.get_object(Bucket="examples", Key=o["Key"])["Body"].read() for o in listed
        }
    return results


def _in_container_layout(tmp_path, argv, inputs, outputs):
    """``argv`` with a real ``/opt/ml`` holding ``inputs`` (as :func:`_processing_job`); the outputs it wrote."""
    if shutil.which("unshare") is None:
        pytest.skip("the container-layout reference needs util-linux's unshare")
    opt_ml = tmp_path / "container/opt/ml"
    for local, files in inputs.items():
        for file, body in files.items():
            path = opt_ml / Path(local).relative_to("/opt/ml") / file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
    for local in outputs:
        (opt_ml / Path(local).relative_to("/opt/ml")).mkdir(parents=True, exist_ok=True)
    cwd = tmp_path / "container/cwd"
    cwd.mkdir()
    layout = 'mount -t tmpfs tmpfs /opt && mkdir /opt/ml && mount --bind "$0" /opt/ml && exec "$@"'
    done = subprocess.run(
        ["unshare", "--mount", "--map-root-user", "sh", "-c", layout, str(opt_ml), *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return {
        local: {
            p.relative_to(opt_ml / Path(local).relative_to("/opt/ml")).as_posix(): p.read_bytes()
            for p in sorted((opt_ml / Path(local).relative_to("/opt/ml")).rglob("*"))
            if p.is_file()
        }
        for local in outputs
    }


def _code(*files):
    return {f.name: f.read_bytes() for f in files}


def _abalone_csv(rows=300):
    """Rows shaped as the UCI abalone data the example downloads: sex, seven measures, rings; no header."""
    rng = np.random.default_rng(7)
    length = rng.uniform(0.1, 0.8, rows)
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["M", "F", "I"], rows),
            "length": length.round(3),
            "diameter": (length * 0.8).round(3),
            "height": (length * 0.25).round(3),
            "whole_weight": (length**3 * 2).round(4),
            "shucked_weight": (length**3).round(4),
            "viscera_weight": (length**3 * 0.4).round(4),
            "shell_weight": (length**3 * 0.6).round(4),
            "rings": (length * 20 + rng.integers(0, 4, rows)).round(),
        }
    )
    return frame.to_csv(header=False, index=False).encode()


def _rows(files):
    return sorted(line for body in files.values() for line in body.decode().splitlines())


def test_abalone_preprocessing_then_evaluation_run_unchanged_and_match_the_container_layout(tmp_path, s3):
    preprocessing = {
        CODE: _code(EXAMPLES / "abalone/preprocessing.py"),
        "/opt/ml/processing/input": {"abalone-dataset.csv": _abalone_csv()},
    }
    splits = [f"/opt/ml/processing/{split}" for split in ("train", "validation", "test")]
    argv = ["python3", f"{CODE}/preprocessing.py"]
    job = _processing_job(tmp_path, s3, "abalone-preprocessing", argv, preprocessing, splits)
    reference = _in_container_layout(tmp_path / "ref-pre", [sys.executable, *argv[1:]], preprocessing, splits)
    # the split is shuffled at random: the same rows, in the same proportions
    assert {s: list(files) for s, files in job.items()} == {s: [f"{Path(s).name}.csv"] for s in splits}
    assert [len(_rows(job[s])) for s in splits] == [len(_rows(reference[s])) for s in splits] == [210, 45, 45]
    assert _rows({s: b for s in splits for b in job[s].values()}) == _rows(
        {s: b for s in splits for b in reference[s].values()}
    )

    # the built-in XGBoost algorithm's model.tar.gz (a pickled Booster in ``xgboost-model``, as the example reads it)
    train = np.loadtxt(io.StringIO(job[splits[0]]["train.csv"].decode()), delimiter=",")
    booster = xgb.train(
        {"objective": "reg:squarederror"}, xgb.DMatrix(train[:, 1:], label=train[:, 0]), num_boost_round=20
    )
    model = io.BytesIO()
    with tarfile.open(fileobj=model, mode="w:gz") as tar:
        raw = pickle.dumps(booster)
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    evaluation = {
        CODE: _code(EXAMPLES / "abalone/evaluation.py"),
        "/opt/ml/processing/model": {"model.tar.gz": model.getvalue()},
        "/opt/ml/processing/test": job[splits[2]],
    }
    out = ["/opt/ml/processing/evaluation"]
    argv = ["python3", f"{CODE}/evaluation.py"]
    job_report = _processing_job(tmp_path, s3, "abalone-evaluation", argv, evaluation, out)[out[0]]
    reference_report = _in_container_layout(tmp_path / "ref-eval", [sys.executable, *argv[1:]], evaluation, out)
    assert job_report == reference_report[out[0]]
    test = np.loadtxt(io.StringIO(job[splits[2]]["test.csv"].decode()), delimiter=",")
    mse = mean_squared_error(test[:, 0], booster.predict(xgb.DMatrix(test[:, 1:])))
    report = json.loads(job_report["evaluation.json"])
    assert report["regression_metrics"]["mse"]["value"] == pytest.approx(mse, rel=1e-6)


def test_scikit_learn_preprocessing_dumps_its_pipeline_with_joblib_as_in_the_container(tmp_path, s3):
    rng = np.random.default_rng(3)
    data = pd.DataFrame(rng.normal(size=(80, 3)) * [1, 10, 100], columns=["a", "b", "c"]).assign(
        y=rng.integers(0, 2, 80)
    )
    inputs = {
        CODE: _code(EXAMPLES / "sklearn_scheduled/preprocessing.py"),
        "/opt/ml/processing/input": {"data.csv": data.to_csv(index=False).encode()},
    }
    outputs = [f"/opt/ml/processing/output/{d}" for d in ("train", "test", "pipeline")]
    argv = ["python3", f"{CODE}/preprocessing.py"]
    job = _processing_job(tmp_path, s3, "sklearn-preprocessing", argv, inputs, outputs)
    reference = _in_container_layout(tmp_path / "ref", [sys.executable, *argv[1:]], inputs, outputs)
    assert {k: sorted(v) for k, v in job.items()} == {
        outputs[0]: ["train.csv"],
        outputs[1]: ["test.csv"],
        outputs[2]: ["preproc-pipeline.joblib"],
    }
    for split in outputs[:2]:
        assert job[split] == reference[split]  # train_test_split(random_state=42): the same bytes
    pipelines = [joblib.load(io.BytesIO(r[outputs[2]]["preproc-pipeline.joblib"])) for r in (job, reference)]
    for pipeline in pipelines:
        np.testing.assert_allclose(pipeline.named_steps["scaler"].mean_, data[["a", "b", "c"]].mean().to_numpy())


def test_a_pyspark_application_reads_and_writes_opt_ml_through_the_jvm(tmp_path, s3):
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java")
    pytest.importorskip("pyspark")
    sales = [{"date": f"2020-01-0{1 + i % 3}", "sale": 700 + 25 * i} for i in range(8)]
    inputs = {
        CODE: _code(*sorted((EXAMPLES / "hello_py_spark").glob("*.py"))),
        "/opt/ml/processing/input/data": {"sales.json": "\n".join(json.dumps(s) for s in sales).encode()},
    }
    argv = [
        "smspark-submit",
        "--py-files",
        f"{CODE}/hello_py_spark_udfs.py",
        f"{CODE}/hello_py_spark_app.py",
        "--input",
        "/opt/ml/processing/input/data",
        "--output",
        "/opt/ml/processing/output/sales",
    ]
    job = _processing_job(tmp_path, s3, "hello-py-spark", argv, inputs, ["/opt/ml/processing/output"])
    written = job["/opt/ml/processing/output"]
    assert "sales/_SUCCESS" in written
    rows = [json.loads(line) for name, body in written.items() if name.endswith(".json") for line in body.splitlines()]
    assert sorted(rows, key=lambda r: r["sale"]) == [{**s, "sale_double": 2 * s["sale"]} for s in sales]
    log = (tmp_path / "work/jobs/hello-py-spark/job.log").read_text()
    assert "Saved data" in log
