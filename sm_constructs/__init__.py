"""sm_constructs: secure-by-default AWS CDK constructs for SageMaker's explore → process → train →
evaluate → host → batch-transform workflow.

Foundation: :class:`MlDataBucket`, :class:`SageMakerExecutionRole`, :class:`MlVpc`,
:class:`NotebookInstance`, or Studio (:class:`StudioDomain`, :class:`StudioUserProfile`,
:class:`StudioSharedSpace`). Jobs: one definition per SageMaker request
(:class:`ProcessingDefinition`, :class:`TrainingDefinition`, :class:`TuningDefinition`,
:class:`ModelDefinition`, :class:`EndpointConfigDefinition`, :class:`TransformDefinition`,
:class:`ModelRegistrationDefinition`) plus :class:`EndpointDeployment`; each gives a Step Functions
task (``.task()``) with its own least-privilege IAM, or a one-step state machine
(``.to_state_machine()``). Workflow: :class:`MlPipeline`. Compliance: :class:`SageMakerChecks`, a
cdk-nag pack that checks SageMaker jobs inside any state machine (needs the ``nag`` extra).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._validation import ConstructValidationError

    # release: approval, deployment from the registry, autoscaling, asynchronous inference
    from .deployment import ModelDeployment
    from .images import ContainerImage, ImageConfig
    from .jobs import RETRYABLE_ERRORS, SageMakerDefinition, SageMakerTask, add_default_retry, run_unique_name
    from .jobs._common import ClusterConfig, NetworkConfig
    from .jobs.autoscaling import EndpointAutoscaling
    from .jobs.hosting import (
        AsyncInferenceConfig,
        BlueGreenDeployment,
        DataCapture,
        EndpointConfigDefinition,
        EndpointDeployment,
        ModelDefinition,
        ServerlessConfig,
    )
    from .jobs.monitoring import (
        DataQualityBaselineDefinition,
        DataQualityJobDefinition,
        DataQualityMonitor,
        MonitoringScheduleDefinition,
    )
    from .jobs.processing import ProcessingDefinition, ProcessingInput, ProcessingOutput
    from .jobs.refs import IEndpointConfigRef, IEndpointRef, IModelPackageGroup, IModelPackageVersion, IModelRef
    from .jobs.registry import (
        ModelApprovalDefinition,
        ModelPackageGroup,
        ModelPackageVersion,
        ModelRegistrationDefinition,
    )
    from .jobs.training import TrainingChannel, TrainingDefinition
    from .jobs.transform import DataProcessing, TransformDefinition
    from .jobs.tuning import CategoricalRange, ContinuousRange, IntegerRange, TuningDefinition
    from .nag import SageMakerChecks
    from .network import MlVpc
    from .notebook import INotebookInstance, LifecycleScript, NotebookInstance
    from .pipeline import FanOut, InputField, MlPipeline, QualityGate, S3Trigger
    from .roles import SageMakerExecutionRole
    from .state_machine import MlStateMachine
    from .storage import DataPrefix, MlDataBucket
    from .studio import IStudioDomain, StudioDomain, StudioSharedSpace, StudioUserProfile

# Public names load their module (and aws-cdk-lib with it) on first use, so the command-line tools
# (``sm-pipeline``, ``python -m sm_constructs.local``) start without the jsii runtime.
_EXPORTS = {
    "BlueGreenDeployment": ".jobs.hosting",
    "CategoricalRange": ".jobs.tuning",
    "ClusterConfig": ".jobs._common",
    "ConstructValidationError": "._validation",
    "ContainerImage": ".images",
    "ContinuousRange": ".jobs.tuning",
    "DataCapture": ".jobs.hosting",
    "DataPrefix": ".storage",
    "DataQualityBaselineDefinition": ".jobs.monitoring",
    "DataQualityJobDefinition": ".jobs.monitoring",
    "DataQualityMonitor": ".jobs.monitoring",
    "MonitoringScheduleDefinition": ".jobs.monitoring",
    "DataProcessing": ".jobs.transform",
    "EndpointConfigDefinition": ".jobs.hosting",
    "EndpointDeployment": ".jobs.hosting",
    "FanOut": ".pipeline",
    "ImageConfig": ".images",
    "InputField": ".pipeline",
    "IntegerRange": ".jobs.tuning",
    "LifecycleScript": ".notebook",
    "MlDataBucket": ".storage",
    "MlPipeline": ".pipeline",
    "MlStateMachine": ".state_machine",
    "MlVpc": ".network",
    "ModelDefinition": ".jobs.hosting",
    "ModelPackageGroup": ".jobs.registry",
    "ModelRegistrationDefinition": ".jobs.registry",
    "NetworkConfig": ".jobs._common",
    "NotebookInstance": ".notebook",
    "ProcessingDefinition": ".jobs.processing",
    "ProcessingInput": ".jobs.processing",
    "ProcessingOutput": ".jobs.processing",
    "QualityGate": ".pipeline",
    "RETRYABLE_ERRORS": ".jobs",
    "S3Trigger": ".pipeline",
    "SageMakerChecks": ".nag",
    "SageMakerDefinition": ".jobs",
    "SageMakerExecutionRole": ".roles",
    "SageMakerTask": ".jobs",
    "ServerlessConfig": ".jobs.hosting",
    "StudioDomain": ".studio",
    "StudioSharedSpace": ".studio",
    "StudioUserProfile": ".studio",
    "TrainingChannel": ".jobs.training",
    "TrainingDefinition": ".jobs.training",
    "TransformDefinition": ".jobs.transform",
    "TuningDefinition": ".jobs.tuning",
    "add_default_retry": ".jobs",
    "run_unique_name": ".jobs",
    "IEndpointConfigRef": ".jobs.refs",
    "IEndpointRef": ".jobs.refs",
    "IModelPackageGroup": ".jobs.refs",
    "IModelRef": ".jobs.refs",
    "INotebookInstance": ".notebook",
    "IStudioDomain": ".studio",
    # release: approval, deployment from the registry, autoscaling, asynchronous inference
    "AsyncInferenceConfig": ".jobs.hosting",
    "EndpointAutoscaling": ".jobs.autoscaling",
    "IModelPackageVersion": ".jobs.refs",
    "ModelApprovalDefinition": ".jobs.registry",
    "ModelDeployment": ".deployment",
    "ModelPackageVersion": ".jobs.registry",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "RETRYABLE_ERRORS",
    "AsyncInferenceConfig",
    "BlueGreenDeployment",
    "CategoricalRange",
    "ClusterConfig",
    "ConstructValidationError",
    "ContainerImage",
    "ContinuousRange",
    "DataCapture",
    "DataPrefix",
    "DataProcessing",
    "DataQualityBaselineDefinition",
    "DataQualityJobDefinition",
    "DataQualityMonitor",
    "EndpointAutoscaling",
    "EndpointConfigDefinition",
    "EndpointDeployment",
    "FanOut",
    "IEndpointConfigRef",
    "IEndpointRef",
    "IModelPackageGroup",
    "IModelPackageVersion",
    "IModelRef",
    "INotebookInstance",
    "IStudioDomain",
    "ImageConfig",
    "InputField",
    "IntegerRange",
    "LifecycleScript",
    "MlDataBucket",
    "MlPipeline",
    "MlStateMachine",
    "MlVpc",
    "ModelApprovalDefinition",
    "ModelDefinition",
    "ModelDeployment",
    "ModelPackageGroup",
    "ModelPackageVersion",
    "ModelRegistrationDefinition",
    "MonitoringScheduleDefinition",
    "NetworkConfig",
    "NotebookInstance",
    "ProcessingDefinition",
    "ProcessingInput",
    "ProcessingOutput",
    "QualityGate",
    "S3Trigger",
    "SageMakerChecks",
    "SageMakerDefinition",
    "SageMakerExecutionRole",
    "SageMakerTask",
    "ServerlessConfig",
    "StudioDomain",
    "StudioSharedSpace",
    "StudioUserProfile",
    "TrainingChannel",
    "TrainingDefinition",
    "TransformDefinition",
    "TuningDefinition",
    "add_default_retry",
    "run_unique_name",
]

# ---- step caching -----------------------------------------------------------------------------
if TYPE_CHECKING:
    from .jobs.cache import CachedStep, StepCache
_EXPORTS.update({"CachedStep": ".jobs.cache", "StepCache": ".jobs.cache"})
__all__ += ["CachedStep", "StepCache"]

# ---- releases across accounts -----------------------------------------------------------------
if TYPE_CHECKING:
    from .release import PRODUCTION_GATE, ReleaseAccounts, ReleaseSource, ReleaseTarget, SmokeTest, StageEnvironment
_EXPORTS.update(
    dict.fromkeys(
        ("PRODUCTION_GATE", "ReleaseAccounts", "ReleaseSource", "ReleaseTarget", "SmokeTest", "StageEnvironment"),
        ".release",
    )
)
__all__ += ["PRODUCTION_GATE", "ReleaseAccounts", "ReleaseSource", "ReleaseTarget", "SmokeTest", "StageEnvironment"]

# ---- cost per run -----------------------------------------------------------------------------
if TYPE_CHECKING:
    from .cost import JobCost, PriceTable
_EXPORTS.update({"JobCost": ".cost", "PriceTable": ".cost"})
__all__ += ["JobCost", "PriceTable"]

# ---- pipelines of any shape: the graph's steps ----------------------------------------------------
if TYPE_CHECKING:
    from .graph import Condition, FailStep, Metric, Report, Step, all_of, any_of, not_
_EXPORTS.update(
    {name: ".graph" for name in ("Condition", "FailStep", "Metric", "Report", "Step", "all_of", "any_of", "not_")}
)
__all__ += ["Condition", "FailStep", "Metric", "Report", "Step", "all_of", "any_of", "not_"]

# ---- provenance: the run manifest ----------------------------------------------------------------
if TYPE_CHECKING:
    from .manifest import RunManifest
_EXPORTS.update({"RunManifest": ".manifest"})
__all__ += ["RunManifest"]
