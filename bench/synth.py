"""Synth cost of sm_constructs against a hand-written aws-cdk-lib baseline.

Usage (or ``make bench``, which writes ``docs/performance.md``)::

    .venv/bin/python bench/synth.py [--runs 5] [--scale 1,25,50,100] [--scale-runs 3] [--markdown out.md]
    .venv/bin/python bench/synth.py --smoke     # N=1 and N=2, in this process, no timing (tests/test_bench.py)

Each measurement is a fresh ``python <app>`` process (what ``cdk synth`` runs), writing into a
temporary cloud assembly. Variants alternate within every round so that machine noise hits them
alike:

1. ``bench/apps/empty.py`` — an empty CDK app (the floor: Python + jsii + aws-cdk-lib start-up);
2. ``bench/apps/baseline.py`` — the same resources as the reference pipeline, written with plain
   aws-cdk-lib L1/L2 constructs and ``CustomState`` for processing, as a competent user would;
3. ``bench/apps/library.py`` — the reference app built with sm_constructs.

Wall time, CPU time (Python and its node jsii kernel, which Python waits for) and peak memory
(sum of RSS over the process tree, sampled every 10 ms) are reported as medians, with the ratios
3/2 and 3/1. ``--scale`` repeats 2 and 3 for apps with N pipelines and reports the marginal cost
per pipeline: template bytes, resources, state machine states and synth time. Wall time depends on
what else the machine runs; ``--calls`` therefore also counts, for 2 and 3 at two pipeline counts,
the jsii kernel requests and the CPU seconds of one more pipeline (``bench/jsii_calls.py``).

Before any ratio is reported, every synthesized assembly is checked: each template is under
CloudFormation's 1,000,000 bytes and 500 resources, and the baseline has exactly the library's
resources, counted by type (the bench stops, listing the difference, when either fails).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime
import importlib.util
import itertools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "bench" / "apps"
VARIANTS = {"empty": APPS / "empty.py", "baseline": APPS / "baseline.py", "library": APPS / "library.py"}


#: CloudFormation quotas per template (AWS CloudFormation User Guide, "CloudFormation quotas": template
#: body size in an S3 object 1 MB, resources declared in a template 500); the library's own check,
#: ``sm_constructs._limits.MAX_TEMPLATE_BYTES``, uses the same bytes.
MAX_TEMPLATE_BYTES = 1_000_000
MAX_RESOURCES = 500


@dataclass
class Assembly:
    """What one synth produced: resources by type, template bytes and state machine states (of the
    definitions inline and stored as S3 assets), over all its stacks."""

    types: collections.Counter[str]
    template_bytes: int
    states: int = 0

    @property
    def resources(self) -> int:
        return sum(self.types.values())


def read_assembly(outdir: Path, label: str) -> Assembly:
    """Resources and bytes of every template in ``outdir``; stops when a template is over a CloudFormation limit."""
    types: collections.Counter[str] = collections.Counter()
    total = states = 0
    for template in sorted(outdir.glob("*.template.json")):
        size = template.stat().st_size
        resources = json.loads(template.read_text()).get("Resources", {})
        if size > MAX_TEMPLATE_BYTES or len(resources) > MAX_RESOURCES:
            raise SystemExit(
                f"{label}: {template.name} has {size:,} bytes and {len(resources)} resources; CloudFormation "
                f"allows {MAX_TEMPLATE_BYTES:,} bytes and {MAX_RESOURCES} resources per template"
            )
        types.update(r["Type"] for r in resources.values())
        total += size
        states += sum(_states(_inline_definition(r)) for r in resources.values())
    states += sum(_states(json.loads(f.read_text())) for f in outdir.glob("asset.*.json"))
    return Assembly(types, total, states)


def _inline_definition(resource: dict) -> object:
    """A state machine's ``DefinitionString`` as JSON, each deploy-time value (inside a JSON string) as ``x``."""
    body = resource.get("Properties", {}).get("DefinitionString")
    if isinstance(body, dict) and "Fn::Join" in body:
        separator, parts = body["Fn::Join"]
        body = separator.join(p if isinstance(p, str) else "x" for p in parts)
    return json.loads(body) if isinstance(body, str) else None


def _states(definition: object) -> int:
    """States of a state machine definition, those inside Parallel branches and Map processors included."""
    if not isinstance(definition, dict) or not isinstance(definition.get("States"), dict):
        return 0
    states = definition["States"].values()
    inner = [b for s in states for b in [*s.get("Branches", []), s.get("ItemProcessor"), s.get("Iterator")] if b]
    return len(states) + sum(_states(b) for b in inner)


