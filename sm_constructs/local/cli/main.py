"""``sm-local`` (or ``python -m sm_constructs.local``): the local emulator for your CDK app.

Run in your CDK app's directory (the one with ``cdk.json``):

serve   [--port P] [--time-scale F]  run the emulator in the foreground until interrupted
deploy  [cdk deploy args...]         start this directory's emulator if needed, bootstrap it once,
                                     ``cdk deploy --all`` into it (``--method=direct``, stack names... pass through)
run     <pipeline> [--input JSON]    start a pipeline execution in the emulator and follow it
destroy [cdk destroy args...]        ``cdk destroy --all --force`` in the emulator
env                                  print the variables that point AWS tools at the emulator
reset                                stop the emulator and delete its state (``.sm-local/``)
demo    [--keep]                     deploy the reference app and run its churn pipeline (a fresh work dir)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PROG = "sm-local"


def _serve(args: argparse.Namespace) -> int:
    from .demo import serve

    return serve(args)


def _demo(args: argparse.Namespace) -> int:
    from .demo import demo

    return demo(args)


def _deploy(args: argparse.Namespace) -> int:
    from .project import LocalProject

    LocalProject(args.app_dir).deploy(*args.cdk_args, port=args.port, time_scale=args.time_scale)
    return 0


def _destroy(args: argparse.Namespace) -> int:
    from .project import LocalProject

    LocalProject(args.app_dir).destroy(*args.cdk_args)
    return 0


def _run(args: argparse.Namespace) -> int:
    import os

    from ...cli import main as pipeline_main
    from .project import LocalProject

    os.environ.update(LocalProject(args.app_dir).env(LocalProject(args.app_dir).require_url()))
    argv = ["run", args.pipeline, "--watch", "--interval", str(args.interval)]
    argv += ["--input", args.input] if args.input else []
    return pipeline_main(argv)


def _env(args: argparse.Namespace) -> int:
    from .project import LocalProject

    project = LocalProject(args.app_dir)
    env = project.env(project.require_url())
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION"):
        print(f"export {name}={env[name]}")
    return 0


def _reset(args: argparse.Namespace) -> int:
    from .project import LocalProject

    project = LocalProject(args.app_dir)
    project.reset()
    print(f"sm-local: emulator stopped, {project.workdir} removed")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--app-dir", type=Path, default=None, help="the CDK app directory (default: here)")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the emulator in the foreground")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--workdir", type=Path, default=Path(".sm-local"))
    serve.add_argument("--time-scale", type=float, default=1.0)
    serve.add_argument("--no-iam", action="store_true", help="do not enforce IAM (also: SM_LOCAL_IAM=off)")
    serve.set_defaults(func=_serve)
    demo = sub.add_parser("demo", help="deploy and run the reference app")
    demo.add_argument("--port", type=int, default=0)
    demo.add_argument("--workdir", type=Path, default=Path(".sm-local"))
    demo.add_argument("--time-scale", type=float, default=0.05)
    demo.add_argument("--keep", action="store_true", help="leave the emulator running")
    demo.set_defaults(func=_demo)
    deploy = sub.add_parser("deploy", help="cdk deploy this app into the emulator")
    deploy.add_argument("--port", type=int, default=0, help="port for a new emulator (default: a free one)")
    deploy.add_argument("--time-scale", type=float, default=1.0, help="Wait/Retry factor for a new emulator")
    deploy.set_defaults(func=_deploy)
    destroy = sub.add_parser("destroy", help="cdk destroy this app in the emulator")
    destroy.set_defaults(func=_destroy)
    run = sub.add_parser("run", help="start a pipeline execution and follow it")
    run.add_argument("pipeline", help="state machine name or ARN")
    run.add_argument("--input", help="execution input: JSON object, or @file.json")
    run.add_argument("--interval", type=float, default=1.0)
    run.set_defaults(func=_run)
    sub.add_parser("env", help="print export lines for the emulator").set_defaults(func=_env)
    sub.add_parser("reset", help="stop the emulator, delete its state").set_defaults(func=_reset)
    args, rest = parser.parse_known_args(argv)
    if args.command in ("deploy", "destroy"):
        args.cdk_args = rest
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        return int(args.func(args))
    except RuntimeError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
