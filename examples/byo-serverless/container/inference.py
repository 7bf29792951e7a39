"""Inference handler for the scikit-learn serving image: CSV rows in, prices out (thousands)."""

import os

import joblib


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def predict_fn(data, model):
    return model.predict(data).round(1)
