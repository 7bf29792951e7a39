"""Writes evaluation.json with the AUC given on the command line (the gate reads metrics.auc)."""

import argparse
import json
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--auc", type=float, required=True)
parser.add_argument("--output-dir", default="/opt/ml/processing/evaluation")
args = parser.parse_args()
out = Path(args.output_dir)
out.mkdir(parents=True, exist_ok=True)
(out / "evaluation.json").write_text(json.dumps({"metrics": {"auc": args.auc}}))
