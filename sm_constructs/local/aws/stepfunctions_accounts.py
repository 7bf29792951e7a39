"""A state machine's service calls act in the state machine's own account, as its role.

Step Functions makes a task's calls with the credentials of the state machine's role (or the task's
``Credentials.RoleArn``): "Step Functions assumes the IAM role ... to make the calls"
(Step Functions Developer Guide, "How Step Functions works with IAM"). The calls therefore act in
the role's account. moto's interpreter makes every call with the access key ``ak``
(``moto.stepfunctions.parser.asl.utils.boto_client.boto_client_for``), which moto maps to its
default account, so a state machine deployed into another emulated account would read and create
resources in the default one.

:func:`boto_client_for` replaces moto's: a role of the default account keeps ``ak``; a role of
another account gets credentials from STS ``AssumeRole`` of that role (moto maps the access key to
the role's account). moto's modules import the function by name, so each binding is replaced
(:data:`IMPORTERS`; a test checks the list against the installed moto). What the role may do is the
IAM enforcement's decision, made before each task's call with the same role.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["IMPORTERS", "boto_client_for", "install"]

_BOTO_CLIENT = "moto.stepfunctions.parser.asl.utils.boto_client"
_EXEC = "moto.stepfunctions.parser.asl.component.state.exec"
#: moto's modules that bind ``boto_client_for`` by name (``from ...boto_client import boto_client_for``)
IMPORTERS = (
    _BOTO_CLIENT,
    f"{_EXEC}.state_map.result_writer.resource_eval.resource_eval_s3",
    f"{_EXEC}.state_map.item_reader.eval.resource_eval_s3",
    f"{_EXEC}.state_task.lambda_eval_utils",
    *(
        f"{_EXEC}.state_task.service.state_task_service_{name}"
        for name in ("unsupported", "glue", "events", "ecs", "sqs", "sfn", "dynamodb", "batch", "sns", "aws_sdk")
    ),
)
#: role ARN → (access key, secret, session token) of its assumed-role session
_SESSIONS: dict[str, tuple[str, str, str]] = {}
_LOCK = threading.Lock()
_original: list[Any] = []


def _role_account(state_credentials: Any) -> tuple[str, str] | None:
    """(role ARN, account) of the task's role, when it is an IAM role ARN."""
    role = str(getattr(state_credentials, "role_arn", "") or "")
    parts = role.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or not parts[4].isdigit():
        return None
    return role, parts[4]


def _session(role_arn: str, region: str) -> tuple[str, str, str]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sts.models import sts_backends
    from moto.utilities.utils import get_partition

    with _LOCK:
        if role_arn not in _SESSIONS:
            assumed = sts_backends[DEFAULT_ACCOUNT_ID][get_partition(region)].assume_role(
                region_name=region,
                role_session_name="states",
                role_arn=role_arn,
                policy="",
                duration=3600,
                external_id="",
            )
            _SESSIONS[role_arn] = (assumed.access_key_id, assumed.secret_access_key, assumed.session_token)
        return _SESSIONS[role_arn]


def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """moto's client factory, acting in the account of ``state_credentials``' role."""
    from moto.core import DEFAULT_ACCOUNT_ID

    found = _role_account(state_credentials)
    if found is None or found[1] == DEFAULT_ACCOUNT_ID:
        # moto's own: the access key "ak" of the default account
        return _original[0](region=region, service=service, state_credentials=state_credentials)
    from botocore.config import Config
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
    from moto.stepfunctions.parser.asl.utils import boto_client

    key, secret, token = _session(found[0], region)
    # moto's client options (boto_client.py), with the role's session; through the boto3 that module
    # uses (stepfunctions_reuse reuses its clients)
    endpoint = {} if botocore_stubber.enabled else {"endpoint_url": f"http://localhost:{moto_server_port()}"}
    return boto_client.boto3.client(
        service_name=service,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(
            parameter_validation=False,
            retries={"max_attempts": 0, "total_max_attempts": 1},
            connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
            read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
        ),
        **endpoint,
    )


def install() -> None:
    import importlib

    from .. import patches

    current = importlib.import_module(_BOTO_CLIENT).boto_client_for
    if current is not boto_client_for:  # installed again: moto's stays the original
        _original[:] = [current]
    why = "a state machine's calls act in its role's account (moto's interpreter calls with the default account's key)"
    for module in IMPORTERS:
        patches.replace(module, "boto_client_for", boto_client_for, why=why)
    patches.apply()
