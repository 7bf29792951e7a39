"""The Docker engine path of the emulator, against a stand-in ``docker`` client (no engine runs here).

What is checked is what the emulator asks the engine to do: the detector, the ``docker run``
command lines SageMaker's container contract calls for ("How Amazon SageMaker Processing Runs Your
Processing Container Image", "How Amazon SageMaker Runs Your Training Image"), the publishing calls,
and that without an engine nothing changes. The stand-in records its arguments and plays a
container by writing into the mounted ``/opt/ml``; it is not a container runtime.
"""

import io
import json
import os
import sys
import tarfile
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from sm_constructs.local.jobs import docker_engine
from sm_constructs.local.jobs.docker_engine import ContainerRun, docker_executable
from sm_constructs.local.jobs.runner import JobFailed, JobRunner

REGION = "us-east-1"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/cdk-hnb659fds-container-assets-123456789012-us-east-1:abc"

# records every call; `info` and `image inspect` of IMAGE answer 0; `run` plays the container
FAKE_DOCKER = f"""#!{sys.executable}
import json, os, pathlib, sys
args = sys.argv[1:]
with open(os.environ["FAKE_DOCKER_CALLS"], "a") as f:
    f.write(json.dumps(args) + "\\n")
if args[:1] == ["info"]:
    sys.exit(int(os.environ.get("FAKE_DOCKER_INFO", "0")))
if args[:2] == ["image", "inspect"]:
    sys.exit(0 if args[2] == {IMAGE!r} else 1)
if args[:1] == ["run"]:
    opt_ml = pathlib.Path(args[args.index("--volume") + 1].split(":")[0])
    command = args[args.index({IMAGE!r}) + 1:]
    print("container ran", command)
    if command == ["train"]:
        (opt_ml / "model" / "weights.txt").write_text(json.dumps(json.load(open(opt_ml / "input/config/hyperparameters.json"))))
    else:
        out = opt_ml / "processing" / "output"
        out.mkdir(parents=True, exist_ok=True)
        (out / "result.txt").write_text(" ".join(os.listdir(opt_ml / "processing" / "input")))
    sys.exit(int(os.environ.get("FAKE_DOCKER_EXIT", "0")))
sys.exit(0)
"""


@pytest.fixture
def fake_docker(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER)
    docker.chmod(0o755)
    calls = tmp_path / "calls.jsonl"
    calls.touch()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_DOCKER_CALLS", str(calls))
    monkeypatch.delenv("SM_LOCAL_DOCKER", raising=False)
    monkeypatch.setattr(docker_engine, "_answers", {})

    def recorded():
        return [json.loads(line) for line in calls.read_text().splitlines()]

    return SimpleNamespace(path=str(docker), calls=recorded)


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket="in-data")
        client.create_bucket(Bucket="out-data")
        client.put_object(Bucket="in-data", Key="raw/a.csv", Body=b"1,2\n")
        yield client


def test_the_engine_is_used_only_when_docker_info_succeeds(tmp_path, monkeypatch, fake_docker):
    assert docker_executable() == fake_docker.path
    monkeypatch.setattr(docker_engine, "_answers", {})
    monkeypatch.setenv("FAKE_DOCKER_INFO", "1")  # a client without a running engine
    assert docker_executable() is None
    monkeypatch.setattr(docker_engine, "_answers", {})
    monkeypatch.delenv("FAKE_DOCKER_INFO")
    monkeypatch.setenv("SM_LOCAL_DOCKER", "off")
    assert docker_executable() is None
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no client at all: this machine
    monkeypatch.delenv("SM_LOCAL_DOCKER")
    assert docker_executable() is None and JobRunner._engine_for(IMAGE) is None


