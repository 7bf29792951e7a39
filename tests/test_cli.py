"""sm-pipeline against Step Functions emulated by moto (executions really run)."""

import io
import json
import os
import re
import subprocess
import sys
import time

import boto3
import pytest
from moto import mock_aws

from sm_constructs.cli import main
from sm_constructs.local.aws import stepfunctions_history

ROLE = "arn:aws:iam::123456789012:role/sm"
OK = {
    "StartAt": "Prepare",
    "States": {"Prepare": {"Type": "Pass", "Next": "Train"}, "Train": {"Type": "Pass", "End": True}},
}
FAILS = {
    "StartAt": "Boom",
    "States": {"Boom": {"Type": "Fail", "Error": "QualityGateNotMet", "Cause": "auc 0.61 < 0.75"}},
}


@pytest.fixture
def sfn(monkeypatch):
    for key, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    # the CLI follows an execution newest event first (reverseOrder), which plain moto ignores; the
    # emulator's plug-in pages the history as Step Functions does (conftest gives moto back after the module)
    stepfunctions_history.install()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        client = boto3.client("stepfunctions")
        client.create_state_machine(name="churn", definition=json.dumps(OK), roleArn=ROLE)
        client.create_state_machine(name="broken", definition=json.dumps(FAILS), roleArn=ROLE)
        yield client


