"""Read a run's lineage back (``sm-pipeline lineage``): from an execution, a model version or an
endpoint to the chain data → jobs → model version → endpoint, with boto3 only (no CDK).

The entities are those :mod:`sm_constructs.lineage` records: a context per execution (its
``Source.SourceUri`` the execution ARN), an action per step (``AssociatedWith`` the context; its
source the job, version or endpoint ARN) and artifacts that are ``ContributedTo`` an action (read)
or ``Produced`` by it (written). From the starting actions the walk goes upstream (what they read,
and the actions that wrote that) and downstream (what they wrote, and the actions that read that).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Action", "Lineage", "chain_lines", "read_lineage", "run_outcome", "start_actions"]

#: The most actions a walk visits (a model read by many later runs would otherwise list them all).
MAX_ACTIONS = 200
_RUN_LINK = "AssociatedWith"


@dataclass
class Action:
    arn: str
    type: str
    source: str
    #: the action's Status: ``Completed``, or ``Failed`` for the job a failed run failed at
    status: str = "Completed"
    reads: list[tuple[str, str, str]] = field(default_factory=list)  # (artifact ARN, type, URI)
    writes: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class Lineage:
    actions: dict[str, Action] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)


def _pages(call: Callable[..., dict[str, Any]], key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    token = None
    while True:
        page = call(**kwargs, **({"NextToken": token} if token else {}))
        yield from page.get(key, [])
        token = page.get("NextToken")
        if not token:
            return


def _associations(sm: Any, **where: str) -> list[dict[str, Any]]:
    found = _pages(sm.list_associations, "AssociationSummaries", MaxResults=100, **where)
    return [a for a in found if a.get("AssociationType") != _RUN_LINK]


def start_actions(sm: Any, target: str) -> list[str]:
    """The actions a target names: an execution ARN (its run's steps), a model package version ARN
    (the registration that produced it, or the deployments that read it) or an endpoint name."""
    if ":execution:" in target:
        contexts = list(_pages(sm.list_contexts, "ContextSummaries", SourceUri=target, MaxResults=100))
        return [
            a["SourceArn"]
            for c in contexts
            for a in _pages(sm.list_associations, "AssociationSummaries", DestinationArn=c["ContextArn"])
            if a.get("AssociationType") == _RUN_LINK
        ]
    if ":model-package/" in target:
        artifacts = list(_pages(sm.list_artifacts, "ArtifactSummaries", SourceUri=target, MaxResults=100))
        ends = [a["SourceArn"] for x in artifacts for a in _associations(sm, DestinationArn=x["ArtifactArn"])]
        ends += [a["DestinationArn"] for x in artifacts for a in _associations(sm, SourceArn=x["ArtifactArn"])]
        return ends
    endpoint = sm.describe_endpoint(EndpointName=target)["EndpointArn"]
    return [a["ActionArn"] for a in _pages(sm.list_actions, "ActionSummaries", SourceUri=endpoint, MaxResults=100)]


def run_outcome(sm: Any, execution_arn: str) -> str | None:
    """How a run ended, as its context's properties say (``Outcome``, ``Error``, ``Step``):
    ``Rejected: QualityGateNotMet at QualityGate``; None when no context names the execution."""
    for context in _pages(sm.list_contexts, "ContextSummaries", SourceUri=execution_arn, MaxResults=100):
        properties = sm.describe_context(ContextName=context["ContextName"]).get("Properties") or {}
        outcome = properties.get("Outcome", "outcome not recorded")
        if "Error" in properties:
            outcome += f": {properties['Error']}" + (f" at {properties['Step']}" if "Step" in properties else "")
        return outcome
    return None


def _artifact(sm: Any, arn: str, cache: dict[str, tuple[str, str]]) -> tuple[str, str]:
    if arn not in cache:
        described = sm.describe_artifact(ArtifactArn=arn)
        cache[arn] = (described.get("ArtifactType", "-"), described["Source"]["SourceUri"])
    return cache[arn]


def read_lineage(sm: Any, starts: list[str]) -> Lineage:
    """Every action upstream and downstream of ``starts``, with what each read and wrote."""
    lineage, artifacts = Lineage(), {}  # type: ignore[var-annotated]
    todo = [(arn, direction) for arn in starts for direction in ("up", "down")]
    seen: set[tuple[str, str]] = set()
    while todo and len(lineage.actions) < MAX_ACTIONS:
        arn, direction = todo.pop(0)
        if (arn, direction) in seen:
            continue
        seen.add((arn, direction))
        action = lineage.actions.get(arn)
        if action is None:
            described = sm.describe_action(ActionName=arn)
            action = Action(
                arn, described.get("ActionType", "-"), described["Source"]["SourceUri"], described.get("Status", "-")
            )
            for a in _associations(sm, DestinationArn=arn):
                action.reads.append((a["SourceArn"], *_artifact(sm, a["SourceArn"], artifacts)))
            for a in _associations(sm, SourceArn=arn):
                action.writes.append((a["DestinationArn"], *_artifact(sm, a["DestinationArn"], artifacts)))
            lineage.actions[arn] = action
        if direction == "up":  # who wrote what this read
            for artifact, _, _ in action.reads:
                todo += [(a["SourceArn"], "up") for a in _associations(sm, DestinationArn=artifact)]
        else:  # who read what this wrote
            for artifact, _, _ in action.writes:
                todo += [(a["DestinationArn"], "down") for a in _associations(sm, SourceArn=artifact)]
    lineage.order = _ordered(lineage)
    return lineage


def _ordered(lineage: Lineage) -> list[str]:
    """Actions in dependency order: a writer before its readers."""
    writer = {w[0]: arn for arn, a in lineage.actions.items() for w in a.writes}
    order: list[str] = []

    def visit(arn: str, path: tuple[str, ...]) -> None:
        if arn in order or arn in path or arn not in lineage.actions:
            return
        for read, _, _ in lineage.actions[arn].reads:
            if read in writer:
                visit(writer[read], (*path, arn))
        order.append(arn)

    for arn in lineage.actions:
        visit(arn, ())
    return order


def chain_lines(lineage: Lineage) -> list[str]:
    """The chain as text: the data no step of the chain wrote, then each step with what it read and wrote
    (a step whose action is not Completed with its status: ``TrainingJob (Failed): <job ARN>``)."""
    written = {w[0] for a in lineage.actions.values() for w in a.writes}
    data = {r[0]: r for a in lineage.actions.values() for r in a.reads if r[0] not in written}
    lines = [f"data: {kind} {uri}" for _, kind, uri in sorted(data.values(), key=lambda r: (r[1], r[2]))]
    for arn in lineage.order:
        action = lineage.actions[arn]
        status = "" if action.status == "Completed" else f" ({action.status})"
        lines.append(f"{action.type}{status}: {action.source}")
        lines += [f"    read  {kind} {uri}" for _, kind, uri in action.reads]
        lines += [f"    wrote {kind} {uri}" for _, kind, uri in action.writes]
    kinds = [lineage.actions[a].type for a in lineage.order]
    if kinds:
        lines.append("chain: data → " + " → ".join(kinds))
    return lines