def test_container_command_lines_follow_sagemakers_docker_run():
    processing = ContainerRun(
        image=IMAGE,
        opt_ml=Path("/jobs/p/hosts/algo-2/opt/ml"),
        name="sm-local-p-algo-2",
        host="algo-2",
        entrypoint=["python3", "-v", "/processing_script.py"],
        arguments=["data-format", "csv"],
        env={"B": "2", "A": "1"},
        network_isolation=True,
    )
    assert processing.command("docker") == [
        "docker", "run", "--rm", "--name", "sm-local-p-algo-2", "--hostname", "algo-2",
        "--volume", "/jobs/p/hosts/algo-2/opt/ml:/opt/ml", "--network", "none",
        "--env", "A=1", "--env", "B=2",
        "--entrypoint", "python3", IMAGE, "-v", "/processing_script.py", "data-format", "csv",
    ]  # fmt: skip
    image_default = ContainerRun(image=IMAGE, opt_ml=Path("/j/opt/ml"), name="n")
    assert image_default.command("docker")[-1] == IMAGE  # the image's ENTRYPOINT and CMD
    assert ContainerRun(image=IMAGE, opt_ml=Path("/j"), name="n", arguments=["train"]).command("d")[-2:] == [
        IMAGE,
        "train",
    ]
    assert processing.kill_command("docker") == ["docker", "kill", "sm-local-p-algo-2"]


def _processing_request(count=1):
    return {
        "ProcessingJobName": "in-docker",
        "AppSpecification": {"ImageUri": IMAGE, "ContainerArguments": ["--mode", "fast"]},
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": count, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}},
        "ProcessingInputs": [
            {
                "InputName": "raw",
                "S3Input": {"S3Uri": "s3://in-data/raw/", "LocalPath": "/opt/ml/processing/input/raw", "S3DataType": "S3Prefix", "S3InputMode": "File"},
            }
        ],
        "ProcessingOutputConfig": {
            "Outputs": [{"OutputName": "o", "S3Output": {"S3Uri": "s3://out-data/p/", "LocalPath": "/opt/ml/processing/output", "S3UploadMode": "EndOfJob"}}]
        },
        "Environment": {"STAGE": "test"},
        "NetworkConfig": {"EnableNetworkIsolation": True},
        "RoleArn": "arn:aws:iam::123456789012:role/r",
    }  # fmt: skip


def _runner(tmp_path):
    return JobRunner(lambda region: boto3.client("s3", region_name=region), tmp_path / "work")


def test_a_processing_image_the_engine_holds_runs_in_a_container_per_instance(tmp_path, fake_docker, s3):
    root = tmp_path / "work/jobs/in-docker"
    root.mkdir(parents=True)
    _runner(tmp_path)._processing("in-docker", _processing_request(count=2), root, root / "job.log", REGION)
    runs = sorted(c for c in fake_docker.calls() if c[0] == "run")  # the instances run at the same time
    assert runs == [
        [
            "run", "--rm", "--name", f"sm-local-in-docker-{host}", "--hostname", host,
            "--volume", f"{opt_ml}:/opt/ml", "--network", "none", "--env", "STAGE=test", IMAGE, "--mode", "fast",
        ]
        for host, opt_ml in (("algo-1", root / "opt/ml"), ("algo-2", root / "hosts/algo-2/opt/ml"))
    ]  # fmt: skip
    assert s3.get_object(Bucket="out-data", Key="p/result.txt")["Body"].read() == b"raw"
    log = (root / "job.log").read_text()
    assert "in a container of the local Docker engine" in log and "container ran ['--mode', 'fast']" in log


def test_a_failing_container_fails_the_job_with_its_last_line(tmp_path, fake_docker, s3, monkeypatch):
    monkeypatch.setenv("FAKE_DOCKER_EXIT", "3")
    root = tmp_path / "work/jobs/in-docker"
    root.mkdir(parents=True)
    with pytest.raises(JobFailed, match=r"Exit code 3: container ran \['--mode', 'fast'\]"):
        _runner(tmp_path)._processing("in-docker", _processing_request(), root, root / "job.log", REGION)


