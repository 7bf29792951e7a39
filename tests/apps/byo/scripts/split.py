"""Splits raw CSV (header, label column `label`) into the XGBoost container's layout: label first, no header."""

import glob
import os

import pandas as pd

frames = [pd.read_csv(path) for path in sorted(glob.glob("/opt/ml/processing/input/raw/*.csv"))]
data = pd.concat(frames).sample(frac=1.0, random_state=0)
columns = ["label", *[c for c in data.columns if c != "label"]]
cut, end = int(len(data) * 0.7), int(len(data) * 0.85)
for name, part in (("train", data[:cut]), ("validation", data[cut:end])):
    os.makedirs(f"/opt/ml/processing/output/{name}", exist_ok=True)
    part[columns].to_csv(f"/opt/ml/processing/output/{name}/{name}.csv", header=False, index=False)
os.makedirs("/opt/ml/processing/output/batch", exist_ok=True)
data[end:][columns[1:]].to_csv("/opt/ml/processing/output/batch/batch.csv", header=False, index=False)
print(f"split {len(data)} rows")
