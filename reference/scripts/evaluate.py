"""Evaluation for the reference churn pipeline (runs in SageMaker's XGBoost image).

Loads the built-in XGBoost model artifact (model.tar.gz with ``xgboost-model``), scores the held-out
test set (label first, no header) and writes evaluation.json: SageMaker's model-quality layout
(``binary_classification_metrics``) plus a flat ``metrics`` object for the pipeline's quality gate.
"""

from __future__ import annotations

import argparse
import json
import pickle
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import xgboost as xgb
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score


def load_booster(model_dir: Path) -> xgb.Booster:
    archive = next(model_dir.rglob("model.tar.gz"))
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        path = Path(tmp) / "xgboost-model"
        booster = xgb.Booster()
        try:
            booster.load_model(str(path))  # native JSON/UBJ format (XGBoost 1.7+ containers)
        except xgb.core.XGBoostError:
            with path.open("rb") as f:  # pickled Booster written by older containers
                booster = pickle.load(f)
        return booster


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=Path("/opt/ml/processing/input/model"))
    parser.add_argument("--test-dir", type=Path, default=Path("/opt/ml/processing/input/test"))
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/evaluation"))
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args(argv)

    booster = load_booster(args.model_dir)
    data = np.loadtxt(next(args.test_dir.rglob("*.csv")), delimiter=",", ndmin=2)
    labels, features = data[:, 0], data[:, 1:]
    scores = booster.predict(xgb.DMatrix(features))
    predicted = (scores >= args.threshold).astype(int)
    metrics = {
        "auc": float(roc_auc_score(labels, scores)),
        "accuracy": float(accuracy_score(labels, predicted)),
        "f1": float(f1_score(labels, predicted, zero_division=0)),
    }
    report = {
        "binary_classification_metrics": {k: {"value": v, "standard_deviation": "NaN"} for k, v in metrics.items()},
        "metrics": metrics,
        "test_rows": len(labels),
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "evaluation.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(metrics))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
