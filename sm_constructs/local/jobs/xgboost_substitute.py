"""LOCAL SUBSTITUTE for SageMaker's built-in XGBoost algorithm container (training and batch transform).

The container cannot run without Docker; this runs the same algorithm through the ``xgboost`` Python
package, with the container's contract:

* ``train``: channels ``train`` (required) and ``validation`` (optional) as CSV files, label in the
  first column, no header; hyperparameters from ``SM_HPS``, first checked against the algorithm's
  table (:mod:`sm_constructs._algorithms`, the one the library checks at synth) as the container
  checks them: a refused one ends the job with the container's message (``Hyperparameter
  objective: binary:logistc is not in [...]``) written to ``/opt/ml/output/failure``, which
  SageMaker reports as the job's ``FailureReason``. ``num_round`` is the number of boosting
  rounds, every other one goes to ``xgboost.train`` as a parameter; the model is saved as
  ``xgboost-model`` (XGBoost's JSON format) in ``SM_MODEL_DIR``; metrics are printed per round as the
  container logs them (``[0]#011train-auc:0.81#011validation-auc:0.79``) and finally as
  ``#metric validation:auc 0.79``.
* ``transform``: ``model.tar.gz`` from ``SM_MODEL_DIR``, every CSV file under ``SM_TRANSFORM_INPUT``
  (features only, no label, no header) scored line by line; predictions to ``<file>.out`` under
  ``SM_TRANSFORM_OUTPUT``. ``DataProcessing`` ``InputFilter``/``OutputFilter`` of the form ``$[a:b]``
  or ``$[i,j,...]`` and ``JoinSource: Input`` are applied as SageMaker does for CSV.

* ``score`` (an endpoint's ``/invocations``, called in the emulator's process): the container's
  serving contract (``algorithm_mode/serve.py`` and ``serve_utils.py`` of
  aws/sagemaker-xgboost-container): the request's content type parsed as ``data_utils.get_content_type``
  does (``text/csv``, ``text/libsvm``/``text/x-libsvm``, ``application/x-recordio-protobuf``;
  anything else answers 415 with the container's message), the number of features checked against
  the model's (``predict``: a CSV row has the model's features, or one more), a mismatch answering
  400 ``Unable to evaluate payload provided: Feature size of csv inference data 3 is not consistent
  with feature size of trained model 10.``. RecordIO-protobuf bodies are not decoded here: they fail
  with a message saying so.

Results match the container's for the same data and hyperparameters up to XGBoost version
differences; they are not bit-identical.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np


def _csv_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file() and not p.name.startswith("."))


def _load(directory: Path) -> np.ndarray:
    parts = [np.loadtxt(p, delimiter=",", ndmin=2) for p in _csv_files(directory)]
    if not parts:
        raise SystemExit(f"no data files in {directory}")
    return np.vstack(parts)


def _fail(message: str) -> int:
    """End the job as the container does: the reason in ``/opt/ml/output/failure``, and in the log."""
    output = Path(os.environ.get("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data")).parent
    output.mkdir(parents=True, exist_ok=True)
    (output / "failure").write_text(message)
    print(message, file=sys.stderr)
    return 1


def train() -> int:
    import xgboost as xgb

    from sm_constructs._algorithms import AlgorithmError, xgboost_hyperparameters

    hps = json.loads(os.environ.get("SM_HPS", "{}"))
    try:
        xgboost_hyperparameters().validate(hps)
    except AlgorithmError as error:  # the toolkit's UserError: a client error
        return _fail(f"ClientError: {error}")
    hps.pop("_tuning_objective_metric", None)
    rounds = int(hps.pop("num_round", 100))
    params = {k: v for k, v in hps.items() if not k.startswith("sagemaker_")}
    train_data = _load(Path(os.environ["SM_CHANNEL_TRAIN"]))
    dtrain = xgb.DMatrix(train_data[:, 1:], label=train_data[:, 0])
    evals = [(dtrain, "train")]
    if os.environ.get("SM_CHANNEL_VALIDATION"):
        val = _load(Path(os.environ["SM_CHANNEL_VALIDATION"]))
        evals.append((xgb.DMatrix(val[:, 1:], label=val[:, 0]), "validation"))
    history: dict[str, dict[str, list[float]]] = {}

    class _Log(xgb.callback.TrainingCallback):
        def after_iteration(self, model, epoch, evals_log):
            line = "#011".join(f"{d}-{m}:{v[-1]:.5f}" for d, ms in evals_log.items() for m, v in ms.items())
            print(f"[{epoch}]#011{line}")
            return False

    booster = xgb.train(params, dtrain, num_boost_round=rounds, evals=evals, evals_result=history, callbacks=[_Log()])
    model_dir = Path(os.environ["SM_MODEL_DIR"])
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / "xgboost-model").write_bytes(bytes(booster.save_raw("json")))
    for data, metrics in history.items():
        for metric, values in metrics.items():
            print(f"#metric {data}:{metric} {values[-1]:.6f}")
    return 0


#: data_utils.VALID_CONTENT_TYPES, in the order the container's message lists them
CONTENT_TYPES = [
    "csv",
    "libsvm",
    "parquet",
    "recordio-protobuf",
    "text/csv",
    "text/libsvm",
    "text/x-libsvm",
    "application/x-parquet",
    "application/x-recordio-protobuf",
]


def content_kind(content_type: str) -> str:
    """``csv``, ``libsvm``, ``parquet`` or ``recordio-protobuf`` as ``data_utils.get_content_type`` reads a
    ContentType; ValueError with the container's message for any other."""
    value = content_type.lower()
    if value in ("libsvm", "text/libsvm", "text/x-libsvm"):
        return "libsvm"
    if "csv" in value:
        media, _, params = value.partition(";")
        label_size = dict(p.strip().partition("=")[::2] for p in params.split(";") if "=" in p).get("label_size")
        if media.strip() in ("csv", "text/csv"):
            if label_size is not None and label_size != "1":
                raise ValueError(
                    f"{value} is not an accepted csv ContentType. Optional parameter label_size must be equal to 1"
                )
            return "csv"
    elif value in ("parquet", "application/x-parquet"):
        return "parquet"
    elif value in ("recordio-protobuf", "application/x-recordio-protobuf"):
        return "recordio-protobuf"
    raise ValueError(f"{content_type} is not an accepted ContentType: {', '.join(CONTENT_TYPES)}.")


