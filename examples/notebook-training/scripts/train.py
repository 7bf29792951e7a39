"""Script-mode training: a ridge regression of fuel use on the other columns; alpha is a hyperparameter."""

import argparse
import glob
import json
import os

import joblib
import pandas as pd
from sklearn.linear_model import Ridge

parser = argparse.ArgumentParser()
parser.add_argument("--alpha", type=float, default=1.0)
args = parser.parse_args()

frame = pd.concat(
    pd.read_csv(path) for path in sorted(glob.glob(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "*.csv")))
)
features, target = frame.drop(columns=["fuel"]), frame["fuel"]
model = Ridge(alpha=args.alpha).fit(features, target)
r2 = model.score(features, target)
print(f"train r2: {r2:.4f}")

model_dir = os.environ["SM_MODEL_DIR"]
joblib.dump(model, os.path.join(model_dir, "model.joblib"))
with open(os.path.join(model_dir, "training.json"), "w") as out:
    json.dump({"alpha": args.alpha, "rows": len(frame), "r2": round(r2, 4)}, out)
