"""Stop this SageMaker notebook instance after it has been idle for a while.

Embedded in the NotebookInstance start script and run every 5 minutes by a systemd timer (cron
where systemd is missing). It needs no internet and no extra packages: it reads the local Jupyter
server's sessions API and calls SageMaker StopNotebookInstance through the VPC endpoint, with
boto3 when the interpreter has it, else with the AWS CLI that notebook instances ship.

Idle means: no kernel is busy and the newest kernel activity is older than --idle-minutes. With no
sessions at all, the time since the first check that saw none counts (kept in a state file that
lives outside the persistent ~/SageMaker volume, so every start begins a fresh count).

Written for any Python 3.7+: it may run under the notebook's system interpreter.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path

SESSIONS_URL = "https://localhost:8443/api/sessions"
METADATA = Path("/opt/ml/metadata/resource-metadata.json")
STATE = Path("/home/ec2-user/.sm-constructs/idle-since")
UTC = dt.timezone.utc  # noqa: UP017 - dt.UTC needs Python 3.11; the notebook's interpreter may be older
_FORMAT = "%Y-%m-%dT%H:%M:%S"


def _parse(ts: str) -> dt.datetime:
    return dt.datetime.strptime(ts[:19], _FORMAT).replace(tzinfo=UTC)


def last_activity(sessions: list[dict], now: dt.datetime) -> dt.datetime | None:
    """Newest kernel activity; ``now`` when a kernel is busy; None when there are no sessions."""
    if not sessions:
        return None
    newest = None
    for session in sessions:
        kernel = session.get("kernel") or {}
        if kernel.get("execution_state") == "busy":
            return now
        seen = kernel.get("last_activity")
        if seen:
            t = _parse(seen)
            newest = t if newest is None or t > newest else newest
    return newest or now


def idle_since(sessions: list[dict], now: dt.datetime, state: Path | None = None) -> dt.datetime:
    """When the notebook became idle; starts (and remembers) the clock when there are no sessions."""
    state = state or STATE
    activity = last_activity(sessions, now)
    if activity is not None:
        if state.exists():
            state.unlink()
        return activity
    if state.exists():
        return _parse(state.read_text().strip())
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(now.strftime(_FORMAT))
    return now


def fetch_sessions(url: str | None = None) -> list[dict]:
    context = ssl.create_default_context()
    context.check_hostname = False  # the local Jupyter server uses a self-signed certificate
    context.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(url or SESSIONS_URL, context=context, timeout=20) as response:
        return json.loads(response.read().decode())


def notebook_identity(metadata: Path | None = None) -> tuple[str, str]:
    """The notebook's name and region, from the metadata file SageMaker writes on the instance."""
    data = json.loads((metadata or METADATA).read_text())
    return data["ResourceName"], data["ResourceArn"].split(":")[3]


def stop_notebook(name: str, region: str) -> None:
    try:
        import boto3
    except ImportError:
        aws = shutil.which("aws") or "/usr/local/bin/aws"
        subprocess.run(
            [aws, "sagemaker", "stop-notebook-instance", "--notebook-instance-name", name, "--region", region],
            check=True,
        )
        return
    boto3.client("sagemaker", region_name=region).stop_notebook_instance(NotebookInstanceName=name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Stop this notebook instance when it is idle.")
    parser.add_argument("--idle-minutes", type=int, required=True)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    now = dt.datetime.now(UTC)
    since = idle_since(fetch_sessions(), now)
    idle_minutes = (now - since).total_seconds() / 60
    name, region = notebook_identity()
    print(f"{now.isoformat()} {name}: idle for {idle_minutes:.0f} of {args.idle_minutes} minutes")
    if idle_minutes >= args.idle_minutes and not args.dry_run:
        print("stopping")
        stop_notebook(name, region)
    return 0


if __name__ == "__main__":
    sys.exit(main())
