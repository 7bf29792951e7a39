"""Runs SageMaker processing, training and transform jobs on this machine, without Docker.

A job created in the emulator is run here in a subprocess with SageMaker's directory and
environment contract, mapped to a temporary directory per job:

* the job's ``<job dir>/opt/ml`` is its ``/opt/ml``, for the job and every process it starts (its
  own mount namespace, :mod:`sm_constructs.local.jobs.namespace`); where this machine cannot give it
  one, the job fails before it starts and says why, unless the Python-only mapping was chosen;
  the entry point and arguments keep their container paths; the ``SM_*`` variables name the job
  directory's host paths, which the job sees too;
* inputs are downloaded from the emulated S3 before the run and outputs uploaded after it;
* processing: ``ContainerEntrypoint`` + ``ContainerArguments`` with ``python``/``python3`` run by
  this Python (so the container's libraries must be installed here), ``smspark-submit`` by a local
  Spark (:mod:`sm_constructs.local.jobs.spark`);
* training, script mode (``sagemaker_program`` + ``sagemaker_submit_directory`` hyperparameters):
  the program with ``SM_CHANNEL_<NAME>``, ``SM_MODEL_DIR``, ``SM_OUTPUT_DATA_DIR``, ``SM_HPS`` and the
  hyperparameters as ``--name value`` arguments; ``model.tar.gz`` of the model directory goes to
  ``<S3OutputPath>/<job>/output/``; ``MetricDefinitions`` regexes read the job's output;
* the built-in XGBoost algorithm image (training and batch transform) cannot run here: it is
  **substituted** by :mod:`sm_constructs.local.jobs.xgboost_substitute`, the same algorithm through the
  ``xgboost`` Python package with the container's data and model contract (CSV, label first, no
  header; ``xgboost-model`` in ``model.tar.gz``). The job's log says so on its first line;
* Model Monitor's analyzer image in a baselining processing job is substituted likewise by
  :mod:`sm_constructs.local.jobs.model_monitor_substitute` (``statistics.json`` and ``constraints.json``
  in the documented formats).

When a Docker engine answers and holds the job's image (an image asset, or an image you pulled),
processing jobs and training jobs on your own image run in containers instead
(:mod:`sm_constructs.local.jobs.docker_engine`); without one nothing changes.

A processing job on N instances runs its entry point once per instance, each with its own
directory, inputs (its shard for ``ShardedByS3Key``) and ``/opt/ml/config/resourceconfig.json``;
"if any container exits with a non-zero exit code, the processing job fails" ("How Amazon
SageMaker Processing Runs Your Processing Container Image"). The job ends Completed, or Failed
with the ``FailureReason`` SageMaker would report (:mod:`.failure`: the job's
``/opt/ml/output/failure``, or its exit code and first meaningful error line, never a stack frame). Hyperparameter tuning jobs run their trials as
training jobs here (:mod:`sm_constructs.local.jobs.tuning`).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import shlex
import subprocess
import sys
import tarfile
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import namespace, zygote
from .failure import failure_reason

__all__ = ["JobRunner", "process_environment", "serving_container"]

_OPT_ML = "/opt/ml"
#: How long a Python job waits for the warm interpreter that its submission started (it imports
#: pandas, scikit-learn and xgboost: a few seconds) before it runs in a new process instead.
WARM_START_TIMEOUT = 60.0
#: The analyzer's repository (``ContainerImage.model_monitor()``, SDK image_uri_config model-monitor.json).
MODEL_MONITOR_REPOSITORY = "sagemaker-model-monitor-analyzer"


def process_environment(contract: namespace.Contract, env: dict[str, str]) -> dict[str, str]:
    """The environment of a job or model server process: the shared-machine defaults, the emulator's
    own environment, unbuffered output, the ``/opt/ml`` contract's and the container's ``env``."""
    return {**zygote.SHARED_MACHINE_ENV, **os.environ, "PYTHONUNBUFFERED": "1", **contract.env, **env}


def _split_s3(uri: str) -> tuple[str, str]:
    match = re.fullmatch(r"s3://([^/]+)/?(.*)", uri)
    if not match:
        raise ValueError(f"not an S3 URI: {uri}")
    return match.group(1), match.group(2)


def serving_container(backend: Any, model: Any) -> dict[str, Any]:
    """The container a model of moto's SageMaker ``backend`` serves: its first container.

    A model created from a registered version (a container with ``ModelPackageName`` and no ``Image``)
    serves the version's inference container, under the model's own fields such as ``Environment``
    (SageMaker API reference, ContainerDefinition ModelPackageName: "the name or Amazon Resource Name
    (ARN) of the model package to use to create the model"). Transform jobs, endpoints and the IAM
    check of the model's role (which pulls that image and reads its model data) all read it here.
    """
    container: dict[str, Any] = model.primary_container or (model.containers or [{}])[0]
    if "ModelPackageName" in container:
        package = backend.describe_model_package(container["ModelPackageName"])
        container = {**(package.inference_specification or {}).get("Containers", [{}])[0], **container}
    return container


class JobFailed(Exception):
    """The job's FailureReason."""


class JobRunner:
    """Runs jobs of moto's SageMaker backend locally (see the module docs).

    :param s3: factory of a boto3 S3 client for a region (the emulated S3).
    :param workdir: job directories and logs (``<workdir>/jobs/<job name>/``).
    """

    def __init__(
        self,
        s3: Callable[[str], Any],
        workdir: Path,
        account_id: str = "123456789012",
        logs: Callable[[str], Any] | None = None,
        sagemaker: Callable[[str], Any] | None = None,
    ) -> None:
        self._s3 = s3
        self._logs = logs
        self._sagemaker = sagemaker
        self.workdir = workdir
        self.account_id = account_id
        #: called in the job's thread before it runs; may sleep, or raise :class:`JobFailed`
        self.before_run: Callable[[str, str], None] | None = None

    #: create operation → CloudWatch Logs group SageMaker writes the job's log to
    LOG_GROUPS = {
        "CreateProcessingJob": "/aws/sagemaker/ProcessingJobs",
        "CreateTrainingJob": "/aws/sagemaker/TrainingJobs",
        "CreateTransformJob": "/aws/sagemaker/TransformJobs",
    }

    def _publish_log(self, operation: str, name: str, log: Path, region: str, host: str = "algo-1") -> None:
        """The job's log to CloudWatch Logs (``<group>/<job>/<host>-<epoch>``), where ``sm-pipeline`` reads it."""
        if self._logs is None or not log.exists():
            return
        import time

        logs = self._logs(region)
        group = self.LOG_GROUPS[operation]
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=group)
        stream = f"{name}/{host}-{int(time.time())}"
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        now = int(time.time() * 1000)
        lines = log.read_text(errors="replace").splitlines()[-5000:] or ["(no output)"]
        events = [{"timestamp": now, "message": line or " "} for line in lines]
        for start in range(0, len(events), 1000):
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events[start : start + 1000])

    # -- moto backend access -------------------------------------------------------------
    def _backend(self, region: str) -> Any:
        from moto.sagemaker.models import sagemaker_backends

        return sagemaker_backends[self.account_id][region]

    def _job(self, operation: str, name: str, region: str) -> Any:
        backend = self._backend(region)
        return {
            "CreateProcessingJob": backend.processing_jobs,
            "CreateTrainingJob": backend.training_jobs,
            "CreateTransformJob": backend.transform_jobs,
        }[operation][name]

    def submit(self, operation: str, request: dict[str, Any], region: str) -> None:
        """Mark the job InProgress and run it in the background, from the request as sent."""
        kind = {"CreateProcessingJob": "processing", "CreateTrainingJob": "training", "CreateTransformJob": "transform"}
        if operation == "CreateHyperParameterTuningJob" and self._sagemaker is not None:
            self._submit_tuning(request, region)
            return
        if operation not in kind:
            return
        zygote.shared()  # the warm interpreter starts with the first job, while its inputs download
        name = request[f"{kind[operation].title()}JobName"]
        job = self._job(operation, name, region)
        field = f"{kind[operation]}_job_status"
        setattr(job, field, "InProgress")
        if operation == "CreateTrainingJob":
            job.secondary_status = "Training"
        thread = threading.Thread(
            target=self._run, args=(operation, name, request, job, field, region), name=f"job-{name}", daemon=True
        )
        thread.start()

    def _submit_tuning(self, request: dict[str, Any], region: str) -> None:
        """Run the tuning job's trials in the background (see :mod:`sm_constructs.local.jobs.tuning`)."""
        from .tuning import run_tuning_job

        name = request["HyperParameterTuningJobName"]
        job = self._backend(region).hyper_parameter_tuning_jobs[name]
        job.hyper_parameter_tuning_job_status = "InProgress"
        sagemaker = self._sagemaker(region) if self._sagemaker else None

        def run() -> None:
            try:
                run_tuning_job(self, name, request, job, region, sagemaker)
            except Exception as error:  # the tuning job fails; the emulator keeps running
                job.failure_reason = f"InternalServerError: {error!r}"[:1024]
                job.hyper_parameter_tuning_job_status = "Failed"

        threading.Thread(target=run, name=f"tuning-{name}", daemon=True).start()

    def _run(self, operation: str, name: str, request: dict[str, Any], job: Any, field: str, region: str) -> None:
        root = self.workdir / "jobs" / name
        root.mkdir(parents=True, exist_ok=True)
        log = root / "job.log"
        start = datetime.datetime.now(datetime.UTC)
        try:
            if self.before_run is not None:  # injected faults: a slow start, a job that fails (job_faults.py)
                self.before_run(operation, name)
            if operation == "CreateProcessingJob":
                self._processing(name, request, root, log, region)
            elif operation == "CreateTrainingJob":
                self._training(name, request, job, root, log, region)
            else:
                self._transform(name, request, root, log, region)
        except Exception as error:  # the job fails; the emulator keeps running
            reason = str(error) if isinstance(error, JobFailed) else f"InternalServerError: {error!r}"
            with log.open("a") as f:
                f.write(f"\nFAILED: {reason}\n")
            self._publish_log_safely(operation, name, log, region)
            job.failure_reason = reason[:1024]
            setattr(job, field, "Failed")
            if operation == "CreateTrainingJob":
                job.secondary_status = "Failed"
        else:
            self._publish_log_safely(operation, name, log, region)
            setattr(job, field, "Completed")
            if operation == "CreateTrainingJob":
                job.secondary_status = "Completed"
        end = datetime.datetime.now(datetime.UTC)
        job.last_modified_time = end
        for attr in ("processing_end_time", "training_end_time", "transform_end_time"):
            if hasattr(job, attr):
                setattr(job, attr, end)
        for attr in ("processing_start_time", "training_start_time", "transform_start_time"):
            if hasattr(job, attr):
                setattr(job, attr, start)

    def _publish_log_safely(self, operation: str, name: str, log: Path, region: str, host: str = "algo-1") -> None:
        try:
            self._publish_log(operation, name, log, region, host)
        except Exception as error:  # the log stays in the job directory
            with log.open("a") as f:
                f.write(f"(not published to CloudWatch Logs: {error!r})\n")

    # -- S3 ------------------------------------------------------------------------------
    def _objects(self, uri: str, region: str) -> list[tuple[str, str, str]]:
        """(bucket, key, path relative to the local directory) of every object under ``uri``, in key order."""
        bucket, prefix = _split_s3(uri)
        found = []
        for page in self._s3(region).get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if not key.endswith("/"):
                    found.append((bucket, key, key[len(prefix) :].lstrip("/") if key != prefix else Path(key).name))
        if not found:
            raise JobFailed(f"ClientError: no objects under {uri}")
        return sorted(found, key=lambda o: o[1])

    def _fetch(self, objects: list[tuple[str, str, str]], dest: Path, region: str) -> None:
        s3 = self._s3(region)
        dest.mkdir(parents=True, exist_ok=True)
        for bucket, key, relative in objects:
            target = dest / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, key, str(target))

    def _download(self, uri: str, dest: Path, region: str) -> int:
        objects = self._objects(uri, region)
        self._fetch(objects, dest, region)
        return len(objects)

    def _upload(self, source: Path, uri: str, region: str, kms_key: str | None = None) -> list[str]:
        bucket, prefix = _split_s3(uri)
        s3 = self._s3(region)
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key} if kms_key else None
        uploaded = []
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            key = f"{prefix.rstrip('/')}/{path.relative_to(source).as_posix()}".lstrip("/")
            s3.upload_file(str(path), bucket, key, ExtraArgs=extra)
            uploaded.append(f"s3://{bucket}/{key}")
        return uploaded

    # -- running ---------------------------------------------------------------------------
    @staticmethod
    def _local(path: str, root: Path) -> str:
        return str(root) + path if path.startswith(_OPT_ML) else path

    def _image(self, uri: str) -> Any:
        """The image asset behind ``uri`` as published into the emulator, checked to run here."""
        from .images import local_image

        image = local_image(self.workdir, uri)
        if image is not None and (reason := image.runnable()) is not None:
            raise JobFailed(reason)
        return image

    @staticmethod
    def _describe_image(image: Any, out: Any) -> None:
        if image is None:
            return
        out.write(f"image asset FROM {image.base}: its Python entry point runs here, with the image's files and ENV\n")
        for step in image.skipped:
            out.write(f"not run locally (no Docker engine): {step}\n")

    @staticmethod
    def _contract(root: Path, image: Path | None = None) -> namespace.Contract:
        """How the job sees ``root``'s ``opt/ml`` at ``/opt/ml`` and its image's files (laid out under
        ``image``) at their paths (:mod:`.namespace`); fails the job if it cannot."""
        try:
            return namespace.contract(root / "opt/ml", image)
        except namespace.Unavailable as error:
            raise JobFailed(f"ClientError: {error}") from None

    def _exec(
        self,
        argv: list[str],
        root: Path,
        log: Path,
        env: dict[str, str],
        timeout: float | None,
        cwd: Path,
        image: Path | None = None,
    ) -> str:
        """Run the job's ``argv`` in ``cwd``; with ``image`` (the image's layout), ``argv`` and ``cwd`` are
        the container's paths, as ``docker run`` would take them."""
        if argv and Path(argv[0]).name.startswith("python"):
            argv = [sys.executable, *argv[1:]]
        elif argv and Path(argv[0]).name == "smspark-submit":
            from .spark import SparkConfigurationError, SparkUnavailable, spark_command

            try:
                argv, spark_env, not_applied = spark_command(argv, root / "opt/ml")
            except SparkUnavailable as error:
                raise JobFailed(str(error)) from None
            except SparkConfigurationError as error:  # the image fails before spark-submit, saying why
                said = f"ValueError: {error}"
                with log.open("a") as out:
                    out.write(f"{said}\n")
                raise JobFailed(failure_reason(1, said)) from None
            if not_applied:
                with log.open("a") as out:
                    out.write(f"configuration.json: not applied here (no such daemon or file locally): {not_applied}\n")
            env = {**spark_env, **env}
        elif argv:
            raise JobFailed(f"ClientError: the local runner runs Python entry points only, not {argv[0]!r}")
        argv = [a if isinstance(a, str) else str(a) for a in argv]
        contract = self._contract(root, image)
        host_cwd, job_cwd = cwd, str(cwd)
        if contract.bind is None:  # the Python-only mapping: container paths in arguments become host paths
            argv = [self._local(a, root) for a in argv]
            if image is not None:
                argv = [str(image) + a if a.startswith("/") and (image / a.lstrip("/")).exists() else a for a in argv]
                host_cwd = image / str(cwd).lstrip("/")
                job_cwd = str(host_cwd)
                env = {**env, namespace.PYTHON_ONLY_IMAGE_ENV: str(image)}
        elif image is not None:  # the namespace's working directory; the process starts in the job's own
            host_cwd = root
        full_env = process_environment(contract, env)
        with log.open("a") as out:
            out.write(f"$ {shlex.join(argv)}\n")
        try:
            done = self._exec_warm(argv, full_env, Path(job_cwd), log, timeout, contract)
            if done is None:  # a new process
                with log.open("a") as out:
                    done = subprocess.run(
                        contract.command(argv, job_cwd if image is not None else None),
                        cwd=host_cwd,
                        env=full_env,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT,
                        text=True,
                        timeout=timeout,
                    )
                    out.write(done.stdout)
        except subprocess.TimeoutExpired:
            raise JobFailed(f"MaxRuntimeExceeded: the job ran longer than {timeout:.0f} seconds") from None
        return self._exit_checked(done, root / "opt/ml/output/failure")

    @staticmethod
    def _exec_warm(
        argv: list[str], env: dict[str, str], cwd: Path, log: Path, timeout: float | None, contract: namespace.Contract
    ) -> subprocess.CompletedProcess[str] | None:
        """A Python job forked from the warm interpreter (:mod:`.zygote`); None when it cannot take it."""
        warm = zygote.shared() if argv and argv[0] == sys.executable else None
        if warm is None or not warm.wait_ready(WARM_START_TIMEOUT):
            return None
        start = log.stat().st_size
        try:
            code = warm.run(argv, env, cwd, log, timeout, contract.bind, contract.image)
        except OSError:  # the warm interpreter is gone
            return None
        with log.open("rb") as written:
            written.seek(start)
            return subprocess.CompletedProcess(argv, code, written.read().decode(errors="replace"))

    @staticmethod
    def _exit_checked(done: subprocess.CompletedProcess[str], failure: Path | None = None) -> str:
        """The output of a job process that succeeded; else :class:`JobFailed` with the reason SageMaker
        would report (:mod:`.failure`: the ``failure`` file, or the output's first meaningful error line)."""
        if done.returncode != 0:
            args = [str(a) for a in done.args] if isinstance(done.args, list) else None
            script = args if args and any(f"{_OPT_ML}/code/" in a for a in args) else None
            raise JobFailed(failure_reason(done.returncode, done.stdout, failure_file=failure, command=script))
        return done.stdout

    @staticmethod
    def _engine_for(uri: str) -> str | None:
        """The local Docker engine when it answers and holds ``uri`` (:mod:`~sm_constructs.local.jobs.docker_engine`)."""
        from .docker_engine import docker_executable, has_image

        docker = docker_executable()
        return docker if docker is not None and has_image(docker, uri) else None

    def _exec_container(self, docker: str, run: Any, log: Path, timeout: float | None) -> str:
        """``docker run`` of one job container, its output in the job log; killed past ``timeout``."""
        command = run.command(docker)
        with log.open("a") as out:
            out.write(f"$ {shlex.join(command)}\n")
            out.flush()
            try:
                done = subprocess.run(
                    command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout
                )
            except subprocess.TimeoutExpired:
                subprocess.run(run.kill_command(docker), capture_output=True, timeout=60)
                raise JobFailed(f"MaxRuntimeExceeded: the job ran longer than {timeout:.0f} seconds") from None
            out.write(done.stdout)
        return self._exit_checked(done)

    @staticmethod
    def _hosts(request: dict[str, Any]) -> list[str]:
        """SageMaker's host names for the job's instances (``resourceconfig.json``: algo-1 … algo-N)."""
        count = int(request.get("ProcessingResources", {}).get("ClusterConfig", {}).get("InstanceCount", 1))
        return [f"algo-{i + 1}" for i in range(max(count, 1))]

    @staticmethod
    def _host_root(root: Path, host: str) -> Path:
        """algo-1 is the job directory itself; each other simulated instance has its own under ``hosts/``."""
        return root if host == "algo-1" else root / "hosts" / host

    def _processing(self, name: str, request: dict[str, Any], root: Path, log: Path, region: str) -> None:
        """Every instance of the job gets its inputs (its shard for ``ShardedByS3Key``) and its config files.

        Python entry points run once per instance, at the same time, each with its own directory;
        each instance's outputs are uploaded, in host order (same S3 keys: the last upload stays).
        ``smspark-submit`` runs the Spark application once, as the image runs it on the primary
        host only (see :mod:`sm_constructs.local.jobs.spark`).
        """
        app = request["AppSpecification"]
        hosts = self._hosts(request)
        roots = {host: self._host_root(root, host) for host in hosts}
        notes: dict[str, list[str]] = {host: [] for host in hosts}
        for item in request.get("ProcessingInputs", []):
            s3_input = item.get("S3Input")
            if s3_input is None:
                raise JobFailed(f"ClientError: input {item.get('InputName')}: only S3 inputs run locally")
            objects = self._objects(s3_input["S3Uri"], region)
            sharded = s3_input.get("S3DataDistributionType") == "ShardedByS3Key" and len(hosts) > 1
            for index, host in enumerate(hosts):
                # ShardedByS3Key: "downloading one shard of data to each processing instance" (botocore,
                # ProcessingS3Input.S3DataDistributionType); SageMaker does not document which object goes
                # where, so here object i (in key order) goes to instance i mod N, an even split by count
                shard = objects[index :: len(hosts)] if sharded else objects
                self._fetch(shard, Path(self._local(s3_input["LocalPath"], roots[host])), region)
                if sharded:
                    notes[host].append(
                        f"input {item.get('InputName')}: ShardedByS3Key, {host} holds {len(shard)} of "
                        f"{len(objects)} objects under {s3_input['LocalPath']}"
                    )
        output_config = request.get("ProcessingOutputConfig", {})
        outputs = output_config.get("Outputs", [])
        for host in hosts:
            for item in outputs:
                Path(self._local(item["S3Output"]["LocalPath"], roots[host])).mkdir(parents=True, exist_ok=True)
            # "How Amazon SageMaker Processing Configures Your Processing Container" (SageMaker developer guide,
            # Build your own processing container): /opt/ml/config/processingjobconfig.json and resourceconfig.json
            config = roots[host] / "opt/ml/config"
            config.mkdir(parents=True, exist_ok=True)
            job_arn = f"arn:aws:sagemaker:{region}:{self.account_id}:processing-job/{name.lower()}"
            (config / "processingjobconfig.json").write_text(json.dumps({"ProcessingJobArn": job_arn, **request}))
            (config / "resourceconfig.json").write_text(json.dumps({"current_host": host, "hosts": hosts}))
        argv = [*app.get("ContainerEntrypoint", []), *app.get("ContainerArguments", [])]
        env = dict(request.get("Environment", {}))
        limit = request.get("StoppingCondition", {}).get("MaxRuntimeInSeconds")
        if MODEL_MONITOR_REPOSITORY in app.get("ImageUri", "") and not argv:
            # The analyzer's own entry point (Spark) cannot run here: baselining is substituted.
            for key in ("dataset_source", "output_path"):
                if key in env:
                    env[key] = self._local(env[key], root)
            with log.open("w") as f:
                f.write(
                    f"processing job {name}: LOCAL SUBSTITUTE for Model Monitor's analyzer image "
                    f"{app.get('ImageUri')}: sm_constructs.local.jobs.model_monitor_substitute (baselining only)\n"
                )
            self._exec(
                ["python", "-m", "sm_constructs.local.jobs.model_monitor_substitute"], root, log, env, limit, root
            )
            kms = output_config.get("KmsKeyId")
            for item in outputs:
                local = Path(self._local(item["S3Output"]["LocalPath"], root))
                self._upload(local, item["S3Output"]["S3Uri"], region, kms)
            return
        docker = self._engine_for(app.get("ImageUri", ""))
        image = None if docker is not None else self._image(app.get("ImageUri", ""))
        cwds = dict(roots)
        if docker is not None:
            pass  # the container's own file system and entry point
        elif image is not None:
            for host in hosts:
                image.layout(roots[host] / "image")
            cwds = {host: Path(image.workdir) for host in hosts}
            argv = image.command(None, app.get("ContainerEntrypoint"), app.get("ContainerArguments"))
            env = {**image.env, **env}
        elif not argv:
            raise JobFailed("ClientError: no ContainerEntrypoint: the image's own entry point cannot run locally")
        spark = docker is None and bool(argv) and Path(argv[0]).name == "smspark-submit"
        running = hosts[:1] if spark else hosts
        logs = {host: log if host == "algo-1" else roots[host] / "job.log" for host in hosts}
        for host in running:
            with logs[host].open("w") as f:
                where = f" on {host} of {len(hosts)} instances" if len(hosts) > 1 else ""
                runs = "in a container of the local Docker engine" if docker else f"run by {sys.executable}"
                f.write(f"processing job {name}{where}: image {app.get('ImageUri')} {runs}\n")
                self._describe_image(image, f)
                for note in notes[host] if not spark else [n for h in hosts for n in notes[h]]:
                    f.write(f"{note}\n")
                if spark and len(hosts) > 1:
                    f.write(
                        f"Spark: the application runs on the primary host algo-1, the other {len(hosts) - 1} hosts are "
                        f"its cluster's workers; this local Spark reads algo-1's files only (see sm_constructs/local/jobs/spark.py)\n"
                    )

        def run(host: str) -> None:
            if docker is not None:
                from .docker_engine import ContainerRun

                container = ContainerRun(
                    image=app["ImageUri"],
                    opt_ml=roots[host] / "opt/ml",
                    name=f"sm-local-{name}-{host}",
                    host=host,
                    entrypoint=app.get("ContainerEntrypoint"),
                    arguments=app.get("ContainerArguments"),
                    env=dict(request.get("Environment", {})),
                    network_isolation=bool(request.get("NetworkConfig", {}).get("EnableNetworkIsolation")),
                )
                self._exec_container(docker, container, logs[host], limit)
                return
            layout = roots[host] / "image" if image is not None else None
            self._exec(argv, roots[host], logs[host], env, limit, cwds[host], layout)

        if len(running) == 1:
            run(running[0])
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=len(running)) as pool:
                futures = [pool.submit(run, host) for host in running]
                errors = [f.exception() for f in futures]
            for host in running[1:]:
                self._publish_log_safely("CreateProcessingJob", name, logs[host], region, host)
            failed = next((e for e in errors if e is not None), None)
            if failed is not None:
                raise failed
        kms = output_config.get("KmsKeyId")
        for host in running:
            for item in outputs:
                local = Path(self._local(item["S3Output"]["LocalPath"], roots[host]))
                self._upload(local, item["S3Output"]["S3Uri"], region, kms)

    def _training(self, name: str, request: dict[str, Any], job: Any, root: Path, log: Path, region: str) -> None:
        spec = request["AlgorithmSpecification"]
        resources = request.get("ResourceConfig", {})
        count = int(resources.get("InstanceCount", 1)) + sum(
            int(g.get("InstanceCount", 0)) for g in resources.get("InstanceGroups", [])
        )
        if count > 1:  # one process cannot be a cluster: say so rather than train on one instance
            raise JobFailed(
                f"ClientError: the local runner trains on one instance and this job asks for {count} "
                "(ResourceConfig): distributed training does not run locally; use InstanceCount 1 here"
            )
        hps = {k: str(v) for k, v in request.get("HyperParameters", {}).items()}
        channels = []
        for channel in request.get("InputDataConfig", []):
            channel_name = channel["ChannelName"]
            source = channel["DataSource"]["S3DataSource"]["S3Uri"]
            self._download(source, root / "opt/ml/input/data" / channel_name, region)
            channels.append(channel_name)
        model_dir, output_dir = root / "opt/ml/model", root / "opt/ml/output/data"
        model_dir.mkdir(parents=True, exist_ok=True)
        output_dir.mkdir(parents=True, exist_ok=True)
        config = root / "opt/ml/input/config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "hyperparameters.json").write_text(json.dumps(hps))
        # "How Amazon SageMaker Provides Training Information" (SageMaker developer guide): the three config files
        input_config = {
            c["ChannelName"]: {
                "TrainingInputMode": c.get("InputMode", spec.get("TrainingInputMode", "File")),
                "S3DistributionType": c["DataSource"]["S3DataSource"].get("S3DataDistributionType", "FullyReplicated"),
                "RecordWrapperType": c.get("RecordWrapperType", "None"),
                **({"ContentType": c["ContentType"]} if "ContentType" in c else {}),
            }
            for c in request.get("InputDataConfig", [])
        }
        (config / "inputdataconfig.json").write_text(json.dumps(input_config))
        resources = {"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"}
        (config / "resourceconfig.json").write_text(json.dumps(resources))
        env = {
            "SM_MODEL_DIR": str(model_dir),
            "SM_OUTPUT_DATA_DIR": str(output_dir),
            "SM_CHANNELS": json.dumps(channels),
            "SM_HPS": json.dumps(hps),
            "SM_CURRENT_HOST": "algo-1",
            "SM_HOSTS": json.dumps(["algo-1"]),
            "SM_NUM_GPUS": "0",
            "SM_NUM_CPUS": str(os.cpu_count() or 1),
            "SM_INPUT_DIR": str(root / "opt/ml/input"),
            "SM_INPUT_CONFIG_DIR": str(config),
            **{f"SM_CHANNEL_{c.upper()}": str(root / "opt/ml/input/data" / c) for c in channels},
            **{f"SM_HP_{k.upper()}": v for k, v in hps.items()},
            **dict(request.get("Environment", {})),
        }
        image = spec.get("TrainingImage", "")
        limit = request.get("StoppingCondition", {}).get("MaxRuntimeInSeconds")
        if "sagemaker_program" in hps and "sagemaker_submit_directory" in hps:
            code = root / "opt/ml/code"
            code.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory() as tmp:
                # the submit directory is one gzipped tar whatever its key is named (a CDK file asset's key
                # ends .gz): sagemaker-training-toolkit's files.download_and_extract opens it "r:gz"
                self._download(hps["sagemaker_submit_directory"].strip('"'), Path(tmp), region)
                for archive in sorted(p for p in Path(tmp).rglob("*") if p.is_file()):
                    with tarfile.open(archive, "r:gz") as tar:
                        tar.extractall(code, filter="data")
            program = hps["sagemaker_program"].strip('"')
            args = [a for k, v in hps.items() if not k.startswith("sagemaker_") for a in (f"--{k}", v)]
            with log.open("w") as f:
                f.write(f"training job {name}: script mode {program}, image {image}\n")
            stdout = self._exec(["python", str(code / program), *args], root, log, env, limit, code)
        elif "sagemaker-xgboost" in image:
            with log.open("w") as f:
                f.write(
                    f"training job {name}: LOCAL SUBSTITUTE for the built-in XGBoost image "
                    f"{image}: sm_constructs.local.jobs.xgboost_substitute with the xgboost package\n"
                )
            stdout = self._exec(
                ["python", "-m", "sm_constructs.local.jobs.xgboost_substitute", "train"], root, log, env, limit, root
            )
        elif (docker := self._engine_for(image)) is not None:
            from .docker_engine import ContainerRun

            # SageMaker starts a training image as `docker run <image> train`; paths as the container sees them
            opt_ml = str(root / "opt/ml")
            run = ContainerRun(
                image=image,
                opt_ml=root / "opt/ml",
                name=f"sm-local-{name}-algo-1",
                arguments=["train"],
                env={k: v.replace(opt_ml, _OPT_ML) for k, v in env.items()},
                network_isolation=bool(request.get("EnableNetworkIsolation")),
            )
            with log.open("w") as f:
                f.write(f"training job {name}: image {image} in a container of the local Docker engine\n")
            stdout = self._exec_container(docker, run, log, limit)
        elif (container := self._image(image)) is not None:
            # SageMaker starts a training image as `docker run <image> train`
            container.layout(root / "image")
            with log.open("w") as f:
                f.write(f"training job {name}: image {image} run by {sys.executable}\n")
                self._describe_image(container, f)
            argv = container.command(None, None, ["train"])
            env = {**container.env, **env}
            stdout = self._exec(argv, root, log, env, limit, Path(container.workdir), root / "image")
        else:
            raise JobFailed(
                f"ClientError: image {image} cannot run locally (script mode, the built-in XGBoost algorithm, "
                "or an image asset FROM a Python base image whose entry point is a Python script)"
            )
        metrics: dict[str, float] = {}
        for definition in spec.get("MetricDefinitions", []):
            for match in re.finditer(definition["Regex"], stdout):
                metrics[definition["Name"]] = float(match.group(1))
        if "sagemaker-xgboost" in image and "sagemaker_program" not in hps:
            for line in stdout.splitlines():
                if line.startswith("#metric "):
                    metric, value = line.split()[1:3]
                    metrics[metric] = float(value)
        now = datetime.datetime.now(datetime.UTC)
        job.final_metric_data_list = [{"MetricName": k, "Value": v, "Timestamp": now} for k, v in metrics.items()]
        artifact = root / "model.tar.gz"
        with tarfile.open(artifact, "w:gz") as tar:
            for path in sorted(model_dir.rglob("*")):
                tar.add(path, arcname=path.relative_to(model_dir).as_posix())
        output = request["OutputDataConfig"]
        bucket, key = _split_s3(f"{output['S3OutputPath'].rstrip('/')}/{name}/output/model.tar.gz")
        kms = output.get("KmsKeyId")
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms} if kms else None
        self._s3(region).upload_file(str(artifact), bucket, key, ExtraArgs=extra)

    def _transform(self, name: str, request: dict[str, Any], root: Path, log: Path, region: str) -> None:
        model = self._backend(region)._models.get(request["ModelName"])
        if model is None:
            raise JobFailed(f"ClientError: model {request['ModelName']} does not exist")
        container = serving_container(self._backend(region), model)
        image = container.get("Image", "")
        if "sagemaker-xgboost" not in image:
            raise JobFailed(f"ClientError: image {image} cannot serve locally (the built-in XGBoost algorithm only)")
        transform_input, transform_output = request["TransformInput"], request["TransformOutput"]
        source = transform_input["DataSource"]["S3DataSource"]["S3Uri"]
        self._download(source, root / "input", region)
        self._download(container["ModelDataUrl"], root / "model", region)
        with log.open("w") as f:
            f.write(f"transform job {name}: LOCAL SUBSTITUTE for the built-in XGBoost image {image}\n")
        env = {
            "SM_TRANSFORM_INPUT": str(root / "input"),
            "SM_TRANSFORM_OUTPUT": str(root / "output"),
            "SM_MODEL_DIR": str(root / "model"),
            "SM_TRANSFORM_SETTINGS": json.dumps(
                {
                    "ContentType": transform_input.get("ContentType", "text/csv"),
                    "SplitType": transform_input.get("SplitType", "None"),
                    "DataProcessing": request.get("DataProcessing", {}),
                    "AssembleWith": transform_output.get("AssembleWith", "None"),
                }
            ),
        }
        self._exec(
            ["python", "-m", "sm_constructs.local.jobs.xgboost_substitute", "transform"], root, log, env, None, root
        )
        self._upload(root / "output", transform_output["S3OutputPath"], region, transform_output.get("KmsKeyId"))
