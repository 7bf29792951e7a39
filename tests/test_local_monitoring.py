"""The emulator and Model Monitor: the baselining substitute and the monitoring schedules' control plane.

No deployment: moto in-process (``mock_aws``), the job runner and the plug-in directly.
"""

from __future__ import annotations

import csv
import json
import time

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from sm_constructs.local.aws import sagemaker_monitoring
from sm_constructs.local.jobs.model_monitor_substitute import baseline
from sm_constructs.local.jobs.runner import JobRunner

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/exec"
IMAGE = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer:latest"


def _write_rows(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)


def test_baseline_files_follow_the_documented_schemas(tmp_path):
    rows = [[i % 2, i, 20.5 + i, "dsl" if i % 3 else "fiber", ""] for i in range(30)]
    _write_rows(tmp_path / "in" / "part.csv", rows)
    stats, constraints = baseline(
        tmp_path / "in", tmp_path / "out", {"csv": {"header": False, "output_columns_position": "START"}}
    )
    assert json.loads((tmp_path / "out" / "statistics.json").read_text()) == stats
    assert json.loads((tmp_path / "out" / "constraints.json").read_text()) == constraints
    assert stats["dataset"] == {"item_count": 30}
    by_name = {f["name"]: f for f in stats["features"]}
    assert list(by_name) == ["_c0", "_c1", "_c2", "_c3", "_c4"]
    assert [by_name[n]["inferred_type"] for n in by_name] == ["Integral", "Integral", "Fractional", "String", "Unknown"]
    tenure = by_name["_c1"]["numerical_statistics"]
    assert tenure["common"] == {"num_present": 30, "num_missing": 0}
    assert (tenure["min"], tenure["max"], tenure["sum"], tenure["mean"]) == (0, 29, 435, 14.5)
    buckets = tenure["distribution"]["kll"]["buckets"]
    assert len(buckets) == 10 and sum(b["count"] for b in buckets) == 30
    assert tenure["distribution"]["kll"]["sketch"]["data"] == [[float(i) for i in range(30)]]
    contract = by_name["_c3"]["string_statistics"]
    assert contract["distinct_count"] == 2
    assert {b["value"]: b["count"] for b in contract["distribution"]["categorical"]["buckets"]} == {
        "dsl": 20,
        "fiber": 10,
    }
    assert by_name["_c4"]["string_statistics"]["common"] == {"num_present": 0, "num_missing": 30}
    features = {f["name"]: f for f in constraints["features"]}
    assert features["_c1"]["num_constraints"] == {"is_non_negative": True}
    assert features["_c3"]["string_constraints"] == {"domains": ["dsl", "fiber"]}
    assert features["_c4"]["completeness"] == 0.0
    config = constraints["monitoring_config"]
    assert config["emit_metrics"] == "Enabled" and config["evaluate_constraints"] == "Enabled"
    assert config["distribution_constraints"]["comparison_threshold"] == 0.1


def test_a_baselining_job_on_the_analyzer_image_runs_the_substitute(tmp_path):
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        s3.create_bucket(Bucket="data")
        s3.put_object(Bucket="data", Key="train/part.csv", Body=b"0,1,2.5\n1,3,4.5\n0,5,6.5\n")
        request = {
            "ProcessingJobName": "churn-baseline-1",
            "RoleArn": ROLE,
            "AppSpecification": {"ImageUri": IMAGE},
            "Environment": {
                "dataset_format": json.dumps({"csv": {"header": False, "output_columns_position": "START"}}),
                "dataset_source": "/opt/ml/processing/input/baseline_dataset_input",
                "output_path": "/opt/ml/processing/output",
                "publish_cloudwatch_metrics": "Disabled",
            },
            "ProcessingInputs": [
                {
                    "InputName": "baseline_dataset_input",
                    "S3Input": {
                        "S3Uri": "s3://data/train/",
                        "LocalPath": "/opt/ml/processing/input/baseline_dataset_input",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                    },
                }
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "monitoring_output",
                        "S3Output": {
                            "S3Uri": "s3://data/monitoring/baseline/",
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
            "ProcessingResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30}
            },
        }
        sagemaker.create_processing_job(**request)
        runner = JobRunner(lambda region: boto3.client("s3", region_name=region), tmp_path)
        runner.submit("CreateProcessingJob", request, REGION)
        for _ in range(300):
            status = sagemaker.describe_processing_job(ProcessingJobName="churn-baseline-1")
            if status["ProcessingJobStatus"] != "InProgress":
                break
            time.sleep(0.1)
        assert status["ProcessingJobStatus"] == "Completed", status.get("FailureReason")
        stats = json.loads(s3.get_object(Bucket="data", Key="monitoring/baseline/statistics.json")["Body"].read())
        assert stats["dataset"]["item_count"] == 3
        assert s3.get_object(Bucket="data", Key="monitoring/baseline/constraints.json")
        log = (tmp_path / "jobs" / "churn-baseline-1" / "job.log").read_text()
        assert "LOCAL SUBSTITUTE for Model Monitor's analyzer image" in log


@pytest.fixture
def sagemaker():
    with mock_aws():
        sagemaker_monitoring.install()
        yield boto3.client("sagemaker", region_name=REGION)


def _job_definition(client, name="churn-dq-1", endpoint="churn"):
    client.create_data_quality_job_definition(
        JobDefinitionName=name,
        DataQualityAppSpecification={"ImageUri": IMAGE},
        DataQualityJobInput={
            "EndpointInput": {"EndpointName": endpoint, "LocalPath": "/opt/ml/processing/input/endpoint"}
        },
        DataQualityJobOutputConfig={
            "MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://data/r/", "LocalPath": "/opt/ml/processing/output"}}]
        },
        JobResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30}},
        RoleArn=ROLE,
    )


