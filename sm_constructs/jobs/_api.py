"""The SageMaker rows of the IAM facts table (:mod:`sm_constructs._iam_facts`), where the jobs read them."""

from .._iam_facts import (
    ENDPOINT,
    ENDPOINT_CONFIG,
    MODEL,
    MODEL_PACKAGE,
    MODEL_PACKAGE_UPDATE,
    PROCESSING,
    TRAINING,
    TRANSFORM,
    TUNING,
    SageMakerApi,
)

__all__ = [
    "ENDPOINT",
    "ENDPOINT_CONFIG",
    "MODEL",
    "MODEL_PACKAGE",
    "MODEL_PACKAGE_UPDATE",
    "PROCESSING",
    "TRAINING",
    "TRANSFORM",
    "TUNING",
    "SageMakerApi",
]
