"""Spark processing jobs (``smspark-submit``) on this machine, with ``pyspark`` in local mode.

SageMaker's Spark processing image starts the job as ``smspark-submit [options] <app> [args]``
(options ``--jars``, ``--py-files``, ``--files``, ``--spark-event-logs-s3-uri``,
``--local-spark-event-logs-dir``; see the image's ``smspark-submit --help`` in
aws/sagemaker-spark-container). Here that becomes ``spark-submit --master local[*]`` from the
``pyspark`` package with the same ``--jars``/``--py-files``/``--files`` (the event-log options only
concern the Spark UI), the driver and workers on this Python, inputs and outputs at the job's
mapped ``/opt/ml/processing`` paths.

**Instances.** SageMaker starts the image on each of ``ClusterConfig.InstanceCount`` instances,
each with its own inputs and ``/opt/ml/config/resourceconfig.json`` (``current_host``, ``hosts``).
In the image, ``ProcessingJobManager.run`` (``src/smspark/job.py``) runs ``spark-submit`` on the
primary host only (the first of the sorted ``hosts``, ``algo-1``); the other hosts join its YARN
cluster as workers and wait until the primary is done. The driver therefore lists a local input
path on the primary's disk: with ``ShardedByS3Key`` ("downloading one shard of data to each
processing instance", botocore ``ProcessingS3Input``) it sees the primary's shard, not the objects
on the other hosts. The runner reproduces that: every host is laid out (``algo-1`` in the job
directory, ``algo-k`` under ``<job dir>/hosts/algo-k/``, each with its shard and config files), and
the one local Spark runs the application as the primary, on ``algo-1``'s files; the job log says
which host holds how many objects. A Spark job that must read every object reads the S3 prefix
itself or uses ``FullyReplicated``. Not reproduced: on AWS, executors on the other hosts open the
driver's ``file://`` paths on their own disks; here all executors share the primary's.

**The driver's JVM.** A job of the size one runs on this machine spends most of its CPU in the
JVM's optimizing compiler and its Spark UI (``sessionize.py`` of examples/any-shape: 39 s of CPU
as Spark starts by default, 19 s with the options below), so the local driver runs with the client
compiler only (``-XX:TieredStopAtLevel=1``) on one compiler thread (``-XX:CICompilerCount=1``: a
10,000-row ``groupBy``, 15.8 → 13.5 s of CPU), the serial collector and no UI (``spark.ui.enabled=false``:
nobody could reach it here). Its SQL shuffles write ``2 × cores`` partitions instead of Spark's default 200
(``spark.sql.shuffle.partitions``; the image's own rule for ``spark.default.parallelism``, instances × cores
× 2, ``src/smspark/bootstrapper.py``, applied to this machine): ``sessionize.py`` spent a third of its CPU
writing and reading 200 nearly empty shuffle blocks per stage (22 → 15 s of CPU, 1,070 rows). They change
how fast the job runs, not what it computes. What can differ from AWS is how many part files a write after
a shuffle without ``coalesce()`` leaves once the data passes about 1 MB per partition (adaptive execution
coalesces smaller ones into one either way). A job that sets the option itself
(``SparkSession.builder.config(...)``, ``spark.conf.set(...)``) gets its own value.

Spark needs Java (17 or later for pyspark 4): without ``java`` on ``PATH`` or ``JAVA_HOME``, or
without ``pyspark`` installed, the job fails with a message saying so.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

__all__ = ["SparkUnavailable", "spark_command"]

_WITH_VALUE = {"--jars", "--py-files", "--files", "--spark-event-logs-s3-uri", "--local-spark-event-logs-dir"}
_PASSED_ON = {"--jars", "--py-files", "--files"}
#: How the local driver starts (see the module's docstring: speed only).
_LOCAL_DRIVER = [
    "--conf",
    "spark.ui.enabled=false",
    "--conf",
    f"spark.sql.shuffle.partitions={2 * (os.cpu_count() or 1)}",
    "--driver-java-options",
    "-XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -XX:+UseSerialGC",
]


class SparkUnavailable(Exception):
    """Why Spark cannot run here."""


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return home
    java = shutil.which("java")
    if java is None:
        raise SparkUnavailable(
            "ClientError: Spark processing needs Java (17 or later) and there is no java on PATH and no JAVA_HOME: "
            "install a JDK (e.g. OpenJDK 17) to run Spark jobs locally"
        )
    return str(Path(java).resolve().parent.parent)


def _spark_submit() -> str:
    spec = importlib.util.find_spec("pyspark")
    if spec is None or spec.origin is None:
        raise SparkUnavailable(
            "ClientError: Spark processing needs the pyspark package here: install sm_constructs with its spark extra "
            "(pip install '<wheel>[local,spark]'), or pip install pyspark"
        )
    return str(Path(spec.origin).parent / "bin" / "spark-submit")


def spark_command(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """``smspark-submit ...`` as a local ``spark-submit`` command line and its environment."""
    command = [_spark_submit(), "--master", "local[*]", *_LOCAL_DRIVER]
    i = 1
    while i < len(argv) and argv[i].startswith("--"):
        option, value = argv[i], None
        if "=" in option:
            option, value = option.split("=", 1)
            i += 1
        elif option in _WITH_VALUE and i + 1 < len(argv):
            value = argv[i + 1]
            i += 2
        else:
            i += 1
        if option in _PASSED_ON and value is not None:
            command += [option, value]
    env = {
        "JAVA_HOME": _java(),
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    return [*command, *argv[i:]], env
