"""Processing jobs on several instances: ShardedByS3Key shards, resourceconfig.json, Spark on the primary host.

The job runner is driven directly against moto's S3 in this process (no emulator server, no
deployment). Expectations come from SageMaker's documentation: ``ShardedByS3Key`` downloads "one
shard of data to each processing instance" (botocore ``ProcessingS3Input``); each container reads
``/opt/ml/config/resourceconfig.json`` (``current_host``, ``hosts``); the Spark image runs the
application on the primary host only (aws/sagemaker-spark-container ``src/smspark/job.py``).
"""

import json
import shutil
import textwrap

import boto3
import pytest
from moto import mock_aws

from sm_constructs.local.jobs.runner import JobFailed, JobRunner

REGION = "us-east-1"
KEYS = [f"data/part-{i}.csv" for i in range(5)]

# each instance lists its input and writes what it saw under its own host name
LIST_INPUT = """
import json, os, sys
config = json.load(open("/opt/ml/config/resourceconfig.json"))
files = sorted(os.listdir("/opt/ml/processing/input/data"))
if config["current_host"] == os.environ.get("FAIL_ON"):
    sys.exit("failing on purpose on " + config["current_host"])
os.makedirs("/opt/ml/processing/output/seen", exist_ok=True)
with open(f"/opt/ml/processing/output/seen/{config['current_host']}.json", "w") as f:
    json.dump({"hosts": config["hosts"], "files": files}, f)
"""


@pytest.fixture
def s3(tmp_path):
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket="in-data")
        client.create_bucket(Bucket="out-data")
        for i, key in enumerate(KEYS):
            client.put_object(Bucket="in-data", Key=key, Body=f"{i},{i * 10}\n{i},{i * 10 + 1}\n".encode())
        yield client


