"""A pipeline of any shape: Spark sessionization → a featurizer of our own (a Dockerfile) → spot
training beside a tuning job → the best trial's model → a serverless endpoint beside a batch
transform, as one ``MlPipeline``. No step is given an order: each reads what another writes."""

from aws_cdk import App, CfnOutput, Duration, Stack
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from sm_constructs import (
    ContainerImage,
    ContinuousRange,
    DataPrefix,
    EndpointConfigDefinition,
    EndpointDeployment,
    InputField,
    IntegerRange,
    MlDataBucket,
    MlPipeline,
    ModelDefinition,
    ProcessingDefinition,
    ProcessingInput,
    ProcessingOutput,
    SageMakerExecutionRole,
    ServerlessConfig,
    TrainingChannel,
    TrainingDefinition,
    TransformDefinition,
    TuningDefinition,
)

RUN = sfn.JsonPath.execution_name


class AnyShapeStack(Stack):
    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        data = MlDataBucket(self, "Data")
        role = SageMakerExecutionRole(self, "Role")
        data.grant_read(role, DataPrefix.RAW)
        for prefix in (DataPrefix.PROCESSED, DataPrefix.MODELS, DataPrefix.CHECKPOINTS, DataPrefix.BATCH):
            data.grant_read_write(role, prefix)

        def per_run(prefix: str, rest: str = "/") -> str:
            """``s3://<bucket>/<prefix><execution name><rest>``: each run writes under its own prefix."""
            return sfn.JsonPath.format(f"s3://{{}}/{prefix}{{}}{rest}", data.bucket_name, RUN)

        sessionize = ProcessingDefinition(
            self,
            "Sessionize",
            role=role,
            image=ContainerImage.spark_processing("3.5"),
            code="scripts/sessionize.py",
            inputs=[ProcessingInput("events", sfn.JsonPath.string_at("$.input.eventsUri"))],
            outputs=[ProcessingOutput("sessions", per_run(DataPrefix.PROCESSED, "/sessions/"))],
            name_prefix="shape-sessionize",
        )
        featurize = ProcessingDefinition(
            self,
            "Featurize",
            role=role,
            image=ContainerImage.from_asset("container"),  # a Dockerfile of our own
            entrypoint=["python", "/app/featurize.py"],
            inputs=[ProcessingInput("sessions", sessionize.output_uri("sessions"))],
            outputs=[
                ProcessingOutput(split, per_run(DataPrefix.PROCESSED, f"/{split}/"))
                for split in ("train", "validation", "batch")
            ],
            name_prefix="shape-featurize",
        )
        train = TrainingDefinition(
            self,
            "Train",
            role=role,
            image=ContainerImage.xgboost("1.7-1"),
            # no trailing slash: SageMaker writes <output path>/<job>/output/model.tar.gz
            output_path=per_run(DataPrefix.MODELS, ""),
            channels=[
                TrainingChannel("train", featurize.output_uri("train"), content_type="text/csv"),
                TrainingChannel("validation", featurize.output_uri("validation"), content_type="text/csv"),
            ],
            hyperparameters={"objective": "binary:logistic", "eval_metric": "auc", "num_round": "20"},
            use_spot_instances=True,  # up to 90% cheaper; the job may wait for spare capacity
            max_runtime=Duration.minutes(30),
            max_wait=Duration.hours(2),
            checkpoint_s3_uri=per_run(DataPrefix.CHECKPOINTS),
            name_prefix="shape-train",
        )
        # Its trials are spot training jobs like the template's; it reads the features, not the
        # training's result, so the two run side by side.
        tune = TuningDefinition(
            self,
            "Tune",
            training=train,
            objective_metric="validation:auc",
            ranges=[IntegerRange("max_depth", 2, 5), ContinuousRange("eta", 0.05, 0.5, scaling="Logarithmic")],
            strategy="Random",
            max_training_jobs=2,
            max_parallel_jobs=2,
            name_prefix="shape-tune",
        )
        model = ModelDefinition(self, "Model", role=role, training=tune, name_prefix="shape-model")
        serverless = EndpointConfigDefinition(
            self,
            "ServerlessConfig",
            model=model,
            serverless=ServerlessConfig(memory_size_mb=2048, max_concurrency=2),
            name_prefix="shape-serverless",
        )
        endpoint = EndpointDeployment(self, "Endpoint", endpoint_name="shape-buyers", config=serverless)
        score = TransformDefinition(
            self,
            "Score",
            model=model,
            input_uri=featurize.output_uri("batch"),
            output_path=per_run(DataPrefix.BATCH),
            name_prefix="shape-score",
        )
        pipeline = MlPipeline(
            self,
            "Pipeline",
            steps=[sessionize, featurize, train, tune, model, serverless, endpoint, score],
            # checked before any step runs; a run without it reads the default
            inputs=[InputField("eventsUri", kind="s3_uri", default=data.s3_uri(f"{DataPrefix.RAW}events/"))],
            state_machine_name="any-shape",
        )
        CfnOutput(self, "PipelineArn", value=pipeline.state_machine_arn)
        CfnOutput(self, "EndpointName", value=endpoint.endpoint_name)
        CfnOutput(self, "DataBucketName", value=data.bucket_name)


app = App()
AnyShapeStack(app, "AnyShape")
app.synth()
