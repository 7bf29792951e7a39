"""Bring-your-own container: adds a product feature to every raw CSV file."""

import glob
import os

import pandas as pd

name = os.environ["FEATURE_NAME"]
os.makedirs("/opt/ml/processing/output/featured", exist_ok=True)
for path in sorted(glob.glob("/opt/ml/processing/input/raw/*.csv")):
    data = pd.read_csv(path)
    data.insert(len(data.columns) - 1, name, data["f1"] * data["f2"])
    data.to_csv(f"/opt/ml/processing/output/featured/{os.path.basename(path)}", index=False)
    print(f"{os.path.basename(path)}: {len(data)} rows, feature {name}")
