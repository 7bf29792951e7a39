"""Where an app's synth cost goes, without a stopwatch: jsii kernel requests and CPU time, per extra pipeline.

Usage (``make bench`` runs it for its "per extra pipeline" table)::

    .venv/bin/python bench/jsii_calls.py bench/apps/library.py --pipelines 2,4 [--top 30] [--kind GetRequest:node]

Every construct, property read or method call crosses to the Node jsii kernel and back, and Node
does its share of the work behind each request, so the request count is a measure of synth cost
that other work on the machine does not disturb. The app runs once per pipeline count, each in a
fresh process that counts the requests it sends (by kind: ``InvokeRequest:toStatementJson``,
``CreateRequest:aws-cdk-lib.aws_stepfunctions.CustomState``, ...; and by the innermost
``sm_constructs`` / app function that sent them) and the CPU seconds of Python and of its Node
child (from ``/proc``). The report is the difference between two counts divided by the pipelines
added: what one more pipeline costs. It wraps jsii's (internal) process provider, so it is a
measuring tool only. ``--kind`` counts only the requests whose kind contains the text given, to
find where one kind of request comes from.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import runpy
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: Frames whose file starts with one of these name the call site (the innermost one wins).
OURS = (str(ROOT / "sm_constructs"), str(ROOT / "app.py"), str(ROOT / "bench" / "apps"))
OUTSIDE = "(aws-cdk-lib / jsii)"


@dataclass
class Profile:
    """Requests to the jsii kernel and CPU seconds of one synth with ``pipelines`` pipelines."""

    pipelines: int
    by_kind: collections.Counter[str] = field(default_factory=collections.Counter)
    by_function: collections.Counter[str] = field(default_factory=collections.Counter)
    python_cpu: float = 0.0
    node_cpu: float = 0.0

    @property
    def calls(self) -> int:
        return sum(self.by_kind.values())

    @property
    def cpu(self) -> float:
        return self.python_cpu + self.node_cpu

    def to_json(self) -> dict[str, Any]:
        return {
            "pipelines": self.pipelines,
            "by_kind": dict(self.by_kind),
            "by_function": dict(self.by_function),
            "python_cpu": self.python_cpu,
            "node_cpu": self.node_cpu,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Profile:
        return cls(
            data["pipelines"],
            collections.Counter(data["by_kind"]),
            collections.Counter(data["by_function"]),
            data["python_cpu"],
            data["node_cpu"],
        )


def _descendants_cpu(pid: int) -> float:
    """User + system CPU seconds of the processes below ``pid``, from ``/proc``: the jsii runtime's
    Node and the kernel Node it starts."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            # /proc/<pid>/stat: fields 14 and 15 (utime, stime) in clock ticks, after the parenthesised name
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks + _descendants_cpu(int(child))
    return total


def _profile_here(app: Path, pipelines: int, kind: str = "") -> Profile:
    """Run ``app`` in this process with ``BENCH_PIPELINES=pipelines``, counting what it sends to jsii
    (only the requests whose kind contains ``kind``)."""
    from jsii._kernel.providers.process import _NodeProcess

    profile = Profile(pipelines)
    send = _NodeProcess.send

    def counting_send(self: Any, request: Any, response_type: Any) -> Any:
        name = getattr(request, "method", None) or getattr(request, "property", None) or getattr(request, "fqn", "")
        request_kind = f"{type(request).__name__}:{name}"
        if kind not in request_kind:
            return send(self, request, response_type)
        profile.by_kind[request_kind] += 1
        frame = sys._getframe(1)
        site = OUTSIDE
        while frame is not None:
            filename = frame.f_code.co_filename
            if filename.startswith(OURS):
                site = f"{os.path.relpath(filename, ROOT)} {frame.f_code.co_qualname}"
                break
            frame = frame.f_back
        profile.by_function[site] += 1
        return send(self, request, response_type)

    _NodeProcess.send = counting_send  # type: ignore[method-assign]
    os.environ["BENCH_PIPELINES"] = str(pipelines)
    os.environ.setdefault("CDK_OUTDIR", tempfile.mkdtemp(prefix="jsii-calls-"))
    sys.argv = [str(app)]
    runpy.run_path(str(app), run_name="__main__")
    profile.python_cpu = time.process_time()
    profile.node_cpu = _descendants_cpu(os.getpid())  # the kernel still runs: jsii stops it at exit
    return profile


