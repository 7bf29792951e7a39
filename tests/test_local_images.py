"""Image assets without a Docker engine: what runs here and what fails, saying why."""

import json
import os
import subprocess
import sys
import time
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

    argv, env, _ = spark_command(
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
    assert argv[1:4] == ["--master", "local[*]", "--conf"]
    assert f"spark.sql.shuffle.partitions={2 * (os.cpu_count() or 1)}" in argv  # speed only (spark.py)
    assert argv[-5:] == ["--py-files", "/x/lib.zip", "/x/app.py", "--n", "1"]
    assert env["PYSPARK_PYTHON"] == sys.executable and Path(env["JAVA_HOME"], "bin", "java").exists()


def test_a_spark_configuration_the_image_refuses_fails_with_its_message(tmp_path):
    from sm_constructs.local.jobs.spark import CONFIGURATION, SparkConfigurationError, spark_command

    conf = tmp_path / "opt_ml" / CONFIGURATION
    conf.parent.mkdir(parents=True)
    for given, refused in (
        ({"Classification": "spark-default", "Properties": {}}, r"Invalid classification: spark-default\. Must be one"),
        ({"Classification": "spark-env", "Properties": {"A": "1"}}, r"'env' classifications require a sub-config"),
        (
            {"Classification": "spark-env", "Configurations": [{"Classification": "spark-defaults", "Properties": {}}]},
            r"must use the 'export' sub-classification",
        ),
        (  # nested classifications are checked too
            {"Classification": "spark-defaults", "Properties": {}, "Configurations": [{"Classification": "spark"}]},
            r"Invalid classification: spark\. Must be one",
        ),
    ):
        conf.write_text(json.dumps([given]))
        with pytest.raises(SparkConfigurationError, match=refused):
            spark_command(["smspark-submit", "/x/app.py"], tmp_path / "opt_ml")


def test_spark_without_java_says_so(monkeypatch, tmp_path):
    from sm_constructs.local.jobs.spark import SparkUnavailable, spark_command

    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SparkUnavailable, match=r"needs Java \(17 or later\).*no java on PATH"):
        spark_command(["smspark-submit", "/x/app.py"])


_READER = """import os, subprocess, sys
table = open("/usr/local/share/x/table.csv").read().split()
me = open("/opt/program/main.py").readline().startswith("import os")
os.makedirs("/opt/ml/model", exist_ok=True)
open("/opt/ml/model/seen.txt", "w").write(f"{table} {me} {os.getcwd()} {sys.argv[1:]}")
if os.environ.get("CHECK_PROGRAMS"):  # not Python: only the namespace shows it the image's files
    print(subprocess.run(["cat", "/usr/local/share/x/table.csv"], capture_output=True, text=True, check=True).stdout)
"""