def _endpoint(client, capture: bool):
    client.create_model(ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    extra = (
        {
            "DataCaptureConfig": {
                "EnableCapture": True,
                "InitialSamplingPercentage": 20,
                "DestinationS3Uri": "s3://data/capture/",
                "CaptureOptions": [{"CaptureMode": "Input"}],
            }
        }
        if capture
        else {}
    )
    client.create_endpoint_config(
        EndpointConfigName="c",
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
        ],
        **extra,
    )
    client.create_endpoint(EndpointName="churn", EndpointConfigName="c")


def _config(definition="churn-dq-1"):
    return {
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
        "MonitoringJobDefinitionName": definition,
        "MonitoringType": "DataQuality",
    }


def test_a_schedule_needs_its_job_definition_and_a_capturing_endpoint(sagemaker):
    with pytest.raises(ClientError) as missing_definition:
        sagemaker.create_monitoring_schedule(MonitoringScheduleName="churn-dq", MonitoringScheduleConfig=_config())
    assert missing_definition.value.response["Error"]["Code"] == "ResourceNotFound"
    _job_definition(sagemaker)
    with pytest.raises(ClientError, match="does not exist"):
        sagemaker.create_monitoring_schedule(MonitoringScheduleName="churn-dq", MonitoringScheduleConfig=_config())
    _endpoint(sagemaker, capture=False)
    with pytest.raises(ClientError, match="data capture"):
        sagemaker.create_monitoring_schedule(MonitoringScheduleName="churn-dq", MonitoringScheduleConfig=_config())


def test_create_update_describe_as_sagemaker_does_but_nothing_runs(sagemaker, caplog):
    _job_definition(sagemaker)
    _endpoint(sagemaker, capture=True)
    with pytest.raises(ClientError) as unknown:
        sagemaker.update_monitoring_schedule(MonitoringScheduleName="churn-dq", MonitoringScheduleConfig=_config())
    assert unknown.value.response["Error"]["Code"] == "ResourceNotFound"  # the deployment then creates it
    created = sagemaker.create_monitoring_schedule(
        MonitoringScheduleName="churn-dq", MonitoringScheduleConfig=_config()
    )
    assert created["MonitoringScheduleArn"].endswith(":monitoring-schedule/churn-dq")
    assert "runs no monitoring executions" in caplog.text
    with pytest.raises(ClientError) as again:
        sagemaker.create_monitoring_schedule(MonitoringScheduleName="churn-dq", MonitoringScheduleConfig=_config())
    assert again.value.response["Error"]["Code"] == "ResourceInUse"
    _job_definition(sagemaker, "churn-dq-2")
    sagemaker.update_monitoring_schedule(
        MonitoringScheduleName="churn-dq", MonitoringScheduleConfig=_config("churn-dq-2")
    )
    described = sagemaker.describe_monitoring_schedule(MonitoringScheduleName="churn-dq")
    assert described["MonitoringScheduleStatus"] == "Scheduled"
    assert described["EndpointName"] == "churn"
    assert described["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"] == "churn-dq-2"
    assert "LastMonitoringExecutionSummary" not in described  # no execution ever runs here
    assert [
        s["MonitoringScheduleName"] for s in sagemaker.list_monitoring_schedules()["MonitoringScheduleSummaries"]
    ] == ["churn-dq"]
    sagemaker.delete_monitoring_schedule(MonitoringScheduleName="churn-dq")
    with pytest.raises(ClientError):
        sagemaker.describe_monitoring_schedule(MonitoringScheduleName="churn-dq")
