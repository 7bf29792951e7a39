"""Our training image's entry point (SageMaker starts it as ``<image> train``): a ridge regression of
price on the other columns, scored on the validation channel; the model ships its inference code."""

import glob
import json
import os
import shutil

import joblib
import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge


def read(channel: str) -> pd.DataFrame:
    return pd.concat(pd.read_csv(p) for p in sorted(glob.glob(f"/opt/ml/input/data/{channel}/*.csv")))


with open("/opt/ml/input/config/hyperparameters.json") as f:
    hyperparameters = json.load(f)
alpha = float(hyperparameters.get("alpha", 1.0))
fit_intercept = hyperparameters.get("fit_intercept", "true") == "true"

train, validation = read("train"), read("validation")
model = Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(train.drop(columns=["price"]), train["price"])
errors = model.predict(validation.drop(columns=["price"])) - validation["price"]
print(f"alpha {alpha:.4f}")
print(f"validation rmse: {float(np.sqrt(np.mean(errors**2))):.4f}")

joblib.dump(model, "/opt/ml/model/model.joblib")
os.makedirs("/opt/ml/model/code", exist_ok=True)
shutil.copy("/opt/program/inference.py", "/opt/ml/model/code/inference.py")