def _request(entrypoint, count, distribution, environment=None):
    return {
        "ProcessingJobName": "sharded",
        "AppSpecification": {"ImageUri": "image", "ContainerEntrypoint": entrypoint},
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": count, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}
        },
        "ProcessingInputs": [
            {
                "InputName": "data",
                "S3Input": {
                    "S3Uri": "s3://in-data/data/",
                    "LocalPath": "/opt/ml/processing/input/data",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                    "S3DataDistributionType": distribution,
                },
            }
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "out",
                    "S3Output": {
                        "S3Uri": "s3://out-data/run/",
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
        "Environment": environment or {},
        "RoleArn": "arn:aws:iam::123456789012:role/r",
    }


def _run(tmp_path, request):
    runner = JobRunner(lambda region: boto3.client("s3", region_name=region), tmp_path / "work")
    root = tmp_path / "work/jobs/sharded"
    root.mkdir(parents=True)
    runner._processing("sharded", request, root, root / "job.log", REGION)
    return root


def _seen(s3):
    listed = s3.list_objects_v2(Bucket="out-data", Prefix="run/seen/").get("Contents", [])
    return {
        o["Key"].split("/")[-1][:-5]: json.loads(s3.get_object(Bucket="out-data", Key=o["Key"])["Body"].read())
        for o in listed
    }


def test_sharded_by_s3_key_gives_each_python_instance_a_distinct_shard(tmp_path, s3):
    script = tmp_path / "list_input.py"
    script.write_text(LIST_INPUT)
    root = _run(tmp_path, _request(["python3", str(script)], 3, "ShardedByS3Key"))
    seen = _seen(s3)
    assert set(seen) == {"algo-1", "algo-2", "algo-3"}
    assert all(s["hosts"] == ["algo-1", "algo-2", "algo-3"] for s in seen.values())
    shards = [set(seen[h]["files"]) for h in ("algo-1", "algo-2", "algo-3")]
    assert set().union(*shards) == {k.split("/")[-1] for k in KEYS}  # every object on some instance
    assert sum(len(s) for s in shards) == len(KEYS)  # and on one only
    assert sorted(len(s) for s in shards) == [1, 2, 2]  # "approximately 1/n" each
    log = (root / "job.log").read_text()
    assert "on algo-1 of 3 instances" in log and "ShardedByS3Key, algo-1 holds 2 of 5 objects" in log
    assert "algo-2 holds" in (root / "hosts/algo-2/job.log").read_text()


def test_fully_replicated_gives_every_instance_everything_and_one_instance_is_unchanged(tmp_path, s3):
    script = tmp_path / "list_input.py"
    script.write_text(LIST_INPUT)
    _run(tmp_path, _request(["python3", str(script)], 2, "FullyReplicated"))
    seen = _seen(s3)
    assert {h: len(s["files"]) for h, s in seen.items()} == {"algo-1": 5, "algo-2": 5}
    s3.delete_objects(Bucket="out-data", Delete={"Objects": [{"Key": f"run/seen/algo-{i}.json"} for i in (1, 2)]})
    shutil.rmtree(tmp_path / "work")
    root = _run(tmp_path, _request(["python3", str(script)], 1, "ShardedByS3Key"))
    assert _seen(s3) == {"algo-1": {"hosts": ["algo-1"], "files": [k.split("/")[-1] for k in KEYS]}}
    assert not (root / "hosts").exists() and "instances" not in (root / "job.log").read_text()


def test_one_failing_instance_fails_the_job(tmp_path, s3):
    script = tmp_path / "list_input.py"
    script.write_text(LIST_INPUT)
    with pytest.raises(JobFailed, match="Exit code 1: failing on purpose on algo-2"):
        _run(tmp_path, _request(["python3", str(script)], 3, "ShardedByS3Key", {"FAIL_ON": "algo-2"}))


#: What the SageMaker Python SDK's ``PySparkProcessor.run(configuration=...)`` uploads as the ``conf`` input.
SPARK_CONFIGURATION = [
    {"Classification": "spark-defaults", "Properties": {"spark.sql.shuffle.partitions": "3", "spark.app.flag": "on"}},
    {"Classification": "core-site", "Properties": {"fs.sm.test": "42"}},
    {"Classification": "spark-env", "Configurations": [{"Classification": "export", "Properties": {"SM_ENV": "set"}}]},
    {"Classification": "yarn-site", "Properties": {"yarn.nodemanager.vmem-check-enabled": "false"}},
]


def _with_configuration(request: dict, s3, body: bytes) -> None:
    """``configuration.json`` as the job's ``conf`` input, where the SDK's ``PySparkProcessor`` puts it."""
    s3.put_object(Bucket="in-data", Key="conf/configuration.json", Body=body)
    request["ProcessingInputs"].append(
        {
            "InputName": "conf",
            "S3Input": {
                "S3Uri": "s3://in-data/conf/configuration.json",
                "LocalPath": "/opt/ml/processing/input/conf",
                "S3DataType": "S3Prefix",
                "S3InputMode": "File",
                "S3DataDistributionType": "FullyReplicated",
            },
        }
    )


def test_spark_runs_on_the_primary_host_and_reads_its_shard(tmp_path, s3):
    app = tmp_path / "count.py"
    app.write_text(
        textwrap.dedent(
            """
            import json, os, sys
            from pyspark.sql import SparkSession
            spark = SparkSession.builder.appName("count").getOrCreate()
            rows = spark.read.csv(sys.argv[1]).count()
            configured = {
                "partitions": spark.conf.get("spark.sql.shuffle.partitions"),
                "flag": spark.conf.get("spark.app.flag"),
                "hadoop": spark.sparkContext._jsc.hadoopConfiguration().get("fs.sm.test"),
                "env": os.environ.get("SM_ENV"),
            }
            with open(sys.argv[2] + "/count.json", "w") as f:
                json.dump({"rows": rows, "configured": configured}, f)
            spark.stop()
            """
        )
    )
    request = _request(
        ["smspark-submit", str(app), "/opt/ml/processing/input/data", "/opt/ml/processing/output"], 2, "ShardedByS3Key"
    )
    _with_configuration(request, s3, json.dumps(SPARK_CONFIGURATION).encode())
    root = _run(tmp_path, request)
    counted = json.loads(s3.get_object(Bucket="out-data", Key="run/count.json")["Body"].read())
    primary = sorted(p.name for p in (root / "opt/ml/processing/input/data").iterdir())
    worker = sorted(p.name for p in (root / "hosts/algo-2/opt/ml/processing/input/data").iterdir())
    assert len(primary) == 3 and len(worker) == 2 and not set(primary) & set(worker)
    assert counted["rows"] == 2 * len(primary)  # two rows per object, the primary's objects only
    # the job's configuration.json: its values win over the local driver's, YARN's is said not to apply
    assert counted["configured"] == {"partitions": "3", "flag": "on", "hadoop": "42", "env": "set"}
    assert "not applied here (no such daemon or file locally): ['yarn-site']" in (root / "job.log").read_text()
    config = json.loads((root / "hosts/algo-2/opt/ml/config/resourceconfig.json").read_text())
    assert config == {"current_host": "algo-2", "hosts": ["algo-1", "algo-2"]}
    log = (root / "job.log").read_text()
    assert "the application runs on the primary host algo-1" in log and "algo-2 holds 2 of 5 objects" in log
    assert not (root / "hosts/algo-2/job.log").exists()  # the worker runs no application


def test_a_spark_configuration_the_image_refuses_fails_the_job_before_spark_starts(tmp_path, s3):
    request = _request(["smspark-submit", str(tmp_path / "never.py")], 1, "FullyReplicated")
    _with_configuration(request, s3, b'[{"Classification": "spark", "Properties": {}}]')
    with pytest.raises(JobFailed, match=r"^AlgorithmError: .*Exit code 1: ValueError: Invalid classification: spark\."):
        _run(tmp_path, request)


def test_training_on_more_than_one_instance_fails_saying_so(tmp_path):
    request = {
        "TrainingJobName": "t-two",
        "AlgorithmSpecification": {"TrainingImage": "image", "TrainingInputMode": "File"},
        "ResourceConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1},
    }
    runner = JobRunner(lambda region: boto3.client("s3", region_name=region), tmp_path / "work")
    root = tmp_path / "work/jobs/t-two"
    root.mkdir(parents=True)
    with pytest.raises(JobFailed, match="trains on one instance and this job asks for 2"):
        runner._training("t-two", request, None, root, root / "job.log", REGION)
