"""Where an app's synth time goes on the Python side: jsii kernel requests by kind and by call site.

Usage (``make bench`` does not run it)::

    .venv/bin/python bench/jsii_calls.py bench/apps/library.py --pipelines 10 [--top 30]

Every construct, property read or method call crosses to the Node jsii kernel and back (about
0.4 ms each on a 2-core machine), so the request count is the first thing to profile: the report
lists the request kinds (``InvokeRequest:toStatementJson``, ``StaticInvokeRequest:of``, ...) and
the innermost ``sm_constructs`` / app line that sent them. It wraps jsii's (internal) process
provider, so it is a measuring tool only.
"""

from __future__ import annotations

import argparse
import atexit
import collections
import os
import runpy
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app", type=Path)
    parser.add_argument("--pipelines", type=int, default=10)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()

    from jsii._kernel.providers.process import _NodeProcess

    by_site: collections.Counter[str] = collections.Counter()
    by_kind: collections.Counter[str] = collections.Counter()
    send = _NodeProcess.send
    ours = (str(ROOT / "sm_constructs"), str(ROOT / "app.py"), str(ROOT / "bench" / "apps"))

    def counting_send(self: Any, request: Any, response_type: Any) -> Any:
        name = getattr(request, "method", None) or getattr(request, "property", None) or getattr(request, "fqn", "")
        by_kind[f"{type(request).__name__}:{name}"] += 1
        frame = sys._getframe(1)
        site = "(aws-cdk-lib / jsii)"
        while frame is not None:
            filename = frame.f_code.co_filename
            if filename.startswith(ours):
                site = f"{os.path.relpath(filename, ROOT)}:{frame.f_lineno} {frame.f_code.co_name}"
                break
            frame = frame.f_back
        by_site[site] += 1
        return send(self, request, response_type)

    _NodeProcess.send = counting_send  # type: ignore[method-assign]

    def report() -> None:
        print(f"{sum(by_kind.values())} jsii requests for {args.app} with {args.pipelines} pipeline(s)")
        print("\nby kind:")
        for kind, count in by_kind.most_common(args.top):
            print(f"{count:7d}  {kind}")
        print("\nby call site:")
        for site, count in by_site.most_common(args.top):
            print(f"{count:7d}  {site}")

    atexit.register(report)
    os.environ["BENCH_PIPELINES"] = str(args.pipelines)
    os.environ.setdefault("CDK_OUTDIR", tempfile.mkdtemp(prefix="jsii-calls-"))
    sys.argv = [str(args.app)]
    runpy.run_path(str(args.app), run_name="__main__")


if __name__ == "__main__":
    main()
