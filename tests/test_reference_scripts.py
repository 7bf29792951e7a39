"""The reference pipeline's scripts, run locally through SageMaker's /opt/ml directory contract."""

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

ROOT = Path(__file__).resolve().parent.parent / "reference"


def _run(script, *args):
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / script), *map(str, args)], check=True, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    root = tmp_path_factory.mktemp("opt_ml_processing")
    raw = root / "input" / "raw"
    raw.mkdir(parents=True)
    (raw / "churn.csv").write_bytes((ROOT / "data" / "churn.csv").read_bytes())
    _run("preprocess.py", "--input-dir", raw, "--output-dir", root / "output")
    return root


def _load(path):
    return np.loadtxt(path, delimiter=",", ndmin=2)


def test_preprocess_outputs_follow_the_xgboost_csv_contract(processed):
    out = processed / "output"
    schema = json.loads((out / "test" / "features.json").read_text())
    train, val, test = (_load(out / d / f"{d}.csv") for d in ("train", "validation", "test"))
    batch = _load(out / "batch" / "batch.csv")
    assert schema["rows"]["raw"] == 402 and schema["rows"]["clean"] == 400  # duplicates removed
    assert len(train) + len(val) + len(test) == 400
    assert abs(len(train) - 280) <= 1
    for split in (train, val, test):
        assert set(np.unique(split[:, 0])) == {0.0, 1.0}  # label first, binary
        assert not np.isnan(split).any()
        assert split.shape[1] == len(schema["features"]) + 1
    assert batch.shape == (len(test), test.shape[1] - 1)
    assert not (out / "train" / "train.csv").read_text().startswith("churn")  # no header
    # the built-in XGBoost container parses every file of a channel (and transform every input file)
    for channel in ("train", "validation", "batch"):
        assert [p.name for p in (out / channel).iterdir()] == [f"{channel}.csv"]


def test_trained_model_evaluates_to_a_real_auc(processed, tmp_path):
    out = processed / "output"
    hps = json.loads((ROOT / "hyperparameters.json").read_text())
    train, val = _load(out / "train" / "train.csv"), _load(out / "validation" / "validation.csv")
    params = {k: v for k, v in hps.items() if k != "num_round"}
    booster = xgb.train(
        params,
        xgb.DMatrix(train[:, 1:], label=train[:, 0]),
        num_boost_round=int(hps["num_round"]),
        evals=[(xgb.DMatrix(val[:, 1:], label=val[:, 0]), "validation")],
        verbose_eval=False,
    )
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    raw = booster.save_raw("json")
    with tarfile.open(model_dir / "model.tar.gz", "w:gz") as tar:  # exactly what the built-in algorithm writes
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(bytes(raw)))
    _run("evaluate.py", "--model-dir", model_dir, "--test-dir", out / "test", "--output-dir", tmp_path / "evaluation")
    report = json.loads((tmp_path / "evaluation" / "evaluation.json").read_text())
    assert report["metrics"]["auc"] == report["binary_classification_metrics"]["auc"]["value"]
    assert 0.7 < report["metrics"]["auc"] <= 1.0
    schema = json.loads((out / "test" / "features.json").read_text())
    assert report["test_rows"] == schema["rows"]["test"]
