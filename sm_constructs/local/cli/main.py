"""``sm-local`` (or ``python -m sm_constructs.local``): the local emulator for your CDK app.

Run in your CDK app's directory (the one with ``cdk.json``):

serve   [--port P] [--time-scale F]  run the emulator in the foreground until interrupted
deploy  [--time-scale F] [cdk deploy args...]
                                     start this directory's emulator unless it runs, bootstrap it once,
                                     ``cdk deploy --all --require-approval never`` into it (each added
                                     only when not given; ``--method=direct``, stack names... pass through)
run     <pipeline> [--input JSON]    start a pipeline execution in the emulator, follow it, end with a
                                     summary (``--json``: the execution's raw output instead)
destroy [cdk destroy args...]        ``cdk destroy --all --force`` in the emulator
env                                  print the variables that point AWS tools at the emulator
status                               the running emulator: URL, pid, work dir, time scale
scale   F                            change the running emulator's time scale (Wait states, retries,
                                     endpoint timings, slow-job faults); 1.0 is AWS's timing
reset                                stop the emulator and every process it started (warm interpreter,
                                     jobs, endpoint model servers), delete its state (``.sm-local/``)
demo    [--keep]                     deploy the reference app and run its churn pipeline (a fresh work dir)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..._run_summary import add_follow_arguments

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
    argv += ["--json"] if args.json else []
    return pipeline_main(argv)


def _env(args: argparse.Namespace) -> int:
    from .project import LocalProject

    project = LocalProject(args.app_dir)
    env = project.env(project.require_url(), account=args.account)
    names = ["AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION"]
    for name in [*names, "AWS_SESSION_TOKEN"] if "AWS_SESSION_TOKEN" in env else names:
        print(f"export {name}={env[name]}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from .project import LocalProject

    answer = LocalProject(args.app_dir).health()
    print(f"emulator on {answer['url']} (pid {answer['pid']}, started {answer['started']})")
    print(f"work dir {answer['workdir']}; time scale {answer['time_scale']}")
    return 0


def _scale(args: argparse.Namespace) -> int:
    from .project import LocalProject

    LocalProject(args.app_dir).set_time_scale(args.factor)
    return 0


def _reset(args: argparse.Namespace) -> int:
    from .project import LocalProject

    project = LocalProject(args.app_dir)
    stopped = project.reset()
    for pid, kind in stopped:
        print(f"sm-local: stopped {kind} (pid {pid})")
    print(f"sm-local: {'emulator stopped' if stopped else 'no emulator was running'}, {project.workdir} removed")
    return 0


def _emulator_arguments(parser: argparse.ArgumentParser, *, time_scale: float) -> None:
    """The options of a command that starts an emulator in this process (``serve``, ``demo``)."""
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=Path(".sm-local"))
    parser.add_argument("--time-scale", type=float, default=time_scale)


def build_parser() -> argparse.ArgumentParser:
    """The command line; ``deploy`` and ``destroy`` pass arguments it does not know on to the CDK CLI."""
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--app-dir", type=Path, default=None, help="the CDK app directory (default: here)")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the emulator in the foreground")
    _emulator_arguments(serve, time_scale=1.0)
    serve.add_argument("--no-iam", action="store_true", help="do not enforce IAM (also: SM_LOCAL_IAM=off)")
    serve.set_defaults(func=_serve)
    demo = sub.add_parser("demo", help="deploy and run the reference app")
    _emulator_arguments(demo, time_scale=0.05)
    demo.add_argument("--keep", action="store_true", help="leave the emulator running")
    demo.set_defaults(func=_demo)
    deploy = sub.add_parser("deploy", help="cdk deploy this app into the emulator")
    deploy.add_argument("--port", type=int, default=0, help="port for a new emulator (default: a free one)")
    deploy.add_argument(
        "--time-scale",
        type=float,
        default=None,
        help="factor for Wait states, retries, endpoint timings (default: 1.0 for a new emulator; "
        "a running one is changed to it)",
    )
    deploy.set_defaults(func=_deploy)
    destroy = sub.add_parser("destroy", help="cdk destroy this app in the emulator")
    destroy.set_defaults(func=_destroy)
    run = sub.add_parser("run", help="start a pipeline execution and follow it")
    run.add_argument("pipeline", help="state machine name or ARN")
    run.add_argument("--input", help="execution input: JSON object, or @file.json")
    add_follow_arguments(run, interval=1.0)  # passed on to sm-pipeline run --watch
    run.set_defaults(func=_run)
    env = sub.add_parser("env", help="print export lines for the emulator")
    env.add_argument("--account", help="act in another emulated account (12 digits), e.g. a release's staging account")
    env.set_defaults(func=_env)
    sub.add_parser("status", help="the running emulator: URL, pid, work dir, time scale").set_defaults(func=_status)
    scale = sub.add_parser("scale", help="change the running emulator's time scale")
    scale.add_argument("factor", type=float, help="e.g. 0.05: waits and endpoint timings 20x faster; 1.0: AWS's")
    scale.set_defaults(func=_scale)
    sub.add_parser("reset", help="stop the emulator and what it started, delete its state").set_defaults(func=_reset)
    return parser


#: Commands whose unknown arguments go to ``cdk deploy`` / ``cdk destroy``.
PASS_THROUGH = ("deploy", "destroy")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command in PASS_THROUGH:
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
