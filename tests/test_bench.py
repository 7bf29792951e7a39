"""``make bench`` keeps working: its smoke run (N=1 and N=2, in this process) synthesizes the library and
the hand-written baseline, checks every template against CloudFormation's limits and the two apps'
resources against each other, as a full run does before it reports a ratio."""

from __future__ import annotations

import collections
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_synth", ROOT / "bench" / "synth.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_smoke_run_renders_equal_resources_within_the_limits(bench):
    results = bench.smoke((1, 2))
    for n, (library, baseline) in results.items():
        assert library.types == baseline.types, n
        assert library.resources > 60 and library.template_bytes < bench.MAX_TEMPLATE_BYTES
    one, two = results[1][0], results[2][0]
    # a second pipeline adds its build and release workflows: two state machines, one registry
    added = two.types - one.types
    assert added["AWS::StepFunctions::StateMachine"] == 2 and added["AWS::SageMaker::ModelPackageGroup"] == 1


def test_unequal_resources_stop_the_bench(bench):
    a = bench.Assembly(collections.Counter({"AWS::SNS::Topic": 2}), 10)
    b = bench.Assembly(collections.Counter({"AWS::SNS::Topic": 1}), 10)
    with pytest.raises(SystemExit, match=r"different resources .*'AWS::SNS::Topic': \(2, 1\)"):
        bench.assert_same_resources(a, b, 3)


def test_a_template_over_a_limit_stops_the_bench(bench, tmp_path):
    (tmp_path / "Big.template.json").write_text('{"Resources": {}}' + " " * bench.MAX_TEMPLATE_BYTES)
    with pytest.raises(SystemExit, match=r"Big.template.json has 1,000,017 bytes"):
        bench.read_assembly(tmp_path, "library n=1")