def test_list(sfn, capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "churn\tarn:aws:states:us-east-1:123456789012:stateMachine:churn" in out and "broken" in out


def test_run_and_watch_to_success(sfn, capsys, tmp_path):
    payload = tmp_path / "input.json"
    payload.write_text('{"inputDataUri": "s3://bucket-a/raw/"}')
    assert main(["run", "churn", "--input", f"@{payload}", "--name", "r1", "--watch", "--interval", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "started arn:aws:states:us-east-1:123456789012:execution:churn:r1" in out
    assert "SUCCEEDED states done 2/2" in out
    assert re.search(r"^succeeded in \d+s: arn:aws:states:us-east-1:123456789012:execution:churn:r1$", out, re.M)
    assert "inputDataUri" not in out, "the raw output is not printed without --json"
    assert out.rstrip().endswith(
        "raw output: sm-pipeline watch arn:aws:states:us-east-1:123456789012:execution:churn:r1 --json"
    )


def test_json_ends_with_the_raw_output(sfn, capsys):
    assert main(["run", "churn", "--input", '{"inputDataUri": "s3://bucket-a/raw/"}', "--watch", "--json"]) == 0
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("succeeded in ")]
    assert json.loads(line.split("; output: ", 1)[1]) == {"inputDataUri": "s3://bucket-a/raw/"}


def test_failure_cause_is_printed(sfn, capsys):
    assert main(["run", "broken", "--watch", "--interval", "0.05"]) == 1
    assert "failed: QualityGateNotMet: auc 0.61 < 0.75" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv,message,code",
    [
        (["run", "nope"], "no pipeline named 'nope' (state machines here: broken, churn)", 1),
        (["run", "churn", "--input", "{bad"], "--input is not valid JSON", 2),
        (["run", "churn", "--input", "[1]"], "--input must be a JSON object", 2),
        (["run", "churn", "--input", "@/nonexistent.json"], "cannot read input file /nonexistent.json", 2),
        (["watch", "arn:aws:states:us-east-1:123456789012:execution:churn:missing"], "ExecutionDoesNotExist", 1),
    ],
)
def test_bad_input_is_one_clear_line(sfn, capsys, argv, message, code):
    assert main(argv) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_no_endpoint_running_is_a_clear_error():
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
    }
    done = subprocess.run(
        [sys.executable, "-m", "sm_constructs.cli", "list"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "cannot reach Step Functions (http://127.0.0.1:9)" in done.stderr and "Traceback" not in done.stderr


def test_command_line_tools_start_without_the_jsii_runtime():
    """The CLI and the emulator load neither aws-cdk-lib nor its Node kernel; the constructs still import."""
    probe = (
        "import sys, sm_constructs.cli, sm_constructs.local.cli.demo, sm_constructs.local.server;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aws_cdk', 'jsii', 'constructs')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    import sm_constructs

    assert set(sm_constructs.__all__) == set(dir(sm_constructs)) & set(sm_constructs.__all__)
    assert all(getattr(sm_constructs, name) is not None for name in sm_constructs.__all__)


def test_a_failed_job_is_reported_line_by_line_with_its_log(sfn, capsys):
    """Failed state, error, FailureReason and the job log's last lines, each on its own line (not the
    whole describe response on one)."""
    from sm_constructs.cli import LOG_LINES, failure_report

    logs = boto3.client("logs")
    logs.create_log_group(logGroupName="/aws/sagemaker/ProcessingJobs")
    logs.create_log_stream(logGroupName="/aws/sagemaker/ProcessingJobs", logStreamName="prep-1/algo-1-1")
    lines = [f"line {i}" for i in range(30)] + ["ValueError: no column 'churn'"]
    logs.put_log_events(
        logGroupName="/aws/sagemaker/ProcessingJobs",
        logStreamName="prep-1/algo-1-1",
        logEvents=[{"timestamp": int(time.time() * 1000) + i, "message": m} for i, m in enumerate(lines)],
    )
    reason = "AlgorithmError: See job logs for more information. Exit code 1: ValueError: no column 'churn'"
    described_job = {"ProcessingJobName": "prep-1", "ProcessingJobStatus": "Failed", "FailureReason": reason}
    events = [
        {"id": 1, "type": "ExecutionStarted"},
        {"id": 2, "type": "TaskStateEntered", "previousEventId": 1, "stateEnteredEventDetails": {"name": "Preprocess"}},
        {
            "id": 3,
            "type": "WaitStateEntered",
            "previousEventId": 1,
            "stateEnteredEventDetails": {"name": "OtherBranch"},
        },
        {
            "id": 4,
            "previousEventId": 2,
            "type": "TaskFailed",
            "taskFailedEventDetails": {"error": "States.TaskFailed", "cause": json.dumps(described_job)},
        },
        {
            "id": 5,
            "type": "PassStateEntered",
            "previousEventId": 4,
            "stateEnteredEventDetails": {"name": "NotifyFailure"},
        },
    ]
    described = {"status": "FAILED", "error": "States.TaskFailed", "cause": json.dumps(described_job)}
    report = failure_report({"described": described, "events": events})
    assert report[:5] == [
        f"failed: States.TaskFailed: {reason}",
        "  failed state: Preprocess",
        "  error: States.TaskFailed",
        "  job: prep-1",
        f"  FailureReason: {reason}",
    ]
    assert report[6:] == [f"    {m}" for m in lines[-LOG_LINES:]]
    assert all(len(line) < 200 for line in report)


def test_invoke_sends_the_body_file(sfn, capsys, tmp_path, monkeypatch):
    rows = tmp_path / "rows.csv"
    rows.write_text("1,2,3\n")
    sent = {}

    class Runtime:
        def invoke_endpoint(self, **kwargs):
            sent.update(kwargs)
            return {"Body": io.BytesIO(b"0.25\n")}

    monkeypatch.setattr("sm_constructs.cli.boto3.client", lambda service, **_: Runtime())
    assert main(["invoke", "churn-endpoint", "--body", f"@{rows}"]) == 0
    assert capsys.readouterr().out == "0.25\n"
    assert sent == {
        "EndpointName": "churn-endpoint",
        "Body": b"1,2,3\n",
        "ContentType": "text/csv",
        "Accept": "text/csv",
    }


def test_the_log_tail_is_the_failed_jobs_own_stream_when_two_jobs_log_at_once(sfn, tmp_path):
    """Two jobs publish their logs at the same moment (the job runner's writer, one thread each); the
    report of the failed one shows its own lines only, also next to a job whose name extends its own."""
    import threading

    from sm_constructs.cli import LOG_LINES, failure_report
    from sm_constructs.local.jobs.runner import JobRunner

    runner = JobRunner(
        lambda region: boto3.client("s3", region_name=region),
        tmp_path,
        logs=lambda region: boto3.client("logs", region_name=region),
    )
    logs_of = {}
    for job in ("train-1", "train-10", "train-2"):
        log = tmp_path / f"{job}.log"
        log.write_text("".join(f"{job} line {i}\n" for i in range(40)))
        logs_of[job] = log
    threads = [
        threading.Thread(target=runner._publish_log, args=("CreateTrainingJob", job, log, "us-east-1"))
        for job, log in logs_of.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    described_job = {"TrainingJobName": "train-1", "TrainingJobStatus": "Failed", "FailureReason": "x"}
    events = [
        {"id": 1, "type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "Train"}},
        {
            "id": 2,
            "previousEventId": 1,
            "type": "TaskFailed",
            "taskFailedEventDetails": {"error": "States.TaskFailed", "cause": json.dumps(described_job)},
        },
    ]
    described = {"status": "FAILED", "error": "States.TaskFailed", "cause": json.dumps(described_job)}
    report = failure_report({"described": described, "events": events})
    tail = report[report.index("  last lines of the job log (/aws/sagemaker/TrainingJobs):") + 1 :]
    assert tail == [f"    train-1 line {i}" for i in range(40 - LOG_LINES, 40)]


def test_approve_names_and_follows_the_release_it_started(sfn, capsys):
    """The release is the execution of the state machine an EventBridge rule starts on the group's
    approvals whose input (the approval event) names this version; another version's release is not it."""
    sm, events = boto3.client("sagemaker"), boto3.client("events")
    sm.create_model_package_group(ModelPackageGroupName="churn-models")
    arns = [
        sm.create_model_package(
            ModelPackageGroupName="churn-models",
            ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={
                "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgb:1"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )["ModelPackageArn"]
        for _ in range(2)
    ]
    deploy = sfn.create_state_machine(name="churn-deployment", definition=json.dumps(OK), roleArn=ROLE)
    pattern = {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {"ModelPackageGroupName": ["churn-models"], "ModelApprovalStatus": ["Approved"]},
    }
    events.put_rule(Name="OnApproval", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="OnApproval", Targets=[{"Id": "1", "Arn": deploy["stateMachineArn"], "RoleArn": ROLE}])
    events.put_rule(Name="Other", EventPattern=json.dumps({**pattern, "detail": {"ModelPackageGroupName": ["x"]}}))
    events.put_targets(Rule="Other", Targets=[{"Id": "1", "Arn": deploy["stateMachineArn"], "RoleArn": ROLE}])
    # what EventBridge delivers for each approval (moto's SageMaker sends no events): the older version's
    # release, then the newer one's
    for name, arn in (("older", arns[0]), ("newer", arns[1])):
        sfn.start_execution(
            stateMachineArn=deploy["stateMachineArn"], name=name, input=json.dumps({"detail": {"ModelPackageArn": arn}})
        )

    assert main(["approve", "churn-models", "--version", "1", "--wait", "0", "--follow", "--interval", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "release started: arn:aws:states:us-east-1:123456789012:execution:churn-deployment:older" in out
    assert "succeeded in " in out and "SUCCEEDED states done 2/2" in out

    events.remove_targets(Rule="OnApproval", Ids=["1"])  # only the other group's rule is left
    assert main(["approve", "churn-models", "--version", "2", "--wait", "0"]) == 0
    assert (
        "no EventBridge rule starts a state machine when a version of churn-models is approved"
        in capsys.readouterr().out
    )
    assert main(["approve", "churn-models", "--version", "2", "--wait", "0", "--follow"]) == 1
