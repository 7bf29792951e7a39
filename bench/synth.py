"""Synth cost of sm_constructs against a hand-written aws-cdk-lib baseline.

Usage (or ``make bench``)::

    .venv/bin/python bench/synth.py [--runs 5] [--scale 1,10,50,100] [--scale-runs 3] [--markdown out.md]

Each measurement is a fresh ``python <app>`` process (what ``cdk synth`` runs), writing into a
temporary cloud assembly. Variants alternate within every round so that machine noise hits them
alike:

1. ``bench/apps/empty.py`` — an empty CDK app (the floor: Python + jsii + aws-cdk-lib start-up);
2. ``bench/apps/baseline.py`` — the same resources as the reference pipeline, written with plain
   aws-cdk-lib L1/L2 constructs and ``CustomState`` for processing, as a competent user would;
3. ``bench/apps/library.py`` — the reference app built with sm_constructs.

Wall time and peak memory (sum of RSS over the process tree: Python and its node jsii kernel,
sampled every 10 ms) are reported as medians, with the ratios 3/2 and 3/1. ``--scale`` repeats
2 and 3 for apps with N pipelines and reports the marginal cost per pipeline.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "bench" / "apps"
VARIANTS = {"empty": APPS / "empty.py", "baseline": APPS / "baseline.py", "library": APPS / "library.py"}


@dataclass
class Sample:
    seconds: float
    peak_mib: float
    resources: int


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
        done.set()
        sampler.join()
        if proc.returncode != 0:
            raise SystemExit(f"{app.name} failed ({proc.returncode}):\n{err.decode()[-3000:]}")
        resources = 0
        for template in Path(outdir).glob("*.template.json"):
            resources += len(json.loads(template.read_text()).get("Resources", {}))
        return Sample(elapsed, peak / 2**20, resources)


def measure(variants: list[str], runs: int, pipelines: int) -> dict[str, list[Sample]]:
    results: dict[str, list[Sample]] = {v: [] for v in variants}
    for i in range(runs):
        for variant in variants:
            s = run_once(VARIANTS[variant], pipelines)
            results[variant].append(s)
            print(
                f"  round {i + 1}/{runs} {variant:8s} n={pipelines:<3d} {s.seconds:6.2f}s {s.peak_mib:7.0f} MiB "
                f"{s.resources} resources",
                file=sys.stderr,
            )
    return results


def median(samples: list[Sample], attr: str) -> float:
    return statistics.median(getattr(s, attr) for s in samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds for the reference comparison (>= 5)")
    parser.add_argument("--scale", default="1,10,50,100", help="pipeline counts for the scale run ('' to skip)")
    parser.add_argument("--scale-runs", type=int, default=3, help="rounds per scale point")
    parser.add_argument("--markdown", type=Path, help="also write the tables to this file")
    args = parser.parse_args(argv)

    lines = [
        f"Run {datetime.date.today().isoformat()} on {platform.machine()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}; "
        f"medians of {args.runs} alternating runs.",
        "",
        "| app | wall time (s) | peak memory (MiB) | resources |",
        "| --- | ---: | ---: | ---: |",
    ]
    ref = measure(["empty", "baseline", "library"], args.runs, 1)
    for variant, samples in ref.items():
        lines.append(
            f"| {variant} | {median(samples, 'seconds'):.2f} | {median(samples, 'peak_mib'):.0f} | "
            f"{samples[0].resources} |"
        )
    lib_t, base_t, empty_t = (median(ref[v], "seconds") for v in ("library", "baseline", "empty"))
    lib_m, base_m = median(ref["library"], "peak_mib"), median(ref["baseline"], "peak_mib")
    lines += [
        "",
        f"Ratios: library / baseline = **{lib_t / base_t:.2f}×** time, {lib_m / base_m:.2f}× memory; "
        f"library / empty = {lib_t / empty_t:.2f}× time.",
    ]

    counts = [int(c) for c in args.scale.split(",") if c.strip()]
    if counts:
        lines += [
            "",
            "| pipelines | baseline (s) | library (s) | ratio | library MiB | resources |",
            "| ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        points = {}
        for n in counts:
            res = measure(["baseline", "library"], args.scale_runs, n)
            b, lib = median(res["baseline"], "seconds"), median(res["library"], "seconds")
            points[n] = (b, lib)
            lines.append(
                f"| {n} | {b:.2f} | {lib:.2f} | {lib / b:.2f}× | {median(res['library'], 'peak_mib'):.0f} | "
                f"{res['library'][0].resources} |"
            )
        if len(counts) >= 2:
            lo, hi = counts[0], counts[-1]
            mb = (points[hi][0] - points[lo][0]) / (hi - lo)
            ml = (points[hi][1] - points[lo][1]) / (hi - lo)
            lines += [
                "",
                f"Marginal cost per pipeline ({lo}→{hi}): baseline {mb * 1000:.0f} ms, library {ml * 1000:.0f} ms "
                f"({ml / mb:.2f}×).",
            ]
            for a, c in itertools.pairwise(counts):
                lines.append(
                    f"- {a}→{c}: baseline {(points[c][0] - points[a][0]) / (c - a) * 1000:.0f} ms/pipeline, "
                    f"library {(points[c][1] - points[a][1]) / (c - a) * 1000:.0f} ms/pipeline"
                )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
