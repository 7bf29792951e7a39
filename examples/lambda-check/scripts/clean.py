"""Drops order rows with a missing field or a non-positive quantity; writes the rest and a report."""

import glob
import json
import os

import pandas as pd

frame = pd.concat(pd.read_csv(p) for p in sorted(glob.glob("/opt/ml/processing/input/raw/*.csv")))
kept = frame.dropna()
kept = kept[kept["quantity"] > 0]
os.makedirs("/opt/ml/processing/output/cleaned", exist_ok=True)
kept.to_csv("/opt/ml/processing/output/cleaned/orders.csv", index=False)
report = {"rows_in": len(frame), "rows_out": len(kept)}
with open("/opt/ml/processing/output/cleaned/report.json", "w") as out:
    json.dump(report, out)
print(json.dumps(report))