def _libsvm_rows(text: str) -> tuple[list[int], list[int], list[float]]:
    rows, cols, values = [], [], []
    for row, line in enumerate(text.split("\n")):
        for item in line.split(" "):
            if ":" in item:
                col, _, value = item.partition(":")
                rows.append(row)
                cols.append(int(col))
                values.append(float(value))
    return rows, cols, values


def score(booster: object, payload: bytes, content_type: str) -> tuple[int, str]:
    """(HTTP status, body) of the container's ``/invocations`` for ``payload`` (see the module docs)."""
    import xgboost as xgb
    from scipy.sparse import csr_matrix

    if not payload:
        return 204, ""
    try:
        kind = content_kind(content_type)
    except ValueError as error:
        return 415, str(error)
    if kind == "csv":
        try:
            rows = np.loadtxt(io.StringIO(payload.strip().decode("utf-8")), delimiter=",", ndmin=2)
            data = xgb.DMatrix(rows)
        except Exception as error:
            return 415, (
                "Loading csv data failed with Exception, please ensure data is in csv format:\n "
                f"{type(error)}\n {error}"
            )
    elif kind == "libsvm":
        try:
            rows_, cols, values = _libsvm_rows(payload.strip().decode("utf-8"))
            data = xgb.DMatrix(csr_matrix((values, (rows_, cols))))
        except Exception as error:
            return 415, (
                "Loading libsvm data failed with Exception, please ensure data is in libsvm format:\n "
                f"{type(error)}\n {error}"
            )
    elif kind == "recordio-protobuf":
        raise NotImplementedError(
            "the local XGBoost substitute does not decode application/x-recordio-protobuf bodies; "
            "send text/csv or text/libsvm to the emulator"
        )
    else:
        return 415, f"Content-type {content_type} is not supported."
    model, given = booster.num_features(), data.num_col()  # type: ignore[attr-defined]
    if kind == "libsvm" and given > model + 1:
        return 400, (
            "Unable to evaluate payload provided: Feature size of libsvm inference data "
            f"{given} is larger than feature size of trained model {model}."
        )
    if kind == "csv" and given not in (model, model - 1):
        return 400, (
            f"Unable to evaluate payload provided: Feature size of {kind} inference data {given} is not "
            f"consistent with feature size of trained model {model}."
        )
    scores = booster.predict(data, validate_features=False)  # type: ignore[attr-defined]
    return 200, "\n".join(f"{s:.6g}" for s in scores) + "\n"


def _columns(spec: str, width: int) -> list[int]:
    """Columns selected by a SageMaker CSV filter such as ``$[1:]``, ``$[0,3]`` or ``$``."""
    spec = spec.strip()
    if spec in ("", "$"):
        return list(range(width))
    match = re.fullmatch(r"\$\[(.*)\]", spec)
    if not match:
        raise SystemExit(f"unsupported filter {spec!r}: use $[a:b] or $[i,j,...]")
    body = match.group(1)
    if ":" in body:
        start, _, stop = body.partition(":")
        return list(range(width))[int(start) if start else None : int(stop) if stop else None]
    return [int(i) if int(i) >= 0 else width + int(i) for i in body.split(",")]


def transform() -> int:
    import xgboost as xgb

    settings = json.loads(os.environ.get("SM_TRANSFORM_SETTINGS", "{}"))
    processing = settings.get("DataProcessing") or {}
    if settings.get("ContentType", "text/csv") not in ("text/csv", "text/csv; label_size=0"):
        raise SystemExit(f"unsupported ContentType {settings.get('ContentType')!r}: text/csv only")
    model_dir = Path(os.environ["SM_MODEL_DIR"])
    archive = next(model_dir.rglob("model.tar.gz"))
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        booster = xgb.Booster()
        booster.load_model(str(Path(tmp) / "xgboost-model"))
    source, target = Path(os.environ["SM_TRANSFORM_INPUT"]), Path(os.environ["SM_TRANSFORM_OUTPUT"])
    for path in _csv_files(source):
        rows = np.loadtxt(path, delimiter=",", ndmin=2)
        features = rows[:, _columns(processing.get("InputFilter", "$"), rows.shape[1])]
        scores = booster.predict(xgb.DMatrix(features))
        joined = np.column_stack([rows, scores]) if processing.get("JoinSource") == "Input" else scores.reshape(-1, 1)
        out = joined[:, _columns(processing.get("OutputFilter", "$"), joined.shape[1])]
        destination = target / f"{path.relative_to(source).as_posix()}.out"
        destination.parent.mkdir(parents=True, exist_ok=True)
        np.savetxt(destination, out, delimiter=",", fmt="%.6g")
        print(f"{path.name}: {len(rows)} records -> {destination.name}")
    return 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command not in ("train", "transform"):
        raise SystemExit("usage: python -m sm_constructs.local.jobs.xgboost_substitute train|transform")
    raise SystemExit(train() if command == "train" else transform())
