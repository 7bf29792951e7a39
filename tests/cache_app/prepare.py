"""Test processing script: copies the raw CSV rows to train/, failing when a row says so."""

import argparse
import sys
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--input-dir", required=True)
parser.add_argument("--output-dir", required=True)
args = parser.parse_args()
rows = [line for p in sorted(Path(args.input_dir).rglob("*.csv")) for line in p.read_text().splitlines() if line]
if any("fail" in row for row in rows):
    sys.exit("the input asks this job to fail")
out = Path(args.output_dir)
out.mkdir(parents=True, exist_ok=True)
(out / "train.csv").write_text("\n".join(rows) + "\n")
