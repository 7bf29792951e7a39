"""``make bench`` keeps working: its smoke run (N=1, 2 and 3, in this process) synthesizes the library and
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
    with pytest.MonkeyPatch.context() as scoped:
        scoped.setattr(sys, "path", list(sys.path))  # each load of bench/apps/library.py puts the repository first
        yield module


@pytest.fixture(scope="module")
def smoked(bench):
    return bench.smoke((1, 2, 3))


def test_smoke_run_renders_equal_resources_within_the_limits(bench, smoked):
    results = smoked
    for n, (library, baseline) in results.items():
        assert library.types == baseline.types, n
        assert library.resources > 60 and library.template_bytes < bench.MAX_TEMPLATE_BYTES
    one, two = results[1][0], results[2][0]
    # a second pipeline adds its build and release workflows: two state machines, one registry
    added = two.types - one.types
    assert added["AWS::StepFunctions::StateMachine"] == 2 and added["AWS::SageMaker::ModelPackageGroup"] == 1


def test_a_full_stack_of_pipelines_stays_within_the_limits(bench, smoked):
    """What a third pipeline adds (from the second on, definitions are in S3 and the key, topic and log
    group shared), times the pipelines of a full stack: a change that makes a pipeline larger fails
    here, not first in a full ``make bench`` at N=25."""
    two, three = smoked[2][0], smoked[3][0]
    full = bench._load_app("library").PIPELINES_PER_STACK
    projected_bytes = three.template_bytes + (full - 3) * (three.template_bytes - two.template_bytes)
    projected_resources = three.resources + (full - 3) * (three.resources - two.resources)
    assert projected_bytes < bench.MAX_TEMPLATE_BYTES, f"{full} pipelines: about {projected_bytes:,} bytes"
    assert projected_resources <= bench.MAX_RESOURCES, f"{full} pipelines: about {projected_resources} resources"


def test_unequal_resources_stop_the_bench(bench):
    a = bench.Assembly(collections.Counter({"AWS::SNS::Topic": 2}), 10)
    b = bench.Assembly(collections.Counter({"AWS::SNS::Topic": 1}), 10)
    with pytest.raises(SystemExit, match=r"different resources .*'AWS::SNS::Topic': \(2, 1\)"):
        bench.assert_same_resources(a, b, 3)


def test_a_template_over_a_limit_stops_the_bench(bench, tmp_path):
    (tmp_path / "Big.template.json").write_text('{"Resources": {}}' + " " * bench.MAX_TEMPLATE_BYTES)
    with pytest.raises(SystemExit, match=r"Big.template.json has 1,000,017 bytes"):
        bench.read_assembly(tmp_path, "library n=1")