def profile(app: Path, pipelines: int, kind: str = "", outdir: Path | None = None) -> Profile:
    """:func:`_profile_here` in a fresh Python process (what ``cdk synth`` runs), synthesizing into
    ``outdir`` (Default: - a temporary directory)."""
    with tempfile.TemporaryDirectory(prefix="jsii-calls-") as temporary:
        env = {**os.environ, "CDK_OUTDIR": str(outdir or temporary)}
        env["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{env.get('PATH', '')}"
        done = subprocess.run(
            [sys.executable, __file__, str(app), "--one", str(pipelines), "--kind", kind],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
    if done.returncode != 0:
        raise SystemExit(f"{app.name} with {pipelines} pipeline(s) failed:\n{done.stderr[-3000:]}")
    return Profile.from_json(json.loads(done.stdout.splitlines()[-1]))


def profile_runs(app: Path, pipelines: int, runs: int, outdir: Path | None = None) -> Profile:
    """:func:`profile` ``runs`` times: the requests (the same every run) with the median CPU seconds, since
    one run's CPU also holds one-off work such as compiling a module changed since the last run."""
    profiles = [profile(app, pipelines, outdir=outdir) for _ in range(runs)]
    if any(p.by_kind != profiles[0].by_kind for p in profiles):
        raise SystemExit(f"{app.name} with {pipelines} pipeline(s) sent different requests in two runs")
    first = profiles[0]
    first.python_cpu = statistics.median(p.python_cpu for p in profiles)
    first.node_cpu = statistics.median(p.node_cpu for p in profiles)
    return first


def per_pipeline(low: Profile, high: Profile) -> Profile:
    """What one more pipeline costs: the difference of two profiles over the pipelines added."""
    added = high.pipelines - low.pipelines

    def diff(a: collections.Counter[str], b: collections.Counter[str]) -> collections.Counter[str]:
        return collections.Counter({k: (b[k] - a[k]) / added for k in a.keys() | b.keys() if b[k] != a[k]})

    return Profile(
        1,
        diff(low.by_kind, high.by_kind),
        diff(low.by_function, high.by_function),
        (high.python_cpu - low.python_cpu) / added,
        (high.node_cpu - low.node_cpu) / added,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app", type=Path)
    parser.add_argument("--pipelines", default="2,4", help="two pipeline counts (the report is their difference)")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--kind", default="", help="count only requests whose kind contains this text")
    parser.add_argument("--runs", type=int, default=1, help="runs per count (CPU: the median)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: profile one count, print JSON
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(_profile_here(args.app.resolve(), args.one, args.kind).to_json()))
        return
    low_n, high_n = (int(n) for n in args.pipelines.split(","))
    if args.kind:
        low, high = profile(args.app, low_n, args.kind), profile(args.app, high_n, args.kind)
    else:
        low, high = profile_runs(args.app, low_n, args.runs), profile_runs(args.app, high_n, args.runs)
    for p in (low, high):
        print(f"{p.pipelines:3d} pipeline(s): {p.calls:7d} jsii requests, CPU {p.python_cpu:.2f} s Python + "
              f"{p.node_cpu:.2f} s Node")  # fmt: skip
    one = per_pipeline(low, high)
    print(f"\nper extra pipeline ({low_n}→{high_n}): {one.calls:.0f} jsii requests, CPU {one.python_cpu:.2f} s "
          f"Python + {one.node_cpu:.2f} s Node")  # fmt: skip
    for title, counter in (("by kind", one.by_kind), ("by function", one.by_function)):
        print(f"\n{title}:")
        for key, count in counter.most_common(args.top):
            print(f"{count:9.1f}  {key}")


if __name__ == "__main__":
    main()
