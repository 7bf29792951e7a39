"""A job's ``/opt/ml`` is seen by every reader and writer in its process tree, or the job does not start.

Each job runs in its own mount namespace with its directory bound at ``/opt/ml``
(:mod:`sm_constructs.local.jobs.namespace`): programs it starts (``sh``, ``tar``), ``tarfile`` and
native code (xgboost's C library opening a model file) see the container's paths, whether the job is
a new process or forked from the warm interpreter. Where the machine refuses the namespace, the
job fails before it starts and says why; the Python-only mapping, chosen explicitly, is partial.
"""

import io
import os
import re
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import boto3
import numpy as np
import pytest
import xgboost as xgb
from moto import mock_aws

from sm_constructs.local.jobs import namespace, zygote
from sm_constructs.local.jobs.runner import JobFailed, JobRunner

REGION = "us-east-1"

SCRIPT = """
import os, subprocess, tarfile
import numpy as np, xgboost
# programs the job starts: a shell and tar
subprocess.run(["sh", "-c", "cat /opt/ml/processing/input/data/*.csv > /opt/ml/processing/output/all.csv"], check=True)
subprocess.run(["tar", "-czf", "/opt/ml/processing/output/data.tar.gz", "-C", "/opt/ml/processing/input/data", "."], check=True)
# tarfile keeps its own reference to the built-in open
with tarfile.open("/opt/ml/processing/input/model/model.tar.gz") as tar:
    tar.extractall("/opt/ml/processing/model")
# xgboost's C library opens the file itself
booster = xgboost.Booster(model_file="/opt/ml/processing/model/xgboost-model")
rows = np.loadtxt("/opt/ml/processing/input/data/a.csv", delimiter=",", ndmin=2)
np.savetxt("/opt/ml/processing/output/predictions.csv", booster.predict(xgboost.DMatrix(rows)))
with open("/opt/ml/processing/output/opt.txt", "w") as f:
    f.write("\\n".join(sorted(os.listdir("/opt"))))
"""


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket="jobs")
        yield client


def _model_tar(booster):
    raw = bytes(booster.save_raw("json"))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    return out.getvalue()


def _run(tmp_path, s3, script):
    """A processing job running ``script`` from its code input; its output directory."""
    s3.put_object(Bucket="jobs", Key="code/job.py", Body=script.encode())
    inputs = [("code", "/opt/ml/processing/input/code"), ("data", "/opt/ml/processing/input/data")]
    inputs.append(("model", "/opt/ml/processing/input/model"))
    request = {
        "ProcessingJobName": "paths",
        "AppSpecification": {
            "ImageUri": "sklearn",
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/job.py"],
        },
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}
        },
        "ProcessingInputs": [
            {
                "InputName": name,
                "S3Input": {"S3Uri": f"s3://jobs/{name}/", "LocalPath": local, "S3DataType": "S3Prefix"},
            }
            for name, local in inputs
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "out",
                    "S3Output": {"S3Uri": "s3://jobs/out/", "LocalPath": "/opt/ml/processing/output"},
                }
            ]
        },
        "RoleArn": "arn:aws:iam::123456789012:role/r",
    }
    runner = JobRunner(lambda region: boto3.client("s3", region_name=region), tmp_path / "work")
    root = tmp_path / "work/jobs/paths"
    root.mkdir(parents=True)
    runner._processing("paths", request, root, root / "job.log", REGION)
    return root / "opt/ml/processing/output"


@pytest.fixture
def inputs(s3):
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(6, 3)), rng.normal(size=(4, 3))
    booster = xgb.train({"objective": "reg:squarederror"}, xgb.DMatrix(a, label=a.sum(axis=1)), num_boost_round=5)
    for name, rows in (("a.csv", a), ("b.csv", b)):
        body = io.StringIO()
        np.savetxt(body, rows, delimiter=",")
        s3.put_object(Bucket="jobs", Key=f"data/{name}", Body=body.getvalue().encode())
    s3.put_object(Bucket="jobs", Key="model/model.tar.gz", Body=_model_tar(booster))
    return {"booster": booster, "a": a}


