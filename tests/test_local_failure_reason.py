"""A failed job's FailureReason names the cause as SageMaker's containers report it, never a stack frame.

The job runner is driven directly against moto's S3 in this process, with real job processes.
Formats: the training toolkit's ``ExecuteUserScriptError`` for script-mode training
(``sagemaker_training/errors.py``), the container's ``/opt/ml/output/failure`` text when it writes
one (SageMaker Developer Guide, "How Amazon SageMaker Processes Training Output"), else
``AlgorithmError: See job logs for more information`` with the exit code and the error line.
"""

import io
import subprocess
import tarfile
import textwrap
import types

import boto3
import pytest
from moto import mock_aws

from sm_constructs.local.jobs.failure import failure_reason
from sm_constructs.local.jobs.runner import JobFailed, JobRunner

REGION = "us-east-1"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket="data")
        rows = "\n".join(f"{i % 2},{i},{i * 2 % 7},{i % 3}" for i in range(40))
        client.put_object(Bucket="data", Key="train/train.csv", Body=rows.encode())
        yield client


def _runner(tmp_path):
    return JobRunner(lambda region: boto3.client("s3", region_name=region), tmp_path / "work")


def _process(tmp_path, script_text):
    script = tmp_path / "job.py"
    script.write_text(textwrap.dedent(script_text))
    request = {
        "ProcessingJobName": "prep",
        "AppSpecification": {"ImageUri": "image", "ContainerEntrypoint": ["python3", str(script)]},
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large"}},
        "RoleArn": "arn:aws:iam::123456789012:role/r",
    }
    root = tmp_path / "work/jobs/prep"
    root.mkdir(parents=True)
    with pytest.raises(JobFailed) as failed:
        _runner(tmp_path)._processing("prep", request, root, root / "job.log", REGION)
    return str(failed.value)


def _train(tmp_path, hyperparameters, image=XGBOOST_IMAGE):
    request = {
        "TrainingJobName": "churn",
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "HyperParameters": hyperparameters,
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "ContentType": "text/csv",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://data/train/"}},
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://data/models"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }
    root = tmp_path / "work/jobs/churn"
    root.mkdir(parents=True)
    with pytest.raises(JobFailed) as failed:
        _runner(tmp_path)._training("churn", request, types.SimpleNamespace(), root, root / "job.log", REGION)
    return str(failed.value), (root / "job.log").read_text()


def test_python_exception_is_the_reason_not_its_traceback(tmp_path, s3):
    reason = _process(
        tmp_path,
        """
        import pandas
        def load():
            raise ValueError("no column 'churn' in the input")
        print("loading")
        load()
        """,
    )
    assert reason == (
        "AlgorithmError: See job logs for more information. Exit code 1: ValueError: no column 'churn' in the input"
    )


def test_script_mode_training_reports_the_toolkits_execute_user_script_error(tmp_path, s3):
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        code = b"import sys\nprint('epoch 1')\nraise KeyError('label')\n"
        info = tarfile.TarInfo("train.py")
        info.size = len(code)
        tar.addfile(info, io.BytesIO(code))
    s3.put_object(Bucket="data", Key="code/sourcedir.tar.gz", Body=archive.getvalue())
    reason, _ = _train(
        tmp_path,
        {"sagemaker_program": "train.py", "sagemaker_submit_directory": "s3://data/code/sourcedir.tar.gz", "lr": "1"},
        image="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
    )
    head, _, command = reason.rpartition("\nCommand ")
    assert head == "AlgorithmError: ExecuteUserScriptError:\nExitCode 1\nErrorMessage \"KeyError: 'label'\""
    assert command.startswith('"') and "/opt/ml/code/train.py --lr 1" in command
    assert command.endswith('", exit code: 1')


def test_shell_script_exit_3_reports_its_error_line():
    done = subprocess.run(
        ["sh", "-c", "echo 'reading /opt/ml/input'; echo 'Error: no file in channel train' >&2; echo 'bye'; exit 3"],
        capture_output=True,
        text=True,
    )
    output = done.stdout + done.stderr
    assert failure_reason(done.returncode, output) == (
        "AlgorithmError: See job logs for more information. Exit code 3: Error: no file in channel train"
    )


def test_native_crash_reports_the_check_that_failed_not_the_backtrace(tmp_path, s3):
    reason = _process(
        tmp_path,
        """
        import os, sys
        sys.stderr.write(
            "terminate called after throwing an instance of 'dmlc::Error'\\n"
            "  what():  [10:00:00] src/data/data.cc:42: Check failed: num_col > 0 : empty feature matrix\\n"
            "Stack trace:\\n"
            "  [bt] (0) /usr/lib/libxgboost.so(+0x1a2b3c) [0x7f0000001]\\n"
            "  [bt] (8) /lib/x86_64-linux-gnu/libffi.so.8(ffi_call+0xcd)\\n"
        )
        sys.stderr.flush()
        os.abort()
        """,
    )
    assert reason == (
        "AlgorithmError: See job logs for more information. Exit code -6 (SIGABRT): "
        "[10:00:00] src/data/data.cc:42: Check failed: num_col > 0 : empty feature matrix"
    )


def test_segfault_without_output_names_the_signal(tmp_path, s3):
    reason = _process(tmp_path, "import ctypes\nctypes.string_at(0)\n")
    assert reason == "AlgorithmError: See job logs for more information. Exit code -11 (SIGSEGV): killed by SIGSEGV"


def test_xgboost_substitute_refuses_a_typo_with_the_containers_message(tmp_path, s3):
    reason, log = _train(tmp_path, {"objective": "binary:logistc", "num_round": "5"})
    assert reason.startswith(
        "ClientError: Hyperparameter objective: binary:logistc is not in ['aft_loss_distribution', 'binary:logistic'"
    )
    assert (tmp_path / "work/jobs/churn/opt/ml/output/failure").read_text() == reason
    assert "[bt]" not in reason and reason in log


def test_xgboost_error_is_the_reason_not_the_libffi_frame(tmp_path, s3):
    # in the container's table, unknown to the xgboost library: its own XGBoostError ends the job
    reason, log = _train(tmp_path, {"objective": "aft_loss_distribution", "num_round": "5"})
    assert "[bt]" in log or "Traceback" in log
    assert reason.startswith(
        "AlgorithmError: See job logs for more information. Exit code 1: xgboost.core.XGBoostError:"
    )
    assert "Unknown objective function" in reason and "libffi" not in reason


def test_failure_file_is_the_reason_when_the_container_writes_one(tmp_path):
    failure = tmp_path / "failure"
    failure.write_text("Channel train has no data files\n")
    assert failure_reason(2, "Traceback (most recent call last):\nOSError: x\n", failure_file=failure) == (
        "AlgorithmError: Channel train has no data files"
    )
    failure.write_text("ClientError: Missing required hyperparameter: num_round")
    assert failure_reason(1, "", failure_file=failure) == "ClientError: Missing required hyperparameter: num_round"
