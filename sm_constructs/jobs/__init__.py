"""SageMaker job definitions and the Step Functions tasks derived from them."""

from .._iam_facts import SageMakerApi
from ._base import (
    RETRYABLE_ERRORS,
    RUN_SUFFIX_CHARS,
    SageMakerDefinition,
    SageMakerTask,
    add_default_retry,
    run_unique_name,
)

__all__ = [
    "RETRYABLE_ERRORS",
    "RUN_SUFFIX_CHARS",
    "SageMakerApi",
    "SageMakerDefinition",
    "SageMakerTask",
    "add_default_retry",
    "run_unique_name",
]
