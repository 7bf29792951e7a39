"""botocore's service models, each parsed once per process.

``botocore.session.get_session()`` makes a new session whose loader parses the service's JSON
model again (SageMaker's is several megabytes); the emulator consults models on every Step
Functions task, so they are read here, once per service.
"""

from __future__ import annotations

from functools import cache

import botocore.session
from botocore.model import ServiceModel

__all__ = ["service_model"]


@cache
def service_model(name: str) -> ServiceModel:
    """botocore's model of the service ``name`` (its endpoint prefix, e.g. ``"sagemaker"``)."""
    return botocore.session.get_session().get_service_model(name)
