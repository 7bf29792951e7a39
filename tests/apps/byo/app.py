"""A CDK app of its own (not the reference app): featurize (a bring-your-own container) → split (Spark) → hyperparameter tuning → model of the best
trial → endpoint ‖ batch transform. Knobs for a change between deployments come from the context."""

from aws_cdk import App, Stack
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from sm_constructs import (
    CategoricalRange,
    ContainerImage,
    ContinuousRange,
    DataPrefix,
    EndpointConfigDefinition,
    EndpointDeployment,
    IntegerRange,
    MlDataBucket,
    MlPipeline,
    ModelDefinition,
    ProcessingDefinition,
    ProcessingInput,
    ProcessingOutput,
    SageMakerExecutionRole,
    TrainingChannel,
    TrainingDefinition,
    TransformDefinition,
    TuningDefinition,
)

RUN = sfn.JsonPath.execution_name


class ByoStack(Stack):
    def __init__(self, scope: Construct, id: str, *, trials: int, strategy: str) -> None:
        super().__init__(scope, id)
        data = MlDataBucket(self, "Data")
        role = SageMakerExecutionRole(self, "Role")
        data.grant_read(role, DataPrefix.RAW)
        for prefix in (DataPrefix.PROCESSED, DataPrefix.MODELS, DataPrefix.BATCH):
            data.grant_read_write(role, prefix)

        def uri(prefix: str, name: str = "") -> str:
            return sfn.JsonPath.format(f"s3://{{}}/{prefix}{{}}/{name}", data.bucket_name, RUN)

        featurize = ProcessingDefinition(
            self,
            "Featurize",
            role=role,
            image=ContainerImage.from_asset("container"),  # a Dockerfile of our own
            entrypoint=["python", "/app/featurize.py"],
            inputs=[ProcessingInput("raw", data.s3_uri(DataPrefix.RAW))],
            outputs=[ProcessingOutput("featured", uri(DataPrefix.PROCESSED, "featured/"))],
            name_prefix="byo-featurize",
        )
        split = ProcessingDefinition(
            self,
            "Split",
            role=role,
            image=ContainerImage.spark_processing("3.5"),
            code="scripts/split.py",
            arguments=["--input", "/opt/ml/processing/input/raw", "--output", "/opt/ml/processing/output"],
            inputs=[ProcessingInput("raw", uri(DataPrefix.PROCESSED, "featured/"))],
            outputs=[ProcessingOutput(s, uri(DataPrefix.PROCESSED, f"{s}/")) for s in ("train", "validation", "batch")],
            name_prefix="byo-split",
        )
        template = TrainingDefinition(
            self,
            "TrainTemplate",
            role=role,
            image=ContainerImage.xgboost("1.7-1"),
            # no trailing slash: SageMaker writes <output path>/<job>/output/model.tar.gz
            output_path=sfn.JsonPath.format(f"s3://{{}}/{DataPrefix.MODELS}{{}}", data.bucket_name, RUN),
            channels=[
                TrainingChannel("train", uri(DataPrefix.PROCESSED, "train/"), content_type="text/csv"),
                TrainingChannel("validation", uri(DataPrefix.PROCESSED, "validation/"), content_type="text/csv"),
            ],
            hyperparameters={"objective": "binary:logistic", "eval_metric": "auc", "num_round": "20"},
            name_prefix="byo-train",
        )
        tune = TuningDefinition(
            self,
            "Tune",
            training=template,
            objective_metric="validation:auc",
            ranges=[CategoricalRange("max_depth", ["2", "3", "4"])]
            if strategy == "Grid"
            else [IntegerRange("max_depth", 2, 5), ContinuousRange("eta", 0.05, 0.5, scaling="Logarithmic")],
            strategy=strategy,  # type: ignore[arg-type]
            max_training_jobs=trials,
            max_parallel_jobs=2,
            name_prefix="byo-tune",
        )
        model = ModelDefinition(
            self,
            "Model",
            role=role,
            training=tune,  # the best trial's artifact and the image it trained with
            name_prefix="byo-model",
        )
        config = EndpointConfigDefinition(
            self,
            "EndpointConfig",
            model=model,
            instance_type="ml.m5.large",
            name_prefix="byo-config",
        )
        deploy = EndpointDeployment(
            self,
            "Deploy",
            endpoint_name="byo-scores",
            config=config,
        )
        transform = TransformDefinition(
            self,
            "BatchTransform",
            model=model,
            input_uri=uri(DataPrefix.PROCESSED, "batch/"),
            output_path=uri(DataPrefix.BATCH),
            name_prefix="byo-transform",
        )
        MlPipeline(
            self,
            "Pipeline",
            preprocessing=[featurize, split],
            training=tune,
            model=model,
            deployment=[config, deploy],
            batch_transform=transform,
            state_machine_name="byo-scores",
        )


app = App()
ByoStack(
    app,
    "Byo",
    trials=int(app.node.try_get_context("trials") or 2),
    strategy=app.node.try_get_context("strategy") or "Random",
)
app.synth()
