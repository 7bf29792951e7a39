"""The pack's rules, one per module; :data:`RULES` is the pack."""

from .data_capture_kms import RULE as DATA_CAPTURE_KMS
from .domain_idle_shutdown import RULE as DOMAIN_IDLE_SHUTDOWN
from .domain_kms import RULE as DOMAIN_KMS
from .domain_vpc_only import RULE as DOMAIN_VPC_ONLY
from .endpoint_config_kms import RULE as ENDPOINT_CONFIG_KMS
from .job_catch import RULE as JOB_CATCH
from .job_inter_container_encryption import RULE as JOB_INTER_CONTAINER_ENCRYPTION
from .job_max_runtime import RULE as JOB_MAX_RUNTIME
from .job_network_isolation import RULE as JOB_NETWORK_ISOLATION
from .job_output_kms import RULE as JOB_OUTPUT_KMS
from .job_spot_checkpoints import RULE as JOB_SPOT_CHECKPOINTS
from .job_sync import RULE as JOB_SYNC
from .job_volume_kms import RULE as JOB_VOLUME_KMS
from .job_vpc_config import RULE as JOB_VPC_CONFIG
from .model_network_isolation import RULE as MODEL_NETWORK_ISOLATION
from .notebook_idle_stop import RULE as NOTEBOOK_IDLE_STOP
from .notebook_imdsv2 import RULE as NOTEBOOK_IMDSV2
from .notebook_kms import RULE as NOTEBOOK_KMS
from .notebook_no_direct_internet import RULE as NOTEBOOK_NO_DIRECT_INTERNET
from .notebook_no_root import RULE as NOTEBOOK_NO_ROOT
from .state_machine_cmk import RULE as STATE_MACHINE_CMK
from .state_machine_logging_all import RULE as STATE_MACHINE_LOGGING_ALL
from .state_machine_readable import RULE as STATE_MACHINE_READABLE
from .task_retry_throttling import RULE as TASK_RETRY_THROTTLING
from .unique_job_name import RULE as UNIQUE_JOB_NAME

#: Every rule of SageMakerChecks, in the order of the README's table.
RULES = (
    JOB_VOLUME_KMS,
    JOB_OUTPUT_KMS,
    JOB_NETWORK_ISOLATION,
    JOB_INTER_CONTAINER_ENCRYPTION,
    JOB_VPC_CONFIG,
    JOB_MAX_RUNTIME,
    JOB_SPOT_CHECKPOINTS,
    JOB_SYNC,
    TASK_RETRY_THROTTLING,
    JOB_CATCH,
    UNIQUE_JOB_NAME,
    ENDPOINT_CONFIG_KMS,
    DATA_CAPTURE_KMS,
    MODEL_NETWORK_ISOLATION,
    NOTEBOOK_NO_ROOT,
    NOTEBOOK_NO_DIRECT_INTERNET,
    NOTEBOOK_IMDSV2,
    NOTEBOOK_KMS,
    NOTEBOOK_IDLE_STOP,
    DOMAIN_VPC_ONLY,
    DOMAIN_KMS,
    DOMAIN_IDLE_SHUTDOWN,
    STATE_MACHINE_LOGGING_ALL,
    STATE_MACHINE_CMK,
    STATE_MACHINE_READABLE,
)

__all__ = ["RULES"]