def assert_same_resources(library: Assembly, baseline: Assembly, pipelines: int) -> None:
    """The comparison is fair only when the baseline renders what the library renders."""
    if library.types != baseline.types:
        diff = {
            t: (library.types[t], baseline.types[t])
            for t in sorted(set(library.types) | set(baseline.types))
            if library.types[t] != baseline.types[t]
        }
        raise SystemExit(f"n={pipelines}: library and baseline render different resources (library, baseline): {diff}")


@dataclass
class Sample:
    seconds: float
    cpu_seconds: float
    peak_mib: float
    assembly: Assembly

    @property
    def resources(self) -> int:
        return self.assembly.resources


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def run_once(app: Path, pipelines: int) -> Sample:
    with tempfile.TemporaryDirectory(prefix="bench-") as outdir:
        env = {**os.environ, "CDK_OUTDIR": outdir, "BENCH_PIPELINES": str(pipelines)}
        env["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{env.get('PATH', '')}"
        peak = 0
        cpu_before = _children_cpu()
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(app)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        ps = psutil.Process(proc.pid)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss(ps))
                time.sleep(0.01)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _out, err = proc.communicate()
        elapsed = time.perf_counter() - start
        cpu = _children_cpu() - cpu_before
        done.set()
        sampler.join()
        if proc.returncode != 0:
            raise SystemExit(f"{app.name} failed ({proc.returncode}):\n{err.decode()[-3000:]}")
        return Sample(elapsed, cpu, peak / 2**20, read_assembly(Path(outdir), f"{app.stem} n={pipelines}"))


