"""Bring-your-own featurizer: sessions in, the XGBoost container's CSV layout out (no header; label
first for training and validation, features only for the batch), split by a hash of the session id
so a session stays in its split from run to run."""

import glob
import os
import zlib

import pandas as pd

SPLITS = {"train": 70, "validation": 85, "batch": 100}  # cumulative percentages

paths = sorted(glob.glob("/opt/ml/processing/input/sessions/*.csv"))
sessions = pd.concat((pd.read_csv(p) for p in paths), ignore_index=True)
features = pd.DataFrame(
    {
        "views": sessions["views"],
        "products": sessions["products"],
        "carts": sessions["carts"],
        "minutes": (sessions["seconds"] / 60).round(2),
        "cart_share": (sessions["carts"] / sessions["views"].clip(lower=1)).round(3),
        "hour": pd.to_datetime(sessions["started"]).dt.hour,
    }
)
bucket = sessions["session_id"].map(lambda s: zlib.crc32(s.encode()) % 100)
lower = 0
for split, upper in SPLITS.items():
    rows = (bucket >= lower) & (bucket < upper)
    part = features[rows] if split == "batch" else features[rows].assign(bought=sessions["bought"][rows])
    columns = list(features.columns) if split == "batch" else ["bought", *features.columns]
    os.makedirs(f"/opt/ml/processing/output/{split}", exist_ok=True)
    part[columns].to_csv(f"/opt/ml/processing/output/{split}/{split}.csv", header=False, index=False)
    print(f"{split}: {int(rows.sum())} sessions")
    lower = upper
