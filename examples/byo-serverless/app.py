"""Training in a container of our own (a Dockerfile in ``container/``), tuned over its regularisation,
then the best trial's model served by a serverless endpoint on the scikit-learn image."""

from aws_cdk import App, CfnOutput, Stack
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from sm_constructs import (
    ContainerImage,
    ContinuousRange,
    DataPrefix,
    EndpointConfigDefinition,
    EndpointDeployment,
    MlDataBucket,
    MlPipeline,
    ModelDefinition,
    SageMakerExecutionRole,
    ServerlessConfig,
    TrainingChannel,
    TrainingDefinition,
    TuningDefinition,
)


class ByoServerlessStack(Stack):
    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        data = MlDataBucket(self, "Data")
        role = SageMakerExecutionRole(self, "Role")
        data.grant_read(role, DataPrefix.RAW)
        data.grant_read_write(role, DataPrefix.MODELS)

        trainer = TrainingDefinition(
            self,
            "Train",
            role=role,
            image=ContainerImage.from_asset("container"),
            output_path=sfn.JsonPath.format(
                f"s3://{{}}/{DataPrefix.MODELS}{{}}", data.bucket_name, sfn.JsonPath.execution_name
            ),
            channels=[
                TrainingChannel("train", data.s3_uri(f"{DataPrefix.RAW}train/"), content_type="text/csv"),
                TrainingChannel("validation", data.s3_uri(f"{DataPrefix.RAW}validation/"), content_type="text/csv"),
            ],
            hyperparameters={"fit_intercept": "true"},
            metric_definitions={"validation:rmse": r"validation rmse: ([0-9.]+)"},
            name_prefix="houses-train",
        )
        tune = TuningDefinition(
            self,
            "Tune",
            training=trainer,
            objective_metric="validation:rmse",
            objective_type="Minimize",
            ranges=[ContinuousRange("alpha", 0.01, 100.0, scaling="Logarithmic")],
            strategy="Random",
            max_training_jobs=4,
            max_parallel_jobs=2,
            name_prefix="houses-tune",
        )
        # The trained estimator is served by the scikit-learn image with the model's own code/inference.py.
        model = ModelDefinition(
            self,
            "Model",
            role=role,
            image=ContainerImage.sklearn("1.2-1"),
            model_data_url=tune.model_data_url,
            name_prefix="houses-model",
        )
        config = EndpointConfigDefinition(
            self,
            "ServerlessConfig",
            model=model,
            serverless=ServerlessConfig(memory_size_mb=2048, max_concurrency=2),
            name_prefix="houses-serverless",
        )
        endpoint = EndpointDeployment(self, "Endpoint", endpoint_name="houses-prices", config=config)
        pipeline = MlPipeline(
            self,
            "Pipeline",
            training=tune,
            model=model,
            deployment=[config, endpoint],
            state_machine_name="houses-prices",
        )
        CfnOutput(self, "PipelineArn", value=pipeline.state_machine_arn)
        CfnOutput(self, "EndpointName", value=endpoint.endpoint_name)
        CfnOutput(self, "DataBucketName", value=data.bucket_name)


app = App()
ByoServerlessStack(app, "ByoServerless")
app.synth()