@pytest.mark.parametrize("launch", ["new process", "warm interpreter"])
def test_programs_tarfile_and_native_code_in_a_job_see_its_opt_ml(tmp_path, s3, inputs, monkeypatch, launch):
    if launch == "new process":
        monkeypatch.setenv("SM_LOCAL_ZYGOTE", "off")
    else:
        warm = zygote.shared()
        assert warm is not None
        deadline = time.monotonic() + 180
        while not warm.ready():
            assert time.monotonic() < deadline, "the warm interpreter did not start"
            time.sleep(0.2)
    host_had_opt_ml = os.path.exists("/opt/ml")
    out = _run(tmp_path, s3, SCRIPT)
    data = tmp_path / "work/jobs/paths/opt/ml/processing/input/data"
    assert (out / "all.csv").read_bytes() == (data / "a.csv").read_bytes() + (data / "b.csv").read_bytes()
    with tarfile.open(out / "data.tar.gz") as tar:
        assert sorted(n for n in tar.getnames() if n != ".") == ["./a.csv", "./b.csv"]
    expected = inputs["booster"].predict(xgb.DMatrix(inputs["a"]))
    np.testing.assert_allclose(np.loadtxt(out / "predictions.csv"), expected, rtol=1e-6)
    # the host's /opt is there too, and nothing of the job's is left on the host
    assert (out / "opt.txt").read_text().split() == sorted({*os.listdir("/opt"), "ml"})
    assert os.path.exists("/opt/ml") == host_had_opt_ml


def test_the_python_only_mapping_is_partial(tmp_path, s3, inputs, monkeypatch):
    """Chosen explicitly, it maps the job's Python file functions only: the shell it starts misses /opt/ml."""
    monkeypatch.setenv("SM_LOCAL_ZYGOTE", "off")
    monkeypatch.setenv(namespace.MAPPING_ENV, "python-only")
    with pytest.raises(JobFailed, match=r"AlgorithmError: .*Exit code 1"):
        _run(tmp_path, s3, SCRIPT)
    log = (tmp_path / "work/jobs/paths/job.log").read_text()
    assert re.search(r"/opt/ml/processing/output/all\.csv: (Directory nonexistent|No such file or directory)", log), log


def test_an_unknown_mapping_fails_the_job_before_it_starts(tmp_path, s3, inputs, monkeypatch):
    monkeypatch.setenv(namespace.MAPPING_ENV, "host")
    with pytest.raises(JobFailed, match=r"ClientError: SM_LOCAL_OPT_ML_MAPPING='host' is neither 'namespace'"):
        _run(tmp_path, s3, "open('/opt/ml/processing/output/ran', 'w')\n")
    assert not (tmp_path / "work/jobs/paths/opt/ml/processing/output/ran").exists()


def test_a_machine_that_refuses_user_namespaces_fails_the_job_with_what_to_do(tmp_path):
    """A non-root user in a chroot (where the kernel refuses ``CLONE_NEWUSER``, as in many sandboxes)."""
    tools = [shutil.which(t) for t in ("unshare", "chroot", "setpriv")]
    if os.geteuid() != 0 or None in tools or not os.access("/usr/bin/python3", os.X_OK):
        pytest.skip("needs root, util-linux's unshare and setpriv, chroot and /usr/bin/python3")
    jobs = Path(namespace.__file__).resolve().parent
    check = (
        f"import sys, pathlib; sys.path.insert(0, {str(jobs)!r}); import namespace\n"
        "try:\n"
        "    namespace.contract(pathlib.Path('/tmp/no-such-job/opt/ml'))\n"
        "except namespace.Unavailable as error:\n"
        "    print(error)\n"
        "else:\n"
        "    print('available')\n"
    )
    jail = tmp_path / "jail"
    jail.mkdir()
    chrooted = f'mount --make-rprivate / && mount --rbind / {jail} && exec chroot {jail} setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -I -c "$0"'
    done = subprocess.run(
        ["unshare", "--mount", "sh", "-c", chrooted, check], capture_output=True, text=True, cwd="/tmp"
    )
    assert done.returncode == 0, done.stderr
    said = done.stdout.strip()
    assert said.startswith("the job's /opt/ml needs its own mount namespace and this machine refused it"), said
    assert "kernel.unprivileged_userns_clone" in said and "SM_LOCAL_OPT_ML_MAPPING=python-only" in said
