"""Deploy and run sm_constructs pipelines on this machine: no AWS account, no Docker.

``python -m sm_constructs.local demo`` (``make demo``) deploys the reference app into the
:class:`Emulator` with the real CDK CLI and runs its pipeline; ``serve`` runs only the emulator,
for ``AWS_ENDPOINT_URL=http://localhost:<port>`` and ``sm-pipeline``. Needs the ``local`` extra
(moto, scikit-learn, pandas, xgboost).
"""

from .emulator import ACCOUNT_ID, Emulator

__all__ = ["ACCOUNT_ID", "Emulator"]
