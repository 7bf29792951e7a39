"""Deploy and run sm_constructs pipelines on this machine: no AWS account, no Docker.

``sm-local deploy`` / ``run`` / ``destroy`` / ``reset`` (the console script, or ``python -m
sm_constructs.local``) run any CDK app directory in the :class:`Emulator` with the app's CDK CLI;
``sm-local demo`` (``make demo``) deploys the reference app and runs its pipeline; ``serve`` runs
only the emulator, for ``AWS_ENDPOINT_URL=http://localhost:<port>`` and ``sm-pipeline``. Needs the
``local`` extra (moto, numpy, pandas, scikit-learn, xgboost, pyspark).
"""

from .server import ACCOUNT_ID, Emulator

__all__ = ["ACCOUNT_ID", "Emulator"]
