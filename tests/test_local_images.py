"""Image assets without a Docker engine: what runs here and what fails, saying why."""

import subprocess
import sys
from pathlib import Path

import pytest

from sm_constructs.local.jobs.images import docker_shim, local_image

URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/cdk-hnb659fds-container-assets-123456789012-us-east-1:abc"


def _recorded(tmp_path, monkeypatch, dockerfile: str, files: dict[str, str] | None = None):
    context = tmp_path / "asset"
    context.mkdir()
    (context / "Dockerfile").write_text(dockerfile)
    for name, text in (files or {}).items():
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_text(text)
    monkeypatch.chdir(context)
    images = tmp_path / "work" / "images"
    assert docker_shim(["--config", "/tmp/x", "build", "--tag", "local:abc", "--file", "Dockerfile", "."], images) == 0
    assert docker_shim(["inspect", "local:abc"], images) == 0 and docker_shim(["inspect", "other"], images) == 1
    assert docker_shim(["tag", "local:abc", URI], images) == 0
    return local_image(tmp_path / "work", URI)


def test_a_python_image_runs_its_entry_point_with_the_image_files(tmp_path, monkeypatch):
    image = _recorded(
        tmp_path,
        monkeypatch,
        "FROM public.ecr.aws/docker/library/python:3.12\nWORKDIR /srv\nCOPY src/ ./src/\n"
        'ENV GREETING="hello there" MODE=fast\nENTRYPOINT ["python", "-u", "/srv/src/main.py"]\nCMD ["--flag"]\n',
        {"src/main.py": "import os, sys; print(os.environ['GREETING'], os.environ['MODE'], sys.argv[1:], os.getcwd())"},
    )
    assert image is not None and image.runnable() is None
    root = tmp_path / "job" / "image"
    cwd = image.layout(root)
    argv = image.command(root, None, None)
    assert argv == ["python", "-u", f"{root}/srv/src/main.py", "--flag"]
    done = subprocess.run([sys.executable, *argv[1:]], cwd=cwd, env={**image.env}, capture_output=True, text=True)
    assert done.stdout.split() == ["hello", "there", "fast", "['--flag']", str(cwd)]


@pytest.mark.parametrize(
    "dockerfile,reason",
    [
        ('FROM ubuntu:24.04\nENTRYPOINT ["python3", "x.py"]\n', "builds FROM 'ubuntu:24.04'"),
        ('FROM python:3.11\nENTRYPOINT ["java", "-jar", "x.jar"]\n', "entry point 'java' is not a Python script"),
    ],
)
def test_other_images_fail_saying_what_cannot_run_here(tmp_path, monkeypatch, dockerfile, reason):
    image = _recorded(tmp_path, monkeypatch, dockerfile)
    message = image.runnable()
    assert message is not None and reason in message and "without a Docker engine" in message


def test_unknown_docker_commands_fail(tmp_path):
    assert docker_shim(["run", "python:3.11"], tmp_path) == 1
    assert local_image(tmp_path, URI) is None
    assert not Path(tmp_path / "images").exists()


def test_smspark_submit_becomes_a_local_spark_submit(monkeypatch):
    from sm_constructs.local.jobs.spark import spark_command

    argv, env = spark_command(
        [
            "smspark-submit",
            "--py-files",
            "/x/lib.zip",
            "--spark-event-logs-s3-uri",
            "s3://b/logs",
            "/x/app.py",
            "--n",
            "1",
        ]
    )
    assert argv[0].endswith("pyspark/bin/spark-submit")
    assert argv[1:] == ["--master", "local[*]", "--py-files", "/x/lib.zip", "/x/app.py", "--n", "1"]
    assert env["PYSPARK_PYTHON"] == sys.executable and Path(env["JAVA_HOME"], "bin", "java").exists()


def test_spark_without_java_says_so(monkeypatch, tmp_path):
    from sm_constructs.local.jobs.spark import SparkUnavailable, spark_command

    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SparkUnavailable, match=r"needs Java \(17 or later\).*no java on PATH"):
        spark_command(["smspark-submit", "/x/app.py"])
