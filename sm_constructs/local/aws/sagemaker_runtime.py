"""InvokeEndpoint answered by the deployed model (a plug-in for moto's SageMaker runtime).

moto answers every invocation with a canned body. Here an endpoint that is ``InService`` answers
with its model: the endpoint's current config → its first production variant → the model's
container (a model made from a Model Registry version serves the version's container):

* the built-in XGBoost algorithm image is served by the local substitute
  (:mod:`sm_constructs.local.jobs.xgboost_substitute`): ``text/csv`` or libsvm rows of features in, one
  score per line out; the container's answers to a content type it does not read (415) and to rows
  with the wrong number of features (400) become ``ModelError`` as SageMaker reports them;
* the scikit-learn image with a script-mode handler (``SAGEMAKER_PROGRAM``, default
  ``inference.py``, from ``SAGEMAKER_SUBMIT_DIRECTORY`` — an S3 ``sourcedir.tar.gz`` — or from
  ``code/`` in ``model.tar.gz``) is served by the inference toolkit's handler flow
  (:mod:`sm_constructs.local.jobs.inference_handler`) in its own process, one per deployed model, with
  ``model.tar.gz`` extracted to ``<work dir>/endpoints/<endpoint>/<model>/opt/ml/model``, the
  process's ``/opt/ml`` (as a job's, :mod:`sm_constructs.local.jobs.namespace`), and the
  process's output in ``serve.log`` there. An exception in the script answers ``ModelError`` with
  the message SageMaker builds from the container's HTTP 500 (``Received server error (500) from
  <variant> with message "..."``, SageMaker's wording as users quote it in
  https://github.com/aws/amazon-sagemaker-examples/issues/1809 and .../issues/4324),
  ``OriginalStatusCode`` and ``OriginalMessage`` (botocore ``sagemaker-runtime`` ``ModelError``
  members); an answer takes at most 60 seconds ("A customer's model containers must respond to
  requests within 60 seconds", botocore ``InvokeEndpoint`` documentation);
* an image a local Docker engine holds is served by its own container (``docker run <image>
  serve``, see ``_ContainerEndpoint``);
* any other image cannot serve here and the call fails with ``ModelError`` saying so (never a
  made-up answer).

Errors are those of botocore's ``sagemaker-runtime`` model: ``ValidationError`` for an unknown or
not-InService endpoint, ``ModelError`` (HTTP 424) when the model cannot answer.

Data capture: an endpoint whose config has ``DataCaptureConfig`` (``EnableCapture`` not false)
writes the sampled share (``InitialSamplingPercentage``, drawn per endpoint from a generator seeded
with the endpoint's name, so a run is reproducible) of its answered invocations to S3 in
SageMaker's documented format ("Capture data from real-time endpoint", SageMaker Developer Guide,
https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html): one
JSON line ``{"captureData": {"endpointInput": {...}, "endpointOutput": {...}}, "eventMetadata":
{"eventId", "inferenceTime"}, "eventVersion": "0"}`` with ``observedContentType``, ``mode``
(``INPUT``/``OUTPUT``), ``data`` and ``encoding`` (``CSV`` or ``JSON`` for the
``CaptureContentTypeHeader`` types, else ``BASE64``), under
``<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/<mm-ss-mmm>-<event id>.jsonl``, encrypted with
``KmsKeyId`` (SSE-KMS on the emulated S3). SageMaker batches several records per file; here each
file holds one.

``UpdateEndpoint`` (moto: not implemented) switches the endpoint to the new config; in the
emulator :mod:`~sm_constructs.local.aws.sagemaker_endpoints` replaces it (installed after this module)
so that creates and updates take time and busy endpoints refuse work, as on AWS.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import datetime
import hashlib
import io
import json
import logging
import random
import select
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from .._net import free_port
from ..jobs.runner import process_environment, serving_container

__all__ = ["install"]

_boosters: dict[str, Any] = {}
_lock = threading.Lock()
_workdir: list[Path] = []  # set by install(); a temporary directory when not given
#: SageMaker's limit for a container's answer (botocore InvokeEndpoint documentation)
INVOCATION_TIMEOUT_SECONDS = 60.0


def _model_error(message: str, original: tuple[int, str] | None = None) -> Exception:
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError("ModelError", message)
    error.code = 424
    if original is not None:  # ModelError's OriginalStatusCode and OriginalMessage members
        error.description = json.dumps(
            {
                "__type": "ModelError",
                "message": message,
                "OriginalStatusCode": original[0],
                "OriginalMessage": original[1],
            }
        )
    return error


def _validation_error(message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("ValidationError", message)


def _s3_object(account_id: str, url: str) -> bytes:
    from moto.s3.models import s3_backends

    bucket, _, key = url.removeprefix("s3://").partition("/")
    try:
        return bytes(s3_backends[account_id]["aws"].get_object(bucket, key).value)  # type: ignore[union-attr]
    except Exception:
        raise _model_error(f"the model artifact {url} does not exist") from None


def _booster(account_id: str, model_data_url: str) -> Any:
    """The XGBoost model in ``model.tar.gz`` at ``model_data_url`` (read from the emulated S3, cached)."""
    import xgboost as xgb

    with _lock:
        if model_data_url in _boosters:
            return _boosters[model_data_url]
        data = _s3_object(account_id, model_data_url)
        with tempfile.TemporaryDirectory() as tmp, tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(tmp, filter="data")
            booster = xgb.Booster()
            booster.load_model(str(Path(tmp) / "xgboost-model"))
        _boosters[model_data_url] = booster
        return booster


class _HandlerProcess:
    """One deployed script-mode model: ``python -m sm_constructs.local.jobs.inference_handler`` (see its docs)."""

    def __init__(self, root: Path, code_dir: Path, model_dir: Path, env: dict[str, str]) -> None:
        from ..jobs import namespace

        try:  # the model server's /opt/ml is root's (``model/``, ``code/``), as a job's
            contract = namespace.contract(root / "opt/ml")
        except namespace.Unavailable as error:
            raise _model_error(f"the model cannot be served here: {error}") from None
        self.log_path = root / "serve.log"
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            contract.command(
                [sys.executable, "-m", "sm_constructs.local.jobs.inference_handler", str(code_dir), str(model_dir)]
            ),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=code_dir,
            env=process_environment(contract, env),
            bufsize=0,
        )
        log.close()
        self.lock = threading.Lock()

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 8) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.is_file() else ""
        return "\n".join([line for line in text.splitlines() if line.strip()][-lines:]) or "(no output)"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def invoke(self, body: bytes, content_type: str, accept: str) -> tuple[int, bytes, str]:
        from ..jobs.inference_handler import read_frame, write_frame

        assert self.process.stdin is not None and self.process.stdout is not None
        with self.lock:
            try:
                write_frame(self.process.stdin, {"content_type": content_type, "accept": accept}, body)  # type: ignore[arg-type]
                ready, _, _ = select.select([self.process.stdout], [], [], INVOCATION_TIMEOUT_SECONDS)
                if not ready:
                    self.stop()
                    raise TimeoutError
                header, out = read_frame(self.process.stdout)  # type: ignore[arg-type]
            except (BrokenPipeError, EOFError):
                self.process.wait(timeout=10)
                raise _model_error(
                    f"the model's handler process exited (code {self.process.returncode}); "
                    f"last lines of {self.log_path}:\n{self.log_tail()}"
                ) from None
        return int(header["status"]), out, str(header["content_type"])


class _ContainerEndpoint:
    """The model's own serving image in the local Docker engine (:mod:`~sm_constructs.local.jobs.docker_engine`).

    "Custom Inference Code with Hosting Services" (SageMaker developer guide): SageMaker runs
    ``docker run <image> serve`` with the model artifacts under ``/opt/ml/model`` and the container's
    ``Environment``; the container answers ``GET /ping`` and ``POST /invocations`` on port 8080. The
    emulator publishes that port on a free local one and waits for ``/ping`` for the variant's
    ``ContainerStartupHealthCheckTimeoutInSeconds``, else 60 seconds (the smallest value that field
    allows; SageMaker's default is not in its API model).
    """

    def __init__(
        self, docker: str, image: str, root: Path, env: dict[str, str], name: str, startup: float, host: str | None
    ) -> None:
        import time
        import urllib.request

        from ..jobs.docker_engine import ContainerRun

        self.docker, self.port = docker, free_port()
        self.log_path = f"docker logs {name}"
        self.run = ContainerRun(
            image=image,
            opt_ml=root / "opt/ml",
            name=name,
            host=host,
            arguments=["serve"],
            env=env,
            publish={self.port: 8080},
            detach=True,
        )
        # a container of the same name left by an emulator that stopped without cleaning up
        subprocess.run([docker, "rm", "--force", name], capture_output=True, timeout=60)
        done = subprocess.run(self.run.command(docker), capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise _model_error(
                f"docker run of {image} failed: {(done.stderr.strip().splitlines() or ['no output'])[-1]}"
            )
        deadline = time.monotonic() + startup
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ping", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        self.stop()
        raise _model_error(f"the container of {image} did not answer GET /ping with 200 within {startup:.0f} seconds")

    def alive(self) -> bool:
        probe = [self.docker, "container", "inspect", self.run.name]
        return subprocess.run(probe, capture_output=True, timeout=60).returncode == 0

    def stop(self) -> None:
        subprocess.run([self.docker, "rm", "--force", self.run.name], capture_output=True, timeout=60)

    def invoke(self, body: bytes, content_type: str, accept: str) -> tuple[int, bytes, str]:
        import urllib.error
        import urllib.request

        headers = {"Content-Type": content_type, **({"Accept": accept} if accept else {})}
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/invocations", data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=INVOCATION_TIMEOUT_SECONDS) as response:
                return response.status, response.read(), response.headers.get("Content-Type", accept)
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers.get("Content-Type", "")
        except TimeoutError:
            raise
        except OSError as error:
            raise _model_error(f"the container {self.run.name} does not answer: {error}") from None


#: "<account>/<region>/<endpoint>" → (deployed model key, handler process or container)
_handlers: dict[str, tuple[str, Any]] = {}


def _stop_all() -> None:
    for _, handler in _handlers.values():
        with contextlib.suppress(Exception):
            handler.stop()


atexit.register(_stop_all)


def _is_sklearn(image: str) -> bool:
    """SageMaker's scikit-learn image (``<account>.dkr.ecr.<region>.amazonaws.com/sagemaker-scikit-learn:<tag>``)."""
    return image.split("/")[-1].split(":")[0].split("@")[0] == "sagemaker-scikit-learn"


def _extract(data: bytes, into: Path, what: str) -> None:
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(into, filter="data")
    except tarfile.TarError as error:
        raise _model_error(f"{what} is not a tar.gz archive: {error}") from None


def _deployed(
    account_id: str,
    region: str,
    endpoint_name: str,
    variant: dict[str, Any],
    container: dict[str, Any],
    docker: str | None = None,
) -> Any:
    """The endpoint's deployed model, started (and its artifacts unpacked) on first use.

    With ``docker``, the model's image in the local engine; else the scikit-learn script-mode handler.
    """
    model_name = variant["ModelName"]
    env = {k: str(v) for k, v in container.get("Environment", {}).items()}
    model_url = container.get("ModelDataUrl", "")
    key = hashlib.sha256(json.dumps([model_name, container.get("Image"), model_url, env, docker]).encode()).hexdigest()
    where = f"{account_id}/{region}/{endpoint_name}"
    with _lock:
        current = _handlers.get(where)
        if current is not None and current[0] == key and current[1].alive():
            return current[1]
        if current is not None:  # the endpoint now serves another model (UpdateEndpoint), or the process died
            current[1].stop()
        if not _workdir:
            _workdir.append(Path(tempfile.mkdtemp(prefix="sm-local-endpoints-")))
        root = _workdir[0] / "endpoints" / endpoint_name / model_name
        shutil.rmtree(root, ignore_errors=True)
        model_dir = root / "opt/ml/model"
        model_dir.mkdir(parents=True)
        if model_url:
            _extract(_s3_object(account_id, model_url), model_dir, f"the model artifact {model_url}")
        if docker is not None:
            startup = float(variant.get("ContainerStartupHealthCheckTimeoutInSeconds", 60))
            name = f"sm-local-endpoint-{endpoint_name}"
            # the DNS host name is ContainerDefinition.ContainerHostname ("Custom Inference Code with Hosting Services")
            host = container.get("ContainerHostname")
            handler: Any = _ContainerEndpoint(docker, container["Image"], root, env, name, startup, host)
            _handlers[where] = (key, handler)
            return handler
        submit = env.get("SAGEMAKER_SUBMIT_DIRECTORY", "/opt/ml/model/code")
        if submit.startswith("s3://"):
            if not submit.endswith(".tar.gz"):
                raise _model_error(
                    f"SAGEMAKER_SUBMIT_DIRECTORY {submit} is not a .tar.gz archive: the local emulator serves "
                    "a source directory packed as the SageMaker SDK packs it (sourcedir.tar.gz)"
                )
            code_dir = root / "opt/ml/code"
            code_dir.mkdir(parents=True)
            _extract(_s3_object(account_id, submit), code_dir, f"SAGEMAKER_SUBMIT_DIRECTORY {submit}")
        elif submit.startswith("/opt/ml/"):
            code_dir = root / submit.removeprefix("/").rstrip("/")
            code_dir.mkdir(parents=True, exist_ok=True)
        else:
            raise _model_error(f"SAGEMAKER_SUBMIT_DIRECTORY {submit!r} is neither an S3 URI nor a path under /opt/ml")
        handler = _HandlerProcess(root, code_dir, model_dir, env)
        _handlers[where] = (key, handler)
        return handler


def _serve(
    account_id: str,
    region: str,
    endpoint_name: str,
    variant: str,
    handler: Any,
    request: tuple[bytes, str, str],
) -> tuple[bytes, str]:
    try:
        status, out, out_type = handler.invoke(*request)
    except TimeoutError:
        raise _model_error(
            f"Model {variant} did not respond within {INVOCATION_TIMEOUT_SECONDS:.0f} seconds (see {handler.log_path})"
        ) from None
    if 200 <= status < 300:
        return out, out_type
    text = out.decode("utf-8", "replace")
    lines = [line for line in text.splitlines() if line.strip()]
    shown = "\n".join([*lines[:1], *lines[1:][-6:]])  # the exception message and the traceback's last lines
    url = (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logEventViewer:"
        f"group=/aws/sagemaker/Endpoints/{endpoint_name}"
    )
    kind = "client" if status < 500 else "server"
    raise _model_error(
        f'Received {kind} error ({status}) from {variant} with message "{shown}". See {url} in account '
        f"{account_id} for more information. (Locally: {handler.log_path})",
        (status, text),
    )


def answer(
    account_id: str, region: str, endpoint_name: str, body: bytes, content_type: str, accept: str = ""
) -> tuple[bytes, str, str]:
    """(response body, content type, invoked variant) from the endpoint's deployed model."""
    from moto.sagemaker.models import sagemaker_backends

    backend = sagemaker_backends[account_id][region]
    with _lock:  # deleted endpoints' handler processes and containers stop
        here = f"{account_id}/{region}/"
        for gone in [k for k in _handlers if k.startswith(here) and k.removeprefix(here) not in backend.endpoints]:
            with contextlib.suppress(Exception):
                _handlers.pop(gone)[1].stop()
    endpoint = backend.endpoints.get(endpoint_name)
    if endpoint is None:
        raise _validation_error(f"Endpoint {endpoint_name} of account {account_id} not found.")
    if endpoint.endpoint_status != "InService":
        raise _validation_error(f"Endpoint {endpoint_name} is {endpoint.endpoint_status}, not InService.")
    config = backend.endpoint_configs[endpoint.endpoint_config_name]
    variant = config.production_variants[0]
    model = backend._models[variant["ModelName"]]
    container = serving_container(backend, model)
    image = container.get("Image", "")
    request = (body, content_type, accept)
    if _is_sklearn(image):
        handler = _deployed(account_id, region, endpoint_name, variant, container)
        out, out_type = _serve(account_id, region, endpoint_name, variant["VariantName"], handler, request)
        return out, out_type, variant["VariantName"]
    if "sagemaker-xgboost" not in image or container.get("Environment", {}).get("SAGEMAKER_PROGRAM"):
        from ..jobs.runner import JobRunner

        docker = JobRunner._engine_for(image)
        if docker is None:
            raise _model_error(
                f"image {image} cannot serve on this machine: the local emulator answers with the built-in XGBoost "
                "algorithm, with script-mode handlers on the scikit-learn image, and with images a local Docker "
                "engine holds (none answers here, or it does not hold this image)"
            )
        handler = _deployed(account_id, region, endpoint_name, variant, container, docker)
        out, out_type = _serve(account_id, region, endpoint_name, variant["VariantName"], handler, request)
        return out, out_type, variant["VariantName"]
    handler = _XGBoostSubstitute(_booster(account_id, container["ModelDataUrl"]))
    out, out_type = _serve(account_id, region, endpoint_name, variant["VariantName"], handler, request)
    return out, out_type, variant["VariantName"]


class _XGBoostSubstitute:
    """The built-in XGBoost image's ``/invocations``, answered in this process by
    :func:`sm_constructs.local.jobs.xgboost_substitute.score` (the container's content types and
    feature-count check, and its status codes)."""

    log_path = "the emulator's log (the XGBoost substitute runs in its process)"

    def __init__(self, booster: Any) -> None:
        self.booster = booster

    def invoke(self, body: bytes, content_type: str, accept: str) -> tuple[int, bytes, str]:
        from ..jobs.xgboost_substitute import score

        try:
            status, out = score(self.booster, body, content_type)
        except NotImplementedError as error:
            raise _model_error(str(error)) from None
        return status, out.encode(), "text/csv"


#: CaptureContentTypeHeader defaults, as the SageMaker Python SDK's DataCaptureConfig sets them
_CSV_TYPES, _JSON_TYPES = ["text/csv"], ["application/json"]
_samplers: dict[str, random.Random] = {}
_LOG = logging.getLogger(__name__)


def _captured(content_type: str, data: bytes, mode: str, header: dict[str, Any]) -> dict[str, str]:
    media = content_type.split(";")[0].strip()
    if media in header.get("CsvContentTypes", _CSV_TYPES):
        encoding, text = "CSV", data.decode("utf-8", "replace")
    elif media in header.get("JsonContentTypes", _JSON_TYPES):
        encoding, text = "JSON", data.decode("utf-8", "replace")
    else:
        encoding, text = "BASE64", base64.b64encode(data).decode()
    return {"observedContentType": content_type, "mode": mode, "data": text, "encoding": encoding}


def capture(
    account_id: str,
    region: str,
    endpoint_name: str,
    variant: str,
    request: tuple[bytes, str],
    response: tuple[bytes, str],
) -> str | None:
    """Write the invocation to the endpoint's data capture destination when it is sampled (see the
    module docs); the object's key, or None when the endpoint does not capture it."""
    from moto.s3.models import s3_backends
    from moto.sagemaker.models import sagemaker_backends

    backend = sagemaker_backends[account_id][region]
    endpoint = backend.endpoints.get(endpoint_name)
    config = backend.endpoint_configs.get(endpoint.endpoint_config_name) if endpoint else None
    settings: dict[str, Any] = (config.data_capture_config if config else None) or {}
    if not settings or settings.get("EnableCapture") is False:
        return None
    where = f"{account_id}/{region}/{endpoint_name}"
    with _lock:
        sampler = _samplers.setdefault(where, random.Random(endpoint_name))
        sampled = sampler.random() * 100 < float(settings.get("InitialSamplingPercentage", 0))
    if not sampled:
        return None
    modes = {o.get("CaptureMode") for o in settings.get("CaptureOptions", [])}
    header = settings.get("CaptureContentTypeHeader") or {}
    data: dict[str, Any] = {}
    if modes & {"Input", "InputAndOutput"}:
        data["endpointInput"] = _captured(request[1], request[0], "INPUT", header)
    if modes & {"Output", "InputAndOutput"}:
        data["endpointOutput"] = _captured(response[1], response[0], "OUTPUT", header)
    now = datetime.datetime.now(datetime.UTC)
    event_id = str(uuid.uuid4())
    record = {
        "captureData": data,
        "eventMetadata": {"eventId": event_id, "inferenceTime": now.strftime("%Y-%m-%dT%H:%M:%SZ")},
        "eventVersion": "0",
    }
    bucket, _, prefix = str(settings["DestinationS3Uri"]).removeprefix("s3://").partition("/")
    name = f"{now:%M-%S}-{now.microsecond // 1000:03d}-{event_id}.jsonl"
    key = "/".join(p for p in (prefix.strip("/"), endpoint_name, variant, f"{now:%Y/%m/%d/%H}", name) if p)
    kms = settings.get("KmsKeyId")
    try:
        s3_backends[account_id]["aws"].put_object(
            bucket,
            key,
            (json.dumps(record) + "\n").encode(),
            encryption="aws:kms" if kms else None,
            kms_key_id=kms,
        )
    except Exception as error:  # SageMaker drops a capture it cannot write; the invocation still answers
        _LOG.warning("data capture of endpoint %s not written to s3://%s/%s: %r", endpoint_name, bucket, key, error)
        return None
    return f"s3://{bucket}/{key}"


def _install_update_endpoint() -> None:
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import FakeEndpoint

    from .. import patches

    def update_endpoint(self: Any) -> Any:
        backend = self.sagemaker_backend
        name, config_name = self._get_param("EndpointName"), self._get_param("EndpointConfigName")
        endpoint = backend.endpoints.get(name)
        if endpoint is None:
            arn = FakeEndpoint.arn_formatter(name, backend.account_id, backend.region_name)
            raise ValidationError(message=f"Could not find endpoint '{arn}'.")
        config = backend.describe_endpoint_config(config_name)  # ValidationError when missing
        endpoint.endpoint_config_name = config_name
        endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
        endpoint.data_capture_config = config["DataCaptureConfig"]
        endpoint.last_modified_time = utcnow()
        endpoint.endpoint_status = "InService"
        return ActionResult({"EndpointArn": endpoint.arn})

    patches.add(
        "moto.sagemaker.responses:SageMakerResponse",
        "update_endpoint",
        update_endpoint,
        why="UpdateEndpoint (moto has none): the endpoint serves the new config at once",
    )


def install(workdir: Path | None = None) -> None:
    """Replace moto's InvokeEndpoint; script-mode models are unpacked under ``<workdir>/endpoints/``."""
    from .. import patches

    if workdir is not None:
        _workdir[:] = [workdir]
    _install_update_endpoint()

    def invoke_endpoint(self: Any) -> Any:
        endpoint_name = unquote(self.path.split("/")[2])  # POST /endpoints/<name>/invocations
        content_type = self.headers.get("Content-Type", "application/octet-stream")
        accept = self.headers.get("Accept", "")
        body = self.raw_body if isinstance(self.raw_body, bytes) else str(self.raw_body or "").encode()
        out, out_type, variant = answer(self.current_account, self.region, endpoint_name, body, content_type, accept)
        capture(self.current_account, self.region, endpoint_name, variant, (body, content_type), (out, out_type))
        return 200, {"Content-Type": out_type, "x-Amzn-Invoked-Production-Variant": variant}, out

    runtime = "moto.sagemakerruntime.responses:SageMakerRuntimeResponse"
    patches.replace(
        runtime, "invoke_endpoint", invoke_endpoint, why="the endpoint's model answers (moto: fixed results)"
    )
    why = "bodies are bytes as sent (application/x-npy, images): moto would decode them as UTF-8 text"
    patches.replace(runtime, "use_raw_body", True, why=why)
    patches.apply()
