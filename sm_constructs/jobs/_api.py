"""The SageMaker rows of the IAM facts table (:mod:`sm_constructs._iam_facts`), where the jobs read them."""

from .._iam_facts import (
    DATA_QUALITY_JOB_DEFINITION,
    ENDPOINT,
    ENDPOINT_CONFIG,
    MODEL,
    MODEL_PACKAGE,
    MODEL_PACKAGE_UPDATE,
    MONITORING_SCHEDULE,
    PROCESSING,
    TRAINING,
    TRANSFORM,
    TUNING,
    SageMakerApi,
)

__all__ = [
    "DATA_QUALITY_JOB_DEFINITION",
    "ENDPOINT",
    "ENDPOINT_CONFIG",
    "MODEL",
    "MODEL_PACKAGE",
    "MODEL_PACKAGE_UPDATE",
    "MONITORING_SCHEDULE",
    "PROCESSING",
    "TRAINING",
    "TRANSFORM",
    "TUNING",
    "SageMakerApi",
]
