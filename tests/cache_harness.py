"""Run a synthesized stack's state machine in the local emulator without CloudFormation.

The stack is synthesized with a fixed account and region; its state machine definition is read
from the template with intrinsics resolved (pseudo parameters, mappings, ``Fn::Sub`` and the
values given for resources), its file assets are uploaded where the template expects them, and
the state machine is created through the emulator's Step Functions API.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from pathlib import Path
from typing import Any

ACCOUNT, REGION = "123456789012", "us-east-1"
_PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}


def _sub(text: str, extra: dict[str, str]) -> str:
    return re.sub(r"\$\{([^}]+)\}", lambda m: {**_PSEUDO, **extra}[m.group(1)], text)


def resolve(value: Any, template: dict[str, Any], resources: dict[str, str]) -> Any:
    if isinstance(value, list):
        return [resolve(v, template, resources) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (name, arg), *_ = value.items()
        if name == "Ref":
            return _PSEUDO.get(arg) or resources[arg]
        if name == "Fn::GetAtt":
            return resources[arg[0] if isinstance(arg, list) else arg.split(".")[0]]
        if name == "Fn::Join":
            return arg[0].join(str(resolve(p, template, resources)) for p in arg[1])
        if name == "Fn::Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], resolve(arg[1], template, resources))
            return _sub(text, extra)
        if name == "Fn::FindInMap":
            mapping, first, second = (resolve(a, template, resources) for a in arg)
            return template["Mappings"][mapping][first][second]
        if name == "Fn::Select":
            return resolve(arg[1], template, resources)[int(arg[0])]
        if name == "Fn::Split":
            return str(resolve(arg[1], template, resources)).split(arg[0])
    return {k: resolve(v, template, resources) for k, v in value.items()}


def state_machine_definition(template: dict[str, Any], resources: dict[str, str]) -> str:
    (machine,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    return str(resolve(machine["Properties"]["DefinitionString"], template, resources))


def upload_assets(session: Any, assembly_dir: Path, stack_name: str) -> None:
    manifest = json.loads((assembly_dir / f"{stack_name}.assets.json").read_text())
    s3 = session.client("s3")
    for asset in manifest.get("files", {}).values():
        source = assembly_dir / asset["source"]["path"]
        for dest in asset["destinations"].values():
            bucket, key = _sub(dest["bucketName"], {}), _sub(dest["objectKey"], {})
            with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
                s3.create_bucket(Bucket=bucket)
            s3.upload_file(str(source), bucket, key)


def run(session: Any, state_machine_arn: str, name: str, payload: dict[str, Any], timeout: float = 180) -> dict:
    """Start an execution, wait for it, return ``{status, output, events, seconds}``."""
    sfn = session.client("stepfunctions")
    started = time.monotonic()
    arn = sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload))["executionArn"]
    deadline = started + timeout
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            break
        time.sleep(0.2)
    seconds = time.monotonic() - started
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return {
        "arn": arn,
        "status": described["status"],
        "output": json.loads(described.get("output") or "null"),
        "events": events,
        "seconds": seconds,
        "entered": [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e],
        "described": described,
    }
