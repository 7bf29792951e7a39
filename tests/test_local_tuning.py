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
