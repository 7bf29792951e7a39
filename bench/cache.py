"""Step caching in the local emulator: what a re-run costs with the reference pipeline's cache on.

Deploys the reference app into the emulator (real CDK CLI, as ``make demo``), then runs the churn
pipeline three times:

1. first run (nothing cached),
2. unchanged re-run,
3. re-run with one training hyperparameter changed (``numRound``).

For each: SageMaker jobs created (processing, training, transform; read from the emulated
SageMaker), wall time, and state transitions (``*StateEntered`` events in the execution history,
what Standard workflows are billed by). Run: ``.venv/bin/python bench/cache.py [--markdown out.md]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sm_constructs.local.cli.demo import (  # noqa: E402
    ACCOUNT_ID,
    REGION,
    LocalSession,
    deploy,
    emulator_env,
    stack_outputs,
    start_server,
    start_synth,
    stop_server,
    upload_sample,
)
from sm_constructs.local.server import _free_port  # noqa: E402

STATE_MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:sm-constructs-churn"


def _jobs(session: Any) -> dict[str, int]:
    sm = session.client("sagemaker")
    return {
        "processing": len(sm.list_processing_jobs(MaxResults=100)["ProcessingJobSummaries"]),
        "training": len(sm.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]),
        "transform": len(sm.list_transform_jobs(MaxResults=100)["TransformJobSummaries"]),
    }


def _run(session: Any, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    sfn = session.client("stepfunctions")
    before = _jobs(session)
    started = time.monotonic()
    arn = sfn.start_execution(stateMachineArn=STATE_MACHINE, name=name, input=json.dumps(payload))["executionArn"]
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        time.sleep(0.2)
    seconds = time.monotonic() - started
    events = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
        events.extend(page["events"])
    after = _jobs(session)
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
    return {
        "status": described["status"],
        "seconds": seconds,
        "transitions": len(entered),
        "created": {k: after[k] - before[k] for k in after},
        "hits": sorted(n.removesuffix("CacheHit") for n in entered if n.endswith("CacheHit")),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="sm-cache-bench-"))
    synth = start_synth(workdir)
    proc, url = start_server(_free_port(), workdir, time_scale=0.05)
    try:
        deploy(emulator_env(url), workdir, synth)
        session = LocalSession(url)
        raw = upload_sample(session, stack_outputs(session)["bucket"])
        runs = [
            ("first run", _run(session, "bench-first", {"inputDataUri": raw})),
            ("unchanged re-run", _run(session, "bench-unchanged", {"inputDataUri": raw})),
            ("numRound 120 → 150", _run(session, "bench-changed", {"inputDataUri": raw, "numRound": "150"})),
        ]
    finally:
        stop_server(proc)
    lines = [
        "| run | status | processing jobs | training jobs | transform jobs | wall time | state transitions | cache hits |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for label, r in runs:
        c = r["created"]
        lines.append(
            f"| {label} | {r['status']} | {c['processing']} | {c['training']} | {c['transform']} | "
            f"{r['seconds']:.1f} s | {r['transitions']} | {', '.join(r['hits']) or '-'} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n")
    return 0 if all(r["status"] == "SUCCEEDED" for _, r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
