"""Stop this SageMaker notebook instance after it has been idle for a while.

Installed by the NotebookInstance lifecycle configuration and run by cron every 5 minutes with the
notebook's own Python (which has boto3). It needs no internet: it reads the local Jupyter server's
sessions API and calls SageMaker through the VPC endpoint.

Idle means: no kernel is busy and the newest kernel activity is older than --idle-minutes. With no
sessions at all, the time since the first check that saw none is used (kept in a state file).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import ssl
import sys
import urllib.request
from pathlib import Path

SESSIONS_URL = "https://localhost:8443/api/sessions"
METADATA = Path("/opt/ml/metadata/resource-metadata.json")
STATE = Path("/home/ec2-user/.sm-autostop-idle-since")


def _parse(ts: str) -> dt.datetime:
    return dt.datetime.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.UTC)


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


def idle_since(sessions: list[dict], now: dt.datetime, state: Path = STATE) -> dt.datetime:
    activity = last_activity(sessions, now)
    if activity is not None:
        state.unlink(missing_ok=True)
        return activity
    if state.exists():
        return _parse(state.read_text().strip())
    state.write_text(now.strftime("%Y-%m-%dT%H:%M:%S"))
    return now


def fetch_sessions(url: str = SESSIONS_URL) -> list[dict]:
    context = ssl.create_default_context()
    context.check_hostname = False  # the local Jupyter server uses a self-signed certificate
    context.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(url, context=context, timeout=20) as response:
        return json.loads(response.read().decode())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-minutes", type=int, required=True)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    now = dt.datetime.now(dt.UTC)
    since = idle_since(fetch_sessions(), now)
    idle_minutes = (now - since).total_seconds() / 60
    name = json.loads(METADATA.read_text())["ResourceName"]
    print(f"{now.isoformat()} {name}: idle for {idle_minutes:.0f} of {args.idle_minutes} minutes")
    if idle_minutes >= args.idle_minutes and not args.dry_run:
        import boto3  # the notebook's JupyterSystemEnv has it

        boto3.client("sagemaker").stop_notebook_instance(NotebookInstanceName=name)
        print("stopping")
    return 0


if __name__ == "__main__":
    sys.exit(main())