def _children_cpu() -> float:
    """CPU seconds of this process's waited-for children and theirs (a synth's Python waits for its node)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(variants: list[str], runs: int, pipelines: int) -> dict[str, list[Sample]]:
    results: dict[str, list[Sample]] = {v: [] for v in variants}
    for i in range(runs):
        for variant in variants:
            s = run_once(VARIANTS[variant], pipelines)
            results[variant].append(s)
            print(
                f"  round {i + 1}/{runs} {variant:8s} n={pipelines:<3d} {s.seconds:6.2f}s {s.cpu_seconds:6.2f}s CPU "
                f"{s.peak_mib:7.0f} MiB "
                f"{s.resources} resources {s.assembly.template_bytes:,} bytes",
                file=sys.stderr,
            )
    if "library" in results and "baseline" in results:
        assert_same_resources(results["library"][0].assembly, results["baseline"][0].assembly, pipelines)
    return results


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _load_app(variant: str) -> object:
    return _load(f"app_{variant}", VARIANTS[variant])


def smoke(counts: tuple[int, ...] = (1, 2)) -> dict[int, tuple[Assembly, Assembly]]:
    """Synthesize both apps at each count in this process (no timing) and check them as a full run does."""
    from aws_cdk import App

    apps = {v: _load_app(v) for v in ("library", "baseline")}
    out: dict[int, tuple[Assembly, Assembly]] = {}
    for n in counts:
        made = []
        for variant, module in apps.items():
            with tempfile.TemporaryDirectory(prefix="bench-smoke-") as outdir:
                app = App(outdir=outdir, context=module.CONTEXT)  # type: ignore[attr-defined]
                module.build(app, n)  # type: ignore[attr-defined]
                app.synth()
                made.append(read_assembly(Path(outdir), f"{variant} n={n}"))
        assert_same_resources(made[0], made[1], n)
        out[n] = (made[0], made[1])
    return out


def median(samples: list[Sample], attr: str) -> float:
    return statistics.median(getattr(s, attr) for s in samples)


def _scale(counts: list[int], runs: int) -> list[str]:
    """The scale table (each N) and the per-pipeline table (the difference between two points)."""
    lines = [
        "| pipelines | baseline (s) | library (s) | ratio | baseline CPU (s) | library CPU (s) | CPU ratio | "
        "library MiB | resources | library bytes | baseline bytes |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    points = {}
    for n in counts:
        res = measure(["baseline", "library"], runs, n)
        wall = [median(res[v], "seconds") for v in ("baseline", "library")]
        cpu = [median(res[v], "cpu_seconds") for v in ("baseline", "library")]
        points[n] = (wall, cpu, res["baseline"][0].assembly, res["library"][0].assembly)
        lines.append(
            f"| {n} | {wall[0]:.2f} | {wall[1]:.2f} | {wall[1] / wall[0]:.2f}× | {cpu[0]:.2f} | {cpu[1]:.2f} | "
            f"{cpu[1] / cpu[0]:.2f}× | {median(res['library'], 'peak_mib'):.0f} | {res['library'][0].resources} | "
            f"{points[n][3].template_bytes:,} | {points[n][2].template_bytes:,} |"
        )
    if len(counts) < 2:
        return lines
    lines += [
        "",
        "Per pipeline (the difference between two points, divided by the pipelines added; states are those",
        "of the state machine definitions, inline or in S3):",
        "",
        "| pipelines | resources | library states | baseline states | library bytes | baseline bytes | "
        "library ms | baseline ms | ratio | library CPU ms | baseline CPU ms | CPU ratio |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for a, c in [*itertools.pairwise(counts), *([(counts[0], counts[-1])] if len(counts) > 2 else [])]:
        (wall_a, cpu_a, base_a, lib_a), (wall_c, cpu_c, base_c, lib_c) = points[a], points[c]
        base_ms, lib_ms = ((wall_c[i] - wall_a[i]) / (c - a) * 1000 for i in (0, 1))
        base_cpu, lib_cpu = ((cpu_c[i] - cpu_a[i]) / (c - a) * 1000 for i in (0, 1))
        lines.append(
            f"| {a}→{c} | {(lib_c.resources - lib_a.resources) / (c - a):.1f} | "
            f"{(lib_c.states - lib_a.states) / (c - a):.0f} | {(base_c.states - base_a.states) / (c - a):.0f} | "
            f"{(lib_c.template_bytes - lib_a.template_bytes) / (c - a):,.0f} | "
            f"{(base_c.template_bytes - base_a.template_bytes) / (c - a):,.0f} | "
            f"{lib_ms:.0f} | {base_ms:.0f} | {lib_ms / base_ms:.2f}× | "
            f"{lib_cpu:.0f} | {base_cpu:.0f} | {lib_cpu / base_cpu:.2f}× |"
        )
    return lines


def _calls(low: int, high: int, runs: int) -> list[str]:
    """jsii requests and CPU seconds of one more pipeline (``bench/jsii_calls.py``), library and baseline."""
    jsii_calls = _load("jsii_calls", ROOT / "bench" / "jsii_calls.py")
    one, states = {}, {}
    for variant in ("library", "baseline"):
        profiles, counted = [], []
        for n in (low, high):
            with tempfile.TemporaryDirectory(prefix="bench-calls-") as outdir:
                profiles.append(jsii_calls.profile_runs(VARIANTS[variant], n, runs, outdir=Path(outdir)))
                counted.append(read_assembly(Path(outdir), f"{variant} n={n}").states)
        one[variant] = jsii_calls.per_pipeline(*profiles)
        states[variant] = (counted[1] - counted[0]) / (high - low)
        print(f"  {variant:8s} per pipeline {low}→{high}: {one[variant].calls:.0f} jsii requests", file=sys.stderr)
    lib, base = one["library"], one["baseline"]
    lines = [
        f"One more pipeline, counted rather than timed (the difference between {low} and {high} pipelines, each",
        f"synthesized {runs} times in a fresh process by `bench/jsii_calls.py`): requests to the jsii kernel (the",
        "same every run), and the median CPU time of Python and of its node kernel.",
        "",
        "| app | jsii requests | Python CPU ms | node CPU ms | CPU ms | states | requests per state |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, p in one.items():
        lines.append(
            f"| {name} | {p.calls:,.0f} | {p.python_cpu * 1000:.0f} | {p.node_cpu * 1000:.0f} | {p.cpu * 1000:.0f} | "
            f"{states[name]:.0f} | {p.calls / states[name]:.1f} |"
        )
    lines += [
        "",
        f"Ratios: library / baseline = **{lib.calls / base.calls:.2f}×** jsii requests, "
        f"**{lib.cpu / base.cpu:.2f}×** CPU; per state machine state, "
        f"{(lib.calls / states['library']) / (base.calls / states['baseline']):.2f}× jsii requests. The baseline's "
        "resources are the library's, but its state machines are smaller (no step cache lookups, data fingerprints, "
        "resume or monitoring-schedule states). The library's most frequent requests per pipeline: "
        + ", ".join(f"`{kind}` {n:.0f}" for kind, n in lib.by_kind.most_common(8))
        + ".",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds for the reference comparison (>= 5)")
    parser.add_argument("--scale", default="1,25,50,100", help="pipeline counts for the scale run ('' to skip)")
    parser.add_argument("--scale-runs", type=int, default=3, help="rounds per scale point")
    parser.add_argument(
        "--calls", default="2,6", help="two pipeline counts for jsii requests and CPU per pipeline ('' to skip)"
    )
    parser.add_argument("--calls-runs", type=int, default=3, help="runs per count of --calls (CPU: the median)")
    parser.add_argument("--markdown", type=Path, help="also write the tables to this file")
    parser.add_argument("--smoke", action="store_true", help="N=1 and N=2 in this process: resources and limits only")
    args = parser.parse_args(argv)
    if args.smoke:
        for n, (lib, base) in smoke().items():
            print(f"n={n}: {lib.resources} resources each; template bytes library {lib.template_bytes:,}, "
                  f"baseline {base.template_bytes:,}")  # fmt: skip
        return 0

    load = os.getloadavg()[0]
    lines = [
        "# Performance: template size and synth time",
        "",
        "Written by `make bench` (`bench/synth.py`); do not edit by hand. The library app is the reference",
        "app (`app.py`, `bench/apps/library.py`), the baseline the same resources written with plain",
        "aws-cdk-lib (`bench/apps/baseline.py`); the bench checks that both render the same resources,",
        "counted by type, at every N, and that every template is within CloudFormation's limits.",
        "",
        "## Template size",
        "",
        "A reference pipeline (build and release state machines, step caching, monitoring, alarms) takes two",
        "state machine definitions of about 95 KB together. Inline, at most 7 pipelines fit one template. A",
        "stack of several pipelines (`app.py`: `ReferenceStack(pipelines=N)`, N > 1) therefore",
        "",
        "- stores definitions as S3 file assets (`MlStateMachine(definition_in_s3=True)`, or the context",
        "  `sm-constructs:definitionsInS3=true` for every state machine under a scope): the template keeps",
        "  `DefinitionS3Location` and one `DefinitionSubstitutions` entry per distinct deploy-time value.",
        "  SageMakerChecks read the asset file through the assembly's asset manifest; the local emulator's",
        "  CloudFormation reads the object the CDK CLI uploaded and substitutes as CloudFormation does;",
        "- lets the pipelines after the first use its KMS key, notification topic and log group",
        "  (`encryption_key=`, `notification_topic=`, `log_group=` of `MlPipeline` and `ModelDeployment`);",
        "  each state machine role is still granted the key for its own state machine ARN only;",
        "- packs managed policies by their deployed size: a pseudo parameter counts as its longest value",
        "  (botocore's partition data), so a role needs one or two policies instead of two or three.",
        "",
        "With that and templates without indentation (aws-cdk-lib's suppressTemplateIndentation, both apps), one",
        "more pipeline adds 17 resources and about 24 KB: 25 fit one stack (the table's 25-pipeline row). Over the",
        "limit, synth fails with the stack, its size and these remedies.",
        "",
        "## Synth time",
        "",
        f"Run {datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')} on {platform.machine()}, "
        f"{os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, Python "
        f"{platform.python_version()}, load average {load:.1f} at start; medians of {args.runs} alternating runs.",
        "",
        "| app | wall time (s) | CPU time (s) | peak memory (MiB) | resources |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    ref = measure(["empty", "baseline", "library"], args.runs, 1)
    for variant, samples in ref.items():
        lines.append(
            f"| {variant} | {median(samples, 'seconds'):.2f} | {median(samples, 'cpu_seconds'):.2f} | "
            f"{median(samples, 'peak_mib'):.0f} | {samples[0].resources} |"
        )
    lib_t, base_t, empty_t = (median(ref[v], "seconds") for v in ("library", "baseline", "empty"))
    lib_c, base_c = median(ref["library"], "cpu_seconds"), median(ref["baseline"], "cpu_seconds")
    lib_m, base_m = median(ref["library"], "peak_mib"), median(ref["baseline"], "peak_mib")
    lines += [
        "",
        f"Ratios: library / baseline = **{lib_t / base_t:.2f}×** time, {lib_c / base_c:.2f}× CPU, "
        f"{lib_m / base_m:.2f}× memory; library / empty = {lib_t / empty_t:.2f}× time.",
    ]

    counts = [int(c) for c in args.scale.split(",") if c.strip()]
    if counts:
        lines += ["", *_scale(counts, args.scale_runs)]
    calls = [int(c) for c in args.calls.split(",") if c.strip()]
    if calls:
        lines += ["", *_calls(*calls, args.calls_runs)]
    cores = os.cpu_count() or 1
    busiest = max(load, os.getloadavg()[0])
    if busiest > cores:
        lines += [
            "",
            f"The machine was busy with other work (load average up to {busiest:.1f} on {cores} cores): times of "
            "identical runs varied by tens of percent, so the time ratios above say little; template bytes and "
            "resources are exact.",
        ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
