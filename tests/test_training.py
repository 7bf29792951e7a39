import gzip
import io
import tarfile

import pytest
from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match
from sfn_requests import assert_all_requests_valid, state_named
from support import add_nag_packs, cfn_lint, new_app, new_stack, template_of

from sm_constructs._validation import ConstructValidationError
from sm_constructs.images import ContainerImage
from sm_constructs.jobs.training import TrainingChannel, TrainingDefinition, source_archive
from sm_constructs.jobs.tuning import CategoricalRange, ContinuousRange, IntegerRange, TuningDefinition
from sm_constructs.roles import SageMakerExecutionRole
from sm_constructs.storage import MlDataBucket


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    folder = tmp_path_factory.mktemp("src")
    (folder / "train.py").write_text("print('train')\n")
    (folder / "util.py").write_text("X = 1\n")
    return folder


@pytest.fixture(scope="module")
def synthesized(source):
    app = new_app()
    stack = new_stack(app)
    data = MlDataBucket(stack, "Data")
    role = SageMakerExecutionRole(stack, "Exec")
    xgb = TrainingDefinition(
        stack,
        "Train",
        role=role,
        output_path=data.s3_uri("models/"),
        channels=[
            TrainingChannel("train", sfn.JsonPath.string_at("$.steps.Prepare.Outputs[0]"), content_type="text/csv"),
            TrainingChannel("validation", data.s3_uri("processed/validation/"), content_type="text/csv"),
        ],
        hyperparameters={"objective": "binary:logistic", "num_round": 50, "eta": sfn.JsonPath.string_at("$.input.eta")},
        use_spot_instances=True,
        max_wait=Duration.hours(3),
        checkpoint_s3_uri=data.s3_uri("checkpoints/"),
        output_kms_key=data.encryption_key,
        name_prefix="churn-train",
    )
    xgb.to_state_machine()
    script = TrainingDefinition(
        stack,
        "ScriptTrain",
        role=role,
        output_path=data.s3_uri("models/"),
        image=ContainerImage.sklearn("1.2-1"),
        entry_point=source / "train.py",
        metric_definitions={"accuracy": r"accuracy=([0-9\.]+)"},
        hyperparameters=None,
    )
    script.to_state_machine()
    tune = TuningDefinition(
        stack,
        "Tune",
        training=xgb,
        objective_metric="validation:auc",
        ranges=[IntegerRange("max_depth", 3, 9), ContinuousRange("alpha", 0.001, 1.0, scaling="Logarithmic")],
        name_prefix="churn-tune",
    )
    tune.to_state_machine()
    add_nag_packs(app)
    app.synth()
    return stack, template_of(stack)


def _state(template, name):
    return state_named(template.to_json(), name)


def test_requests_valid(synthesized):
    _, template = synthesized
    ops = [r.operation.name for r in assert_all_requests_valid(template.to_json(), expect_at_least=3)]
    assert sorted(ops) == ["CreateHyperParameterTuningJob", "CreateTrainingJob", "CreateTrainingJob"]