@pytest.mark.parametrize(
    "mapping,warm", [("namespace", "off"), ("namespace", "on"), ("python-only", "off")], ids=["new", "warm", "python"]
)
def test_a_job_sees_the_image_files_at_their_paths(tmp_path, monkeypatch, mapping, warm):
    """Files the Dockerfile copies to absolute paths are where the image has them, for the job and, in its
    mount namespace, for every program it starts; the job runs in the image's WORKDIR."""
    from sm_constructs.local.jobs import zygote
    from sm_constructs.local.jobs.namespace import MAPPING_ENV
    from sm_constructs.local.jobs.runner import JobRunner

    image = _recorded(
        tmp_path,
        monkeypatch,
        "FROM python:3.11-slim\nWORKDIR /opt/program\nCOPY main.py ./\nCOPY table.csv /usr/local/share/x/\n"
        'ENTRYPOINT ["python", "/opt/program/main.py"]\n',
        {"main.py": _READER, "table.csv": "a,b\n1,2\n"},
    )
    assert image is not None and image.runnable() is None
    monkeypatch.setenv(MAPPING_ENV, mapping)
    monkeypatch.setenv("SM_LOCAL_ZYGOTE", warm)
    if warm == "on":
        monkeypatch.setattr(zygote, "_SHARED", None)
        warm_interpreter = zygote.shared()
        assert warm_interpreter is not None
        deadline = time.monotonic() + 120
        while not warm_interpreter.ready():  # the job is forked from it
            assert time.monotonic() < deadline, "the warm interpreter did not start"
            time.sleep(0.1)
        forked = []
        run = warm_interpreter.run
        monkeypatch.setattr(warm_interpreter, "run", lambda *a: forked.append(a[-1]) or run(*a))
    root = tmp_path / "job"
    image.layout(root / "image")
    runner = JobRunner(lambda region: None, tmp_path / "work")
    env = {"CHECK_PROGRAMS": "1"} if mapping == "namespace" else {}
    try:
        out = runner._exec(
            image.command(None, None, ["train"]), root, root / "job.log", env, 60, Path("/opt/program"), root / "image"
        )
    finally:
        if warm == "on":
            zygote.shared().stop()
            monkeypatch.setattr(zygote, "_SHARED", None)
    assert warm == "off" or forked == [str(root / "image")]
    seen = (root / "opt/ml/model/seen.txt").read_text()
    cwd = "/opt/program" if mapping == "namespace" else str(root / "image/opt/program")
    assert seen == f"['a,b', '1,2'] True {cwd} ['train']"
    assert ("a,b\n1,2" in out) == (mapping == "namespace")
    assert not Path("/usr/local/share/x").exists() and not Path("/opt/program").exists()  # the host is untouched


def test_a_top_level_directory_the_machine_lacks_is_made_in_the_jobs_own_root(tmp_path, monkeypatch):
    """``WORKDIR /app``-style images: the job sees the directory, the machine never gets it."""
    from sm_constructs.local.jobs.namespace import MAPPING_ENV
    from sm_constructs.local.jobs.runner import JobRunner

    monkeypatch.setenv(MAPPING_ENV, "namespace")
    monkeypatch.setenv("SM_LOCAL_ZYGOTE", "off")
    assert not Path("/sm-local-no-such-dir").exists()
    out = tmp_path / "seen.txt"
    program = f"open({str(out)!r}, 'w').write(open('/sm-local-no-such-dir/main.py').read())"
    image = _recorded(
        tmp_path,
        monkeypatch,
        f'FROM python:3.11\nCOPY main.py /sm-local-no-such-dir/\nENTRYPOINT ["python", "-c", "{program}"]\n',
        {"main.py": "print('x')"},
    )
    root = tmp_path / "job"
    image.layout(root / "image")
    JobRunner(lambda region: None, tmp_path / "work")._exec(
        image.command(None, None, None), root, root / "job.log", {}, 60, Path("/"), root / "image"
    )
    assert out.read_text() == "print('x')"
    assert not Path("/sm-local-no-such-dir").exists()  # the machine's / is untouched


def test_image_files_that_cannot_be_placed_fail_the_job_before_it_starts(tmp_path, monkeypatch):
    from sm_constructs.local.jobs.namespace import MAPPING_ENV
    from sm_constructs.local.jobs.runner import JobFailed, JobRunner

    monkeypatch.setenv(MAPPING_ENV, "namespace")
    monkeypatch.setenv("SM_LOCAL_ZYGOTE", "off")
    interpreter = os.path.realpath(sys.executable)
    image = _recorded(
        tmp_path,
        monkeypatch,
        f'FROM python:3.11\nCOPY main.py {interpreter}\nENTRYPOINT ["python", "-c", "open(\'/tmp/ran\', \'w\')"]\n',
        {"main.py": "print('x')"},
    )
    root = tmp_path / "job"
    image.layout(root / "image")
    ran = Path("/tmp/ran")
    ran.unlink(missing_ok=True)
    with pytest.raises(JobFailed) as failed:
        JobRunner(lambda region: None, tmp_path / "work")._exec(
            image.command(None, None, None), root, root / "job.log", {}, 60, Path("/"), root / "image"
        )
    assert f"{interpreter} cannot be provided" in str(failed.value)
    assert "of the Python or JVM the job runs with" in str(failed.value)
    assert not ran.exists()
