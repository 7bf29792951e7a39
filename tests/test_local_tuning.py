"""Trials of a local tuning job: what each strategy draws, within the request's ranges and limits
(the trials themselves run as training jobs in tests/test_local_byo_app.py)."""

import math

import pytest

from sm_constructs.local.jobs.tuning import trial_hyperparameters


def _config(strategy, **limits):
    return {
        "Strategy": strategy,
        "RandomSeed": 7,
        "ResourceLimits": {"MaxParallelTrainingJobs": 2, **limits},
        "ParameterRanges": {
            "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "6", "ScalingType": "Auto"}],
            "ContinuousParameterRanges": [
                {"Name": "eta", "MinValue": "0.01", "MaxValue": "1", "ScalingType": "Logarithmic"}
            ],
            "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}],
        },
    }


@pytest.mark.parametrize("strategy", ["Random", "Bayesian", "Hyperband"])
def test_random_draws_honour_the_limit_ranges_and_seed(strategy):
    trials = trial_hyperparameters(_config(strategy, MaxNumberOfTrainingJobs=200))
    assert len(trials) == 200
    depths = {int(t["max_depth"]) for t in trials}
    etas = [float(t["eta"]) for t in trials]
    assert depths == {2, 3, 4, 5, 6}
    assert all(0.01 <= e <= 1 for e in etas)
    # log scaling: about half the draws fall below the geometric midpoint 0.1 (uniform would give ~9 %)
    assert 0.35 < sum(e < 0.1 for e in etas) / len(etas) < 0.65
    assert {t["booster"] for t in trials} == {"gbtree", "dart"}
    assert trials == trial_hyperparameters(_config(strategy, MaxNumberOfTrainingJobs=200))  # RandomSeed


def test_grid_walks_the_categorical_combinations():
    config = {
        "Strategy": "Grid",
        "ResourceLimits": {"MaxParallelTrainingJobs": 1},
        "ParameterRanges": {
            "CategoricalParameterRanges": [
                {"Name": "booster", "Values": ["gbtree", "dart"]},
                {"Name": "max_depth", "Values": ["2", "4", "6"]},
            ]
        },
    }
    trials = trial_hyperparameters(config)
    assert len(trials) == 6 and len({tuple(sorted(t.items())) for t in trials}) == 6
    config["ResourceLimits"]["MaxNumberOfTrainingJobs"] = 4
    assert len(trial_hyperparameters(config)) == 4


def test_integer_draws_stay_inside_a_one_value_range():
    config = _config("Random", MaxNumberOfTrainingJobs=20)
    config["ParameterRanges"]["IntegerParameterRanges"][0].update(MinValue="3", MaxValue="3")
    assert {t["max_depth"] for t in trial_hyperparameters(config)} == {"3"}
    assert not math.isnan(float(trial_hyperparameters(config)[0]["eta"]))


def test_the_trials_of_a_tuning_job_are_listed_sorted_and_paged():
    """ListTrainingJobsForHyperParameterTuningJob through moto's SageMaker and botocore's parser."""
    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws
    from moto.sagemaker.models import sagemaker_backends

    from sm_constructs.local.jobs import tuning

    tuning.install()
    role = "arn:aws:iam::123456789012:role/r"
    definition = {
        "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
        "RoleArn": role,
        "OutputDataConfig": {"S3OutputPath": "s3://b/m"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
    }
    objective = {"Type": "Minimize", "MetricName": "validation:rmse"}
    with mock_aws():
        sm = boto3.client("sagemaker", region_name="us-east-1")
        sm.create_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="t",
            HyperParameterTuningJobConfig={
                "Strategy": "Random",
                "HyperParameterTuningJobObjective": objective,
                "ResourceLimits": {"MaxNumberOfTrainingJobs": 3, "MaxParallelTrainingJobs": 1},
            },
            TrainingJobDefinition=definition,
        )
        backend = sagemaker_backends["123456789012"]["us-east-1"]
        rmse = {"t-001": 3.0, "t-002": None, "t-003": 1.5}  # t-002 failed without the metric
        for name, value in rmse.items():
            sm.create_training_job(TrainingJobName=name, **definition)
            job = backend.training_jobs[name]
            job.training_job_status = "Completed" if value is not None else "Failed"
            job.final_metric_data_list = [] if value is None else [{"MetricName": "validation:rmse", "Value": value}]
        backend.hyper_parameter_tuning_jobs["t"].local_trials = {n: ({"alpha": n[-1]}, objective) for n in rmse}

        listed = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="t")
        summaries = listed["TrainingJobSummaries"]
        assert [s["TrainingJobName"] for s in summaries] == ["t-001", "t-002", "t-003"]
        assert [s["ObjectiveStatus"] for s in summaries] == ["Succeeded", "Failed", "Succeeded"]
        assert summaries[2]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 1.5
        assert summaries[0]["TunedHyperParameters"] == {"alpha": "1"} and summaries[0]["TuningJobName"] == "t"
        best = sm.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="t", SortBy="FinalObjectiveMetricValue", MaxResults=1
        )
        assert [s["TrainingJobName"] for s in best["TrainingJobSummaries"]] == ["t-003"]
        rest = sm.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="t", SortBy="FinalObjectiveMetricValue", NextToken=best["NextToken"]
        )
        assert [s["TrainingJobName"] for s in rest["TrainingJobSummaries"]] == ["t-001"] and "NextToken" not in rest
        with pytest.raises(ClientError, match=r"ValidationException.*Invalid pagination token 'x'"):
            sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="t", NextToken="x")
        failed = sm.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="t", StatusEquals="Failed"
        )
        assert [s["TrainingJobName"] for s in failed["TrainingJobSummaries"]] == ["t-002"]
        with pytest.raises(ClientError, match="ResourceNotFound"):
            sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="nope")