def test_a_training_image_runs_as_docker_run_image_train_with_container_paths(tmp_path, fake_docker, s3):
    request = {
        "TrainingJobName": "t-docker",
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "HyperParameters": {"depth": "3"},
        "InputDataConfig": [
            {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://in-data/raw/"}}}
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://out-data/models"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "RoleArn": "arn:aws:iam::123456789012:role/r",
    }  # fmt: skip
    root = tmp_path / "work/jobs/t-docker"
    root.mkdir(parents=True)
    job = SimpleNamespace()
    _runner(tmp_path)._training("t-docker", request, job, root, root / "job.log", REGION)
    (run,) = [c for c in fake_docker.calls() if c[0] == "run"]
    assert run[run.index("--volume") + 1] == f"{root / 'opt/ml'}:/opt/ml" and run[-2:] == [IMAGE, "train"]
    env = dict(run[i + 1].split("=", 1) for i, a in enumerate(run) if a == "--env")
    assert env["SM_MODEL_DIR"] == "/opt/ml/model" and env["SM_CHANNEL_TRAIN"] == "/opt/ml/input/data/train"
    assert not any(str(root) in v for v in env.values())  # no host path inside the container
    config = root / "opt/ml/input/config"
    assert json.loads((config / "inputdataconfig.json").read_text())["train"]["TrainingInputMode"] == "File"
    assert json.loads((config / "resourceconfig.json").read_text())["current_host"] == "algo-1"
    artifact = tmp_path / "model.tar.gz"
    s3.download_file("out-data", "models/t-docker/output/model.tar.gz", str(artifact))
    with tarfile.open(artifact) as tar:
        assert json.load(tar.extractfile("weights.txt")) == {"depth": "3"}


def test_without_an_engine_the_jobs_run_as_before(tmp_path, monkeypatch, s3):
    monkeypatch.setenv("PATH", str(tmp_path / "no-docker"))
    monkeypatch.setattr(docker_engine, "_answers", {})
    root = tmp_path / "work/jobs/in-docker"
    root.mkdir(parents=True)
    request = _processing_request()
    request["AppSpecification"] = {"ImageUri": IMAGE}  # not a recorded asset, no engine: fails as before
    with pytest.raises(JobFailed, match="no ContainerEntrypoint: the image's own entry point cannot run locally"):
        _runner(tmp_path)._processing("in-docker", request, root, root / "job.log", REGION)


def test_publishing_builds_and_tags_in_the_engine_and_records_the_push(tmp_path, monkeypatch, fake_docker):
    from sm_constructs.local.jobs.images import docker_shim, shim_command

    context = tmp_path / "asset"
    context.mkdir()
    (context / "Dockerfile").write_text('FROM ubuntu:24.04\nRUN apt-get update\nENTRYPOINT ["/bin/run"]\n')
    monkeypatch.chdir(context)
    images = tmp_path / "work/images"
    build = ["--config", "/tmp/cfg", "build", "--tag", "cdkasset-abc", "--file", "Dockerfile", "."]
    assert docker_shim(build, images, fake_docker.path) == 0
    assert docker_shim(["tag", "cdkasset-abc", IMAGE], images, fake_docker.path) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("password"))
    assert docker_shim(["login", "--username", "AWS", "--password-stdin", "x"], images, fake_docker.path) == 0
    with mock_aws():
        monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
        ecr = boto3.client("ecr", region_name=REGION)
        repository = IMAGE.split("/", 1)[1].split(":")[0]
        ecr.create_repository(repositoryName=repository)
        assert docker_shim(["push", IMAGE], images, fake_docker.path) == 0
        assert ecr.describe_images(repositoryName=repository)["imageDetails"][0]["imageTags"] == ["abc"]
    assert fake_docker.calls() == [
        ["build", "--tag", "cdkasset-abc", "--file", "Dockerfile", "."],
        ["tag", "cdkasset-abc", IMAGE],
    ]  # login and push stay with the stand-in: the emulator's ECR stores no layers
    script = shim_command(tmp_path / "work").read_text()
    assert f"SM_LOCAL_DOCKER_ENGINE={fake_docker.path}" in script
    monkeypatch.setenv("SM_LOCAL_DOCKER", "off")
    assert "SM_LOCAL_DOCKER_ENGINE" not in shim_command(tmp_path / "work2").read_text()


def test_a_failed_engine_build_fails_the_publish(tmp_path, monkeypatch):
    failing = tmp_path / "docker"
    failing.write_text("#!/bin/sh\nexit 7\n")
    failing.chmod(0o755)
    (tmp_path / "Dockerfile").write_text("FROM python:3.12\n")
    monkeypatch.chdir(tmp_path)
    from sm_constructs.local.jobs.images import docker_shim

    assert docker_shim(["build", "--tag", "x", "."], tmp_path / "images", str(failing)) == 7
    assert not (tmp_path / "images").exists()


# `run --detach` starts a stand-in model server on the published port: /ping, and /invocations that
# upper-cases the body and lists /opt/ml/model; `rm --force` stops it; `container inspect` tells if it runs
FAKE_SERVING_DOCKER = f"""#!{sys.executable}
import json, os, pathlib, signal, subprocess, sys
args = sys.argv[1:]
state = pathlib.Path(os.environ["FAKE_DOCKER_CALLS"]).parent
with open(os.environ["FAKE_DOCKER_CALLS"], "a") as f:
    f.write(json.dumps(args) + "\\n")
if args[:1] == ["info"] or args[:2] == ["image", "inspect"]:
    sys.exit(0 if args[:1] == ["info"] or args[2] == {IMAGE!r} else 1)
if args[:2] == ["container", "inspect"]:
    pid = state / (args[2] + ".pid")
    sys.exit(0 if pid.exists() else 1)
if args[:2] == ["rm", "--force"]:
    pid = state / (args[2] + ".pid")
    if pid.exists():
        os.kill(int(pid.read_text()), signal.SIGTERM)
        pid.unlink()
    sys.exit(0)
if args[:1] == ["run"]:
    port = args[args.index("--publish") + 1].split(":")[1]
    opt_ml = args[args.index("--volume") + 1].split(":")[0]
    name = args[args.index("--name") + 1]
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, port, opt_ml],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    (state / (name + ".pid")).write_text(str(server.pid))
    print(server.pid)
    sys.exit(0)
sys.exit(1)
"""
SERVER = """
import http.server, os, sys
port, opt_ml = int(sys.argv[1]), sys.argv[2]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/ping" else 404)
        self.end_headers()
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if body == b"fail":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"model exploded")
            return
        out = body.upper() + b" " + " ".join(sorted(os.listdir(opt_ml + "/model"))).encode()
        self.send_response(200)
        self.send_header("Content-Type", self.headers.get("Accept") or "text/plain")
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


def test_an_endpoint_on_an_image_the_engine_holds_is_served_by_its_container(tmp_path, monkeypatch, fake_docker):
    from sm_constructs.local.aws import sagemaker_runtime

    (tmp_path / "bin/docker").write_text(FAKE_SERVING_DOCKER.replace("SERVER", repr(SERVER), 1))
    monkeypatch.setattr(sagemaker_runtime, "_workdir", [tmp_path / "work"])
    monkeypatch.setattr(sagemaker_runtime, "_handlers", {})
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="models")
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            info = tarfile.TarInfo("weights.bin")
            info.size = 3
            tar.addfile(info, io.BytesIO(b"abc"))
        s3.put_object(Bucket="models", Key="m/model.tar.gz", Body=buffer.getvalue())
        sm = boto3.client("sagemaker", region_name=REGION)
        sm.create_model(
            ModelName="own",
            ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
            PrimaryContainer={
                "Image": IMAGE,
                "ModelDataUrl": "s3://models/m/model.tar.gz",
                "Environment": {"MODE": "x"},
            },
        )
        variant = {
            "VariantName": "primary",
            "ModelName": "own",
            "InstanceType": "ml.m5.large",
            "InitialInstanceCount": 1,
        }
        sm.create_endpoint_config(EndpointConfigName="own", ProductionVariants=[variant])
        sm.create_endpoint(EndpointName="own", EndpointConfigName="own")
        try:
            answer = sagemaker_runtime.answer("123456789012", REGION, "own", b"rows", "text/csv", "text/plain")
            assert answer == (b"ROWS weights.bin", "text/plain", "primary")
            with pytest.raises(Exception) as caught:
                sagemaker_runtime.answer("123456789012", REGION, "own", b"fail", "text/csv", "")
            assert caught.value.error_type == "ModelError" and caught.value.code == 424
            assert caught.value.message.startswith(
                'Received server error (500) from primary with message "model exploded"'
            )
        finally:
            sagemaker_runtime._stop_all()
    (run,) = [c for c in fake_docker.calls() if c[0] == "run"]
    port = run[run.index("--publish") + 1]
    assert port.startswith("127.0.0.1:") and port.endswith(":8080") and run[-2:] == [IMAGE, "serve"]
    assert run[run.index("--volume") + 1] == f"{tmp_path / 'work/endpoints/own/own/opt/ml'}:/opt/ml"
    assert "--detach" in run and "MODE=x" in run and "--hostname" not in run  # no ContainerHostname given
    assert ["rm", "--force", "sm-local-endpoint-own"] in fake_docker.calls()
