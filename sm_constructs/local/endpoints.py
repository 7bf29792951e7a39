"""InvokeEndpoint answered by the deployed model (a plug-in for moto's SageMaker runtime).

moto answers every invocation with a canned body. Here an endpoint that is ``InService`` answers
with its model: the endpoint's current config → its first production variant → the model's
container. The built-in XGBoost algorithm image is served by the local substitute
(:mod:`sm_constructs.local.xgboost_substitute`): ``text/csv`` rows of features in, one score per
line out, as the container does. Any other image cannot serve here and the call fails with
``ModelError`` saying so (never a made-up answer). Errors are those of botocore's
``sagemaker-runtime`` model: ``ValidationError`` for an unknown or not-InService endpoint,
``ModelError`` (HTTP 424) when the model cannot answer.

``UpdateEndpoint`` (moto: not implemented) switches the endpoint to the new config; like moto's
``CreateEndpoint`` the endpoint is ``InService`` at once.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
import threading
from pathlib import Path
from typing import Any
from urllib.parse import unquote

__all__ = ["install"]

_boosters: dict[str, Any] = {}
_lock = threading.Lock()


def _model_error(message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError("ModelError", message)
    error.code = 424
    return error


def _validation_error(message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("ValidationError", message)


def _booster(account_id: str, model_data_url: str) -> Any:
    """The XGBoost model in ``model.tar.gz`` at ``model_data_url`` (read from the emulated S3, cached)."""
    import xgboost as xgb
    from moto.s3.models import s3_backends

    with _lock:
        if model_data_url in _boosters:
            return _boosters[model_data_url]
        bucket, _, key = model_data_url.removeprefix("s3://").partition("/")
        try:
            data = s3_backends[account_id]["aws"].get_object(bucket, key).value  # type: ignore[union-attr]
        except Exception:
            raise _model_error(f"the model artifact {model_data_url} does not exist") from None
        with tempfile.TemporaryDirectory() as tmp, tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(tmp, filter="data")
            booster = xgb.Booster()
            booster.load_model(str(Path(tmp) / "xgboost-model"))
        _boosters[model_data_url] = booster
        return booster


def answer(account_id: str, region: str, endpoint_name: str, body: bytes, content_type: str) -> tuple[bytes, str, str]:
    """(response body, content type, invoked variant) from the endpoint's deployed model."""
    import numpy as np
    import xgboost as xgb
    from moto.sagemaker.models import sagemaker_backends

    backend = sagemaker_backends[account_id][region]
    endpoint = backend.endpoints.get(endpoint_name)
    if endpoint is None:
        raise _validation_error(f"Endpoint {endpoint_name} of account {account_id} not found.")
    if endpoint.endpoint_status != "InService":
        raise _validation_error(f"Endpoint {endpoint_name} is {endpoint.endpoint_status}, not InService.")
    config = backend.endpoint_configs[endpoint.endpoint_config_name]
    variant = config.production_variants[0]
    model = backend._models[variant["ModelName"]]
    container = model.primary_container or (model.containers or [{}])[0]
    image = container.get("Image", "")
    if "sagemaker-xgboost" not in image or container.get("Environment", {}).get("SAGEMAKER_PROGRAM"):
        raise _model_error(
            f"image {image} cannot serve on this machine: the local emulator answers with the built-in XGBoost "
            "algorithm only (no Docker engine to run the model's container)"
        )
    if content_type.split(";")[0].strip() != "text/csv":
        raise _model_error(f"unsupported content type {content_type!r}: the XGBoost substitute reads text/csv")
    booster = _booster(account_id, container["ModelDataUrl"])
    try:
        rows = np.loadtxt(io.StringIO(body.decode("utf-8")), delimiter=",", ndmin=2)
    except ValueError as error:
        raise _model_error(f"cannot parse the CSV body: {error}") from None
    scores = booster.predict(xgb.DMatrix(rows))
    return "\n".join(f"{s:.6g}" for s in scores).encode() + b"\n", "text/csv", variant["VariantName"]


def _install_update_endpoint() -> None:
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import FakeEndpoint
    from moto.sagemaker.responses import SageMakerResponse

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

    SageMakerResponse.update_endpoint = update_endpoint  # type: ignore[attr-defined]


def install() -> None:
    from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

    _install_update_endpoint()

    def invoke_endpoint(self: Any) -> Any:
        endpoint_name = unquote(self.path.split("/")[2])  # POST /endpoints/<name>/invocations
        content_type = self.headers.get("Content-Type", "application/octet-stream")
        body = self.body if isinstance(self.body, bytes) else str(self.body).encode()
        out, out_type, variant = answer(self.current_account, self.region, endpoint_name, body, content_type)
        return 200, {"Content-Type": out_type, "x-Amzn-Invoked-Production-Variant": variant}, out

    SageMakerRuntimeResponse.invoke_endpoint = invoke_endpoint  # type: ignore[method-assign]
