"""Preprocessing for the reference churn pipeline (runs in SageMaker's scikit-learn image).

Reads every CSV under the raw input, cleans (duplicates, missing totals), engineers features,
splits stratified train / validation / test and writes them in the built-in XGBoost CSV contract:
label first, no header. Also writes the batch-transform input (features only) and the feature
schema (test/features.json: the training channels hold CSV only, as the XGBoost container reads
every file in them).
Paths default to SageMaker's processing layout and can be overridden for local runs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

LABEL = "churn"
CATEGORICAL = ["contract", "internet"]


def load(input_dir: Path) -> pd.DataFrame:
    frames = [pd.read_csv(p) for p in sorted(input_dir.rglob("*.csv"))]
    if not frames:
        raise SystemExit(f"no CSV files under {input_dir}")
    return pd.concat(frames, ignore_index=True)


def clean(df: pd.DataFrame) -> pd.DataFrame:
    df = df.drop_duplicates(subset="customer_id").copy()
    missing = df["total_charges"].isna()
    df.loc[missing, "total_charges"] = df.loc[missing, "tenure_months"] * df.loc[missing, "monthly_charges"]
    return df


def features(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=df.index)
    out[LABEL] = df[LABEL].astype(int)
    out["tenure_months"] = df["tenure_months"]
    out["monthly_charges"] = df["monthly_charges"]
    out["total_charges"] = df["total_charges"]
    out["support_calls"] = df["support_calls"]
    # Average charge per month of tenure: high for new, expensive customers.
    out["charges_per_month"] = df["total_charges"] / df["tenure_months"].clip(lower=1)
    dummies = pd.get_dummies(df[CATEGORICAL], dtype=int)
    return pd.concat([out, dummies.sort_index(axis=1)], axis=1)


def write(df: pd.DataFrame, path: Path, *, label: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    (df if label else df.drop(columns=[LABEL])).to_csv(path, header=False, index=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-dir", type=Path, default=Path("/opt/ml/processing/input/raw"))
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/output"))
    parser.add_argument("--train-ratio", type=float, default=0.7)
    parser.add_argument("--validation-ratio", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    raw = load(args.input_dir)
    table = features(clean(raw))
    if table.isna().any().any():
        raise SystemExit("missing values remain after cleaning")
    train, rest = train_test_split(table, train_size=args.train_ratio, stratify=table[LABEL], random_state=args.seed)
    validation_share = args.validation_ratio / (1 - args.train_ratio)
    validation, test = train_test_split(rest, train_size=validation_share, stratify=rest[LABEL], random_state=args.seed)
    out = args.output_dir
    write(train, out / "train" / "train.csv")
    write(validation, out / "validation" / "validation.csv")
    write(test, out / "test" / "test.csv")
    write(test, out / "batch" / "batch.csv", label=False)
    schema = {
        "label": LABEL,
        "features": [c for c in table.columns if c != LABEL],
        "rows": {
            "raw": len(raw),
            "clean": len(table),
            "train": len(train),
            "validation": len(validation),
            "test": len(test),
        },
        "positive_rate": float(np.round(table[LABEL].mean(), 4)),
    }
    (out / "test" / "features.json").write_text(json.dumps(schema, indent=2))
    print(json.dumps(schema["rows"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
