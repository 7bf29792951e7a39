"""sm_constructs: secure-by-default AWS CDK constructs for SageMaker's explore → process → train →
evaluate → host → batch-transform workflow.

Foundation: :class:`MlDataBucket`, :class:`SageMakerExecutionRole`, :class:`MlVpc`,
:class:`NotebookInstance`. Jobs: one definition per SageMaker request
(:class:`ProcessingDefinition`, :class:`TrainingDefinition`, :class:`TuningDefinition`,
:class:`ModelDefinition`, :class:`EndpointConfigDefinition`, :class:`TransformDefinition`,
:class:`ModelRegistrationDefinition`) plus :class:`EndpointDeployment`; each gives a Step Functions
task (``.task()``) with its own least-privilege IAM, or a one-step state machine
(``.to_state_machine()``). Workflow: :class:`MlPipeline`.
"""

from ._validation import ConstructValidationError
from .images import ContainerImage, ImageConfig
from .jobs import RETRYABLE_ERRORS, SageMakerDefinition, SageMakerTask, add_default_retry, run_unique_name
from .jobs._common import ClusterConfig, NetworkConfig
from .jobs.hosting import (
    BlueGreenDeployment,
    DataCapture,
    EndpointConfigDefinition,
    EndpointDeployment,
    ModelDefinition,
    ServerlessConfig,
)
from .jobs.processing import ProcessingDefinition, ProcessingInput, ProcessingOutput
from .jobs.registry import ModelPackageGroup, ModelRegistrationDefinition
from .jobs.training import TrainingChannel, TrainingDefinition
from .jobs.transform import DataProcessing, TransformDefinition
from .jobs.tuning import CategoricalRange, ContinuousRange, IntegerRange, TuningDefinition
from .network import MlVpc
from .notebook import LifecycleScript, NotebookInstance
from .pipeline import FanOut, InputField, MlPipeline, QualityGate, S3Trigger
from .roles import SageMakerExecutionRole
from .state_machine import MlStateMachine
from .storage import DataPrefix, MlDataBucket

__all__ = [
    "RETRYABLE_ERRORS",
    "BlueGreenDeployment",
    "CategoricalRange",
    "ClusterConfig",
    "ConstructValidationError",
    "ContainerImage",
    "ContinuousRange",
    "DataCapture",
    "DataPrefix",
    "DataProcessing",
    "EndpointConfigDefinition",
    "EndpointDeployment",
    "FanOut",
    "ImageConfig",
    "InputField",
    "IntegerRange",
    "LifecycleScript",
    "MlDataBucket",
    "MlPipeline",
    "MlStateMachine",
    "MlVpc",
    "ModelDefinition",
    "ModelPackageGroup",
    "ModelRegistrationDefinition",
    "NetworkConfig",
    "NotebookInstance",
    "ProcessingDefinition",
    "ProcessingInput",
    "ProcessingOutput",
    "QualityGate",
    "S3Trigger",
    "SageMakerDefinition",
    "SageMakerExecutionRole",
    "SageMakerTask",
    "ServerlessConfig",
    "TrainingChannel",
    "TrainingDefinition",
    "TransformDefinition",
    "TuningDefinition",
    "add_default_retry",
    "run_unique_name",
]
