"""Mermaid diagrams of synthesized state machines.

``python -m sm_constructs.diagram cdk.out/<Stack>.template.json`` prints a Mermaid flowchart of
every state machine in the template (or ``--state-machine <logical id prefix>`` for one), read
from the synthesized ``DefinitionString``: the picture is of what deploys, not of the code.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["definitions_in_template", "to_mermaid"]

_SHAPES = {
    "Task": ('["', '"]'),
    "Choice": ('{"', '"}'),
    "Succeed": ('(["', '"])'),
    "Fail": ('(["', '"])'),
    "Pass": ('>"', '"]'),
    "Wait": ('[/"', '"/]'),
    "Parallel": ('[["', '"]]'),
    "Map": ('[["', '"]]'),
}


#: Choice states of a cached step (sm_constructs.jobs.cache): the hit-or-miss decision, the candidate check.
_CACHE_CHOICES = ("CacheHitOrMiss", "CacheCandidate")


def _placeholder(part: Any) -> str:
    return part if isinstance(part, str) else "x"


def definitions_in_template(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Logical id -> ASL of each state machine; CloudFormation intrinsics become placeholders."""
    out: dict[str, dict[str, Any]] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::StepFunctions::StateMachine":
            continue
        body = resource["Properties"].get("DefinitionString")
        if isinstance(body, dict) and "Fn::Join" in body:
            sep, parts = body["Fn::Join"]
            body = sep.join(_placeholder(p) for p in parts)
        if isinstance(body, str):
            out[logical_id] = json.loads(body)
    return out


def _node_id(prefix: str, name: str) -> str:
    return prefix + re.sub(r"[^A-Za-z0-9_]", "_", name)


def _label(name: str, state: dict[str, Any]) -> str:
    resource = str(state.get("Resource", ""))
    action = resource.rsplit(":", 1)[-1] if ":states:::" in resource else ""
    text = f"{name}<br/><small>{action}</small>" if action else name
    return text.replace('"', "'")


def _lines(asl: dict[str, Any], prefix: str = "") -> Iterator[str]:
    states: dict[str, Any] = asl.get("States", {})
    start = asl.get("StartAt")
    if not prefix:
        yield "  start((start)) --> " + _node_id(prefix, str(start))
    for name, state in states.items():
        nid = _node_id(prefix, name)
        kind = state.get("Type", "Task")
        if kind in ("Parallel", "Map"):
            yield f'  subgraph {nid}_sub["{name} ({kind})"]'
            branches = state.get("Branches") or [state.get("ItemProcessor") or state.get("Iterator") or {}]
            for i, branch in enumerate(branches):
                inner = f"{nid}_b{i}_"
                yield "    " + _node_id(inner, str(branch.get("StartAt")))
                yield from ("  " + line for line in _lines(branch, inner))
            yield "  end"
            yield f"  {nid}{_SHAPES[kind][0]}{_label(name, state)}{_SHAPES[kind][1]}"
            yield f"  {nid} -.-> {nid}_sub"
        else:
            left, right = _SHAPES.get(kind, _SHAPES["Task"])
            yield f"  {nid}{left}{_label(name, state)}{right}"
        if "Next" in state:
            yield f"  {nid} --> {_node_id(prefix, state['Next'])}"
        cache_choice = kind == "Choice" and name.endswith(_CACHE_CHOICES)
        for choice in state.get("Choices", []):
            label = "cache hit" if name.endswith(_CACHE_CHOICES[0]) else "when"
            yield f"  {nid} -->|{label}| {_node_id(prefix, choice['Next'])}"
        if "Default" in state:
            label = "miss: run the job" if cache_choice else "otherwise"
            yield f"  {nid} -->|{label}| {_node_id(prefix, state['Default'])}"
        if name.endswith("CacheHit"):
            yield f"  class {nid} cacheHit"
        for catch in state.get("Catch", []):
            yield f"  {nid} -.->|catch| {_node_id(prefix, catch['Next'])}"
        if state.get("Retry"):
            yield f"  {nid} -. retry .-> {nid}"


def to_mermaid(asl: dict[str, Any]) -> str:
    """A Mermaid ``flowchart TD`` of one state machine definition; a cached step's reuse of an
    earlier job (its ``<step>CacheHit`` state) is drawn in its own colour."""
    lines = list(_lines(asl))
    if any(line.endswith(" cacheHit") for line in lines):
        lines.append("  classDef cacheHit fill:#e3f2e1,stroke:#2e7d32")
    return "flowchart TD\n" + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sm_constructs.diagram", description=__doc__.splitlines()[0])
    parser.add_argument("template", type=Path, help="synthesized CloudFormation template (JSON)")
    parser.add_argument("--state-machine", help="logical id (or its prefix) of the state machine to draw")
    args = parser.parse_args(argv)
    try:
        template = json.loads(args.template.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        print(f"error: cannot read {args.template}: {exc}", file=sys.stderr)
        return 2
    found = definitions_in_template(template)
    if args.state_machine:
        found = {k: v for k, v in found.items() if k.startswith(args.state_machine)}
    if not found:
        print(f"error: no matching state machine in {args.template}", file=sys.stderr)
        return 1
    for logical_id, asl in found.items():
        print(f"%% {logical_id}\n{to_mermaid(asl)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
