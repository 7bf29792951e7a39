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

**The job's configuration.** The SageMaker Python SDK's ``PySparkProcessor``/``SparkJarProcessor``
``configuration=`` (EMR-style classifications) reaches the image as the ``conf`` input,
``/opt/ml/processing/input/conf/configuration.json``; the image validates it and writes each classification
into its file before ``spark-submit`` (``Bootstrapper.write_user_configuration`` and
``Configuration``, src/smspark/bootstrapper.py and config.py). Here the same validation fails the job with
the image's message, and what a local driver can take is applied: ``spark-defaults`` properties as
``--conf`` (after the speed options above, so the job's own values win, as the file's lines override the
image's defaults), ``core-site`` properties as ``spark.hadoop.*`` and ``spark-env`` exports in the driver's
environment. The classifications of daemons and files that do not exist here (YARN, Hive, Hadoop's
environment, the cluster's log4j and metrics files) are named in the job log as not applied.

Spark needs Java (17 or later for pyspark 4): without ``java`` on ``PATH`` or ``JAVA_HOME``, or
without ``pyspark`` installed, the job fails with a message saying so.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["CLASSIFICATIONS", "SparkCommand", "SparkConfigurationError", "SparkUnavailable", "spark_command"]

#: The job's configuration file under its ``/opt/ml`` (``Bootstrapper.PROCESSING_CONF_INPUT_PATH``).
CONFIGURATION = "processing/input/conf/configuration.json"
#: The classifications the image accepts (``Configuration.classification_data``, src/smspark/config.py of
#: aws/sagemaker-spark-container); ``export`` only inside an ``*-env`` one.
CLASSIFICATIONS = (
    "core-site",
    "hadoop-env",
    "hadoop-log4j",
    "hive-env",
    "hive-log4j",
    "hive-exec-log4j",
    "hive-site",
    "spark-defaults",
    "spark-env",
    "spark-log4j",
    "spark-hive-site",
    "spark-metrics",
    "yarn-env",
    "yarn-site",
)
_EMR_CONFIGURE_APPS_URL = "https://docs.aws.amazon.com/emr/latest/ReleaseGuide/emr-configure-apps.html"

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


class SparkConfigurationError(ValueError):
    """The job's ``configuration.json`` is one the image refuses (its message)."""


class SparkCommand(NamedTuple):
    """The local ``spark-submit`` command line, its environment, and what of the job's configuration it
    leaves out (for the job log)."""

    argv: list[str]
    env: dict[str, str]
    not_applied: list[str]


def _configurations(opt_ml: Path | None) -> list[dict[str, Any]]:
    """The job's configuration, checked as the image checks it (``Configuration.__post_init__``)."""
    path = None if opt_ml is None else opt_ml / CONFIGURATION
    if path is None or not path.is_file():
        return []
    loaded = json.loads(path.read_text())
    found = [loaded] if isinstance(loaded, dict) else list(loaded)
    for conf in found:
        classification = conf["Classification"]
        nested = [c["Classification"] for c in conf.get("Configurations") or []]
        # a nested one may also be ``export``; the image checks the nested ones too
        unknown = [classification] if classification not in CLASSIFICATIONS else []
        unknown += [name for name in nested if name not in CLASSIFICATIONS and name != "export"]
        if unknown:
            raise SparkConfigurationError(
                f"Invalid classification: {unknown[0]}. Must be one of {list(CLASSIFICATIONS)}. "
                f"Please refer to {_EMR_CONFIGURE_APPS_URL} for more information."
            )
        if "env" not in classification:
            continue
        if not nested:
            raise SparkConfigurationError(
                f"'env' classifications require a sub-configuration. Please refer to {_EMR_CONFIGURE_APPS_URL} "
                "for more information"
            )
        if any(name != "export" for name in nested):
            raise SparkConfigurationError(
                "env classifications must use the 'export' sub-classification. Please refer to "
                f"{_EMR_CONFIGURE_APPS_URL} for more information."
            )
    return found


def _applied(configurations: list[dict[str, Any]]) -> tuple[list[str], dict[str, str], list[str]]:
    """``--conf`` arguments, environment variables and the classifications not applied here."""
    args: list[str] = []
    env: dict[str, str] = {}
    not_applied: list[str] = []
    for conf in configurations:
        properties = conf.get("Properties") or {}
        if conf["Classification"] == "spark-defaults":
            args += [part for key, value in properties.items() for part in ("--conf", f"{key}={value}")]
        elif conf["Classification"] == "core-site":
            args += [part for key, value in properties.items() for part in ("--conf", f"spark.hadoop.{key}={value}")]
        elif conf["Classification"] == "spark-env":
            env.update({k: str(v) for inner in conf["Configurations"] for k, v in inner["Properties"].items()})
        else:
            not_applied.append(conf["Classification"])
    return args, env, not_applied


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


def spark_command(argv: list[str], opt_ml: Path | None = None) -> SparkCommand:
    """``smspark-submit ...`` as a local ``spark-submit`` command line and its environment, with the job's
    configuration under ``opt_ml`` (the job's ``/opt/ml``) applied; :class:`SparkConfigurationError` when the
    image would refuse it."""
    conf_args, conf_env, not_applied = _applied(_configurations(opt_ml))
    command = [_spark_submit(), "--master", "local[*]", *_LOCAL_DRIVER, *conf_args]
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
        **conf_env,
        "JAVA_HOME": _java(),
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    return SparkCommand([*command, *argv[i:]], env, not_applied)