def test_xgboost_spot_training(synthesized):
    _, template = synthesized
    state = _state(template, "Train")
    p = state["Parameters"]
    assert state["Resource"].endswith(":states:::sagemaker:createTrainingJob.sync")
    assert p["EnableManagedSpotTraining"] is True
    assert p["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 10800}
    assert "CheckpointConfig" in p
    assert p["HyperParameters"]["num_round"] == "50" and p["HyperParameters"]["eta.$"] == "$.input.eta"
    assert p["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri.$"] == "$.steps.Prepare.Outputs[0]"
    assert p["InputDataConfig"][0]["ContentType"] == "text/csv"
    assert state["TimeoutSeconds"] == 10800 + 3600
    assert state["ResultSelector"]["ModelArtifacts.$"] == "$.ModelArtifacts.S3ModelArtifacts"
    assert "FinalMetrics.$" in state["ResultSelector"]


def test_script_mode(synthesized):
    _, template = synthesized
    p = _state(template, "ScriptTrain")["Parameters"]
    assert p["HyperParameters"]["sagemaker_program"] == "train.py"
    assert "sagemaker_submit_directory" in p["HyperParameters"]
    assert p["AlgorithmSpecification"]["MetricDefinitions"] == [{"Name": "accuracy", "Regex": r"accuracy=([0-9\.]+)"}]


def test_tuning_carries_best_model_uri(synthesized):
    _, template = synthesized
    state = _state(template, "Tune")
    p = state["Parameters"]
    assert p["HyperParameterTuningJobName.$"].startswith("States.Format('{}-{}', 'churn-tune'")
    assert p["TrainingJobDefinition"]["StaticHyperParameters"]["objective"] == "binary:logistic"
    assert [r["Name"] for r in p["HyperParameterTuningJobConfig"]["ParameterRanges"]["IntegerParameterRanges"]] == [
        "max_depth"
    ]
    sel = state["ResultSelector"]
    assert sel["BestTrainingJobName.$"] == "$.BestTrainingJob.TrainingJobName"
    assert "output/model.tar.gz" in sel["ModelArtifacts.$"]


def _statement_with(actions, resource_tail):
    return Match.object_like(
        {
            "Action": Match.array_with(actions),
            "Resource": {"Fn::Join": ["", Match.array_with([resource_tail])]},
        }
    )


def test_tuning_iam_is_what_step_functions_documents(synthesized):
    """Tuning .sync: the managed rule is StepFunctionsGetEventsForSageMakerTuningJobsRule (Step Functions
    Data Science SDK's workflow policy); create/describe/stop/tags on the tuning job only, nothing on the
    tuner's training jobs (SageMaker starts and stops those itself)."""
    _, template = synthesized
    for actions, tail in (
        (["sagemaker:CreateHyperParameterTuningJob"], ":hyper-parameter-tuning-job/churn-tune-*"),
        (["sagemaker:DescribeHyperParameterTuningJob"], ":hyper-parameter-tuning-job/churn-tune-*"),
        (["sagemaker:StopHyperParameterTuningJob"], ":hyper-parameter-tuning-job/churn-tune-*"),
        (["sagemaker:ListTags"], ":hyper-parameter-tuning-job/churn-tune-*"),
        (["sagemaker:AddTags"], ":hyper-parameter-tuning-job/churn-tune-*"),
        (["events:PutTargets"], ":rule/StepFunctionsGetEventsForSageMakerTuningJobsRule"),
        (["events:PutRule"], ":rule/StepFunctionsGetEventsForSageMakerTuningJobsRule"),
        (["events:DescribeRule"], ":rule/StepFunctionsGetEventsForSageMakerTuningJobsRule"),
    ):
        template.has_resource_properties(
            "AWS::IAM::ManagedPolicy",
            {"PolicyDocument": {"Statement": Match.array_with([_statement_with(actions, tail)])}},
        )
    text = str(template.find_resources("AWS::IAM::ManagedPolicy"))
    assert "HyperparameterTuningJobsRule" not in text
    assert "training-job/churn-tune-" not in text
    assert "ListTrainingJobsForHyperParameterTuningJob" not in text


def test_cfn_lint_clean(synthesized):
    assert cfn_lint(synthesized[1].to_json()) == []


def test_source_archive_is_reproducible(source):
    first = source_archive(source).read_bytes()
    assert source_archive(source).read_bytes() == first
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(first))) as tar:
        assert sorted(tar.getnames()) == ["train.py", "util.py"]
        assert {m.mtime for m in tar.getmembers()} == {0}


def test_training_validation(source):
    stack = new_stack()
    role = SageMakerExecutionRole(stack, "Exec")
    with pytest.raises(ConstructValidationError) as err:
        TrainingDefinition(
            stack,
            "T",
            role=role,
            output_path="models/",
            channels=[TrainingChannel("train", "s3://bucket-a/x"), TrainingChannel("train", "nope")],
            use_spot_instances=True,
            max_runtime=Duration.hours(2),
            max_wait=Duration.hours(1),
            metric_definitions={"m": "("},
            source_dir=source,
        )
    text = str(err.value)
    for expected in (
        "output_path='models' (OutputDataConfig.S3OutputPath) is invalid: must match",
        "channels='train' is invalid: channel names must be unique",
        "channels[1].s3_uri='nope' (InputDataConfig[1].DataSource.S3DataSource.S3Uri)",
        "max_wait='1 hour' is invalid: must be at least max_runtime",
        "checkpoint_s3_uri=None",
        "metric_definitions['m']",
        "source_dir and entry_point conflict",
    ):
        assert expected in text, expected


def test_tuning_validation():
    stack = new_stack()
    role = SageMakerExecutionRole(stack, "Exec")
    train = TrainingDefinition(stack, "T", role=role, output_path="s3://bucket-a/m", hyperparameters={"eta": "0.1"})
    with pytest.raises(ConstructValidationError) as err:
        TuningDefinition(
            stack,
            "Tu",
            training=train,
            objective_metric="validation:auc",
            ranges=[IntegerRange("depth", 9, 3), ContinuousRange("eta", 0.1, 0.3), CategoricalRange("booster", [])],
            max_training_jobs=2,
            max_parallel_jobs=4,
            strategy="Grid",
            name_prefix="a-tuning-prefix-too-long",
        )
    text = str(err.value)
    for expected in (
        "max_parallel_jobs=4",
        "ranges='eta' is invalid: is also a static hyperparameter",
        "ranges[depth]",
        "ranges[2].values=[] (HyperParameterTuningJobConfig.ParameterRanges.CategoricalParameterRanges[0].Values) "
        "is invalid: has 0 items; at least 1",
        "Grid search tunes categorical ranges only",
        "prefix is 24 chars; use at most 19",
    ):
        assert expected in text, expected


