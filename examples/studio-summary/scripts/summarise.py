"""Summarises every CSV file under the processing input: rows and the mean of each numeric column."""

import glob
import json
import os

import pandas as pd

summary = {}
for path in sorted(glob.glob("/opt/ml/processing/input/raw/*.csv")):
    frame = pd.read_csv(path)
    summary[os.path.basename(path)] = {
        "rows": len(frame),
        "mean": frame.mean(numeric_only=True).round(3).to_dict(),
    }
os.makedirs("/opt/ml/processing/output/summary", exist_ok=True)
with open("/opt/ml/processing/output/summary/summary.json", "w") as out:
    json.dump(summary, out, indent=2)
print(json.dumps(summary))
