"""``python -m sm_constructs.local serve|demo``: the local emulator, and the reference pipeline run in it.

serve [--port P] [--workdir DIR] [--time-scale F]   run the emulator until interrupted
demo  [--port P] [--workdir DIR] [--time-scale F] [--keep]
      start the emulator, cdk bootstrap + cdk deploy the reference app into it with the CDK CLI,
      upload the sample data, run the churn pipeline with a progress display and print where
      its outputs are; stops the emulator on exit (``--keep`` leaves it running)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .demo import demo, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sm_constructs.local", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func in (("serve", serve), ("demo", demo)):
        cmd = sub.add_parser(name)
        cmd.add_argument("--port", type=int, default=0)
        cmd.add_argument("--workdir", type=Path, default=Path(".sm-local"))
        cmd.add_argument("--time-scale", type=float, default=1.0 if name == "serve" else 0.05)
        if name == "serve":
            cmd.add_argument("--no-iam", action="store_true", help="do not enforce IAM (also: SM_LOCAL_IAM=off)")
        if name == "demo":
            cmd.add_argument("--keep", action="store_true", help="leave the emulator running")
        cmd.set_defaults(func=func)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except RuntimeError as error:
        print(f"sm_constructs.local: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