def test_builtin_xgboost_hyperparameters_checked_at_synth():
    """Names, values and ranges from the algorithm's table; each error names the nearest valid values."""
    stack = new_stack()
    role = SageMakerExecutionRole(stack, "Exec")
    with pytest.raises(ConstructValidationError) as err:
        TrainingDefinition(
            stack,
            "Churn",
            role=role,
            output_path="s3://bucket-a/m",
            hyperparameters={
                "objective": "binary:logistc",
                "num_round": 50,
                "eta": 1.5,
                "max_dept": 6,
                "subsample": 0,
                "booster": "gbtre",
                "max_depth": 4.5,
                "colsample_bytree": sfn.JsonPath.string_at("$.input.colsample"),
            },
        )
    assert err.value.path.endswith("/Churn")
    text = str(err.value)
    for expected in (
        "hyperparameters[\"objective\"]='binary:logistc' is invalid: the XGBoost container refuses it: "
        "Hyperparameter objective: binary:logistc is not in ['aft_loss_distribution', 'binary:logistic'",
        "; nearest: 'binary:logistic'",
        'hyperparameters["eta"]=1.5 is invalid: the XGBoost container refuses it: '
        "Hyperparameter eta: 1.5 is not in [0, 1]",
        "hyperparameters[\"max_dept\"]=6 is invalid: 'max_dept' is not a hyperparameter of the built-in XGBoost "
        "algorithm (SageMaker Developer Guide, 'XGBoost hyperparameters'); nearest: 'max_depth'",
        "Hyperparameter subsample: 0.0 is not in (0, 1]",
        "Hyperparameter booster: gbtre is not in ['gbtree', 'gblinear', 'dart']; nearest: 'gbtree'",
        'hyperparameters["max_depth"]=4.5 is invalid: the XGBoost container refuses it: '
        "Hyperparameter max_depth: could not parse value",
    ):
        assert expected in text, expected
    assert "num_round" not in text and "colsample" not in text  # valid, and known only at run time
    assert len(err.value.problems) == 6


def test_builtin_xgboost_cross_hyperparameter_rules_checked_at_synth():
    stack = new_stack()
    role = SageMakerExecutionRole(stack, "Exec")
    with pytest.raises(ConstructValidationError) as err:
        TrainingDefinition(
            stack,
            "Multi",
            role=role,
            output_path="s3://bucket/m",
            hyperparameters={"num_round": 5, "objective": "multi:softmax"},
        )
    assert str(err.value).endswith(
        "hyperparameters[\"objective\"]='multi:softmax' is invalid: the XGBoost container refuses it: "
        "Require input for parameter 'num_class' for multi-classification"
    )
    with pytest.raises(ConstructValidationError, match="Metric 'auc' can only be applied for classification"):
        TrainingDefinition(
            stack,
            "Auc",
            role=role,
            output_path="s3://bucket/m",
            hyperparameters={"num_round": 5, "objective": "reg:squarederror", "eval_metric": "rmse,auc"},
        )
    TrainingDefinition(  # known only at run time: not checked
        stack,
        "RunTime",
        role=role,
        output_path="s3://bucket/m",
        hyperparameters={"num_round": 5, "objective": sfn.JsonPath.string_at("$.objective"), "eval_metric": "auc"},
    )


def test_script_mode_hyperparameters_are_the_scripts(source):
    stack = new_stack()
    TrainingDefinition(
        stack,
        "Script",
        role=SageMakerExecutionRole(stack, "Exec"),
        output_path="s3://bucket-a/m",
        image=ContainerImage.xgboost(),
        entry_point=source / "train.py",
        hyperparameters={"max_dept": 6, "objective": "anything"},
    )


def test_builtin_xgboost_tuning_ranges_checked_at_synth():
    stack = new_stack()
    role = SageMakerExecutionRole(stack, "Exec")
    train = TrainingDefinition(stack, "T", role=role, output_path="s3://bucket-a/m", hyperparameters={"num_round": 10})
    with pytest.raises(ConstructValidationError) as err:
        TuningDefinition(
            stack,
            "Tune",
            training=train,
            objective_metric="validation:auc",
            ranges=[
                IntegerRange("max_dept", 3, 9),
                ContinuousRange("eta", 0.1, 2.0),
                ContinuousRange("max_depth", 1.0, 8.0),
                CategoricalRange("objective", ["binary:logistic", "binary:hinj"]),
            ],
        )
    text = str(err.value)
    for expected in (
        "ranges[max_dept]='max_dept' is invalid: not a hyperparameter of the built-in XGBoost algorithm "
        "(SageMaker Developer Guide, 'XGBoost hyperparameters'); nearest: 'max_depth'",
        "ranges[eta]=2.0 is invalid: the XGBoost container refuses it: Hyperparameter eta: 2.0 is not in [0, 1]",
        "ranges[max_depth]='max_depth' is invalid: max_depth is a whole number: tune it with an IntegerRange",
        "ranges[objective]='binary:hinj' is invalid: the XGBoost container refuses it: "
        "Hyperparameter objective: binary:hinj is not in",
        "nearest: 'binary:hinge'",
    ):
        assert expected in text, expected
    assert len(err.value.problems) == 4
