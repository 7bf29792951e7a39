"""Reading state machine definitions the way CloudFormation will deploy them.

CDK renders a definition with deploy-time values as ``Fn::Join`` of JSON text and intrinsics
(partition, key ARNs, bucket names). The pieces are joined here with a marker in place of each
intrinsic (quoted where the intrinsic stands for a whole JSON value), ``DefinitionSubstitutions``
are applied like CloudFormation does, and the parsed ASL carries :class:`Deployed` for each
intrinsic: a rule sees that a field holds a key ARN, never a made-up literal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .._json_text import parts_in_strings
from ._values import MARKER as _MARK
from ._values import MARKER_RE as _MARK_RE
from ._values import MISSING, Deployed, RunTime

__all__ = ["Machine", "Task", "convert", "get", "read_machine"]

_SUBSTITUTION_RE = re.compile(r"\$\{([^}]+)\}")
#: Step Functions' SageMaker integrations: optimized (``sagemaker:``) and AWS SDK (``aws-sdk:sagemaker:``).
#: Resource ARN shapes: Step Functions Developer Guide, "Integrating services" / "AWS SDK integrations".
_RESOURCE_RE = re.compile(
    r":states:::(?P<sdk>aws-sdk:)?sagemaker:(?P<action>[a-zA-Z]+)(?P<pattern>\.sync(?::2)?|\.waitForTaskToken)?$"
)
_JSONATA_RE = re.compile(r"^\{%.*%\}$", re.DOTALL)


def _is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    (name,) = value
    return name == "Ref" or name.startswith("Fn::")


def convert(value: Any, parameters: frozenset[str], intrinsics: list[Any] | None = None) -> Any:
    """Replace intrinsics (and markers standing for them) by :class:`Deployed`, recursively."""
    if _is_intrinsic(value):
        return _deployed(value, parameters)
    if isinstance(value, dict):
        return {k: convert(v, parameters, intrinsics) for k, v in value.items()}
    if isinstance(value, list):
        return [convert(v, parameters, intrinsics) for v in value]
    if isinstance(value, str) and intrinsics is not None:
        whole = _MARK_RE.fullmatch(value)
        if whole:
            return _deployed(intrinsics[int(whole.group(1))], parameters)
    return value


def _deployed(intrinsic: Any, parameters: frozenset[str]) -> Deployed:
    (name, arg), *_ = intrinsic.items()
    if name in ("Fn::GetAtt", "Fn::ImportValue"):
        return Deployed(intrinsic, resource=True)
    if name == "Ref":
        return Deployed(intrinsic, resource=not str(arg).startswith("AWS::") and arg not in parameters)
    return Deployed(intrinsic, resource=False)


def _join(parts: list[Any], intrinsics: list[Any]) -> str:
    """Concatenate literal JSON text and intrinsics; an intrinsic outside a JSON string becomes a quoted marker."""
    out: list[str] = []
    for part, in_string in parts_in_strings(parts):
        if isinstance(part, str):
            out.append(part)
        else:
            intrinsics.append(part)
            marker = _MARK.format(len(intrinsics) - 1)
            out.append(marker if in_string else f'"{marker}"')
    return "".join(out)


def _substitute(text: str, substitutions: dict[str, Any], intrinsics: list[Any]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in substitutions:
            return match.group(0)
        value = substitutions[name]
        if isinstance(value, str):
            return value
        if isinstance(value, bool | int | float):
            return json.dumps(value)
        intrinsics.append(value)
        return _MARK.format(len(intrinsics) - 1)

    return _SUBSTITUTION_RE.sub(replace, text)


@dataclass
class Task:
    """A Task state that calls SageMaker."""

    name: str
    state: dict[str, Any]
    #: SageMaker API action, e.g. ``createTrainingJob``; :attr:`operation` is botocore's ``CreateTrainingJob``.
    action: str
    sdk: bool
    #: ``.sync``, ``.sync:2``, ``.waitForTaskToken`` or ``""`` (request-response).
    pattern: str
    #: The request: ``Parameters`` (JSONPath) or ``Arguments`` (JSONata), intrinsics as :class:`Deployed`.
    request: Any
    #: Enclosing Parallel and Map states, innermost last.
    enclosing: list[dict[str, Any]] = field(default_factory=list)

    @property
    def operation(self) -> str:
        return self.action[0].upper() + self.action[1:]


@dataclass
class Machine:
    """A state machine's definition as read from its CloudFormation properties."""

    #: ``None`` when the definition cannot be read (``DefinitionS3Location`` outside the app's own file
    #: assets, or wholly an intrinsic).
    asl: dict[str, Any] | None
    #: Why the definition could not be read.
    unreadable: str = ""
    tasks: list[Task] = field(default_factory=list)


def read_machine(
    properties: dict[str, Any], parameters: frozenset[str], read_object: Callable[[Any], str | None] | None = None
) -> Machine:
    """Parse ``DefinitionString`` / ``Definition`` / ``DefinitionS3Location`` (with ``DefinitionSubstitutions``)
    of resolved properties; ``read_object`` gives the text of an S3 location that is one of the app's file
    assets (``None`` for any other)."""
    intrinsics: list[Any] = []
    substitutions = properties.get("DefinitionSubstitutions") or {}
    body = properties.get("DefinitionString")
    if body is None and isinstance(properties.get("Definition"), dict):
        body = json.dumps(properties["Definition"])  # intrinsics inside stay as objects; converted below
    if isinstance(body, dict) and set(body) == {"Fn::Join"}:
        separator, parts = body["Fn::Join"]
        if separator:
            parts = [p for i, part in enumerate(parts) for p in ([separator, part] if i else [part])]
        text = _join(parts, intrinsics)
    elif isinstance(body, str):
        text = body
    elif "DefinitionS3Location" in properties:
        stored = read_object(properties["DefinitionS3Location"]) if read_object else None
        if stored is None:
            return Machine(None, "the definition is read from S3 (DefinitionS3Location) at deploy time")
        text = stored
    else:
        return Machine(None, f"the definition is not JSON text ({str(body)[:80]})")
    text = _substitute(text, substitutions if isinstance(substitutions, dict) else {}, intrinsics)
    try:
        asl = convert(json.loads(text), parameters, intrinsics)
    except json.JSONDecodeError as error:
        return Machine(None, f"the definition is not valid JSON after joining its parts ({error})")
    machine = Machine(asl)
    top_jsonata = asl.get("QueryLanguage") == "JSONata"
    for name, state, enclosing in _states(asl):
        task = _task(name, state, enclosing, top_jsonata)
        if task is not None:
            machine.tasks.append(task)
    return machine


def _states(asl: dict[str, Any], enclosing: list[dict[str, Any]] | None = None) -> Iterator[tuple[str, dict, list]]:
    """Every state with its enclosing Parallel/Map states, descending into branches and item processors."""
    outer = enclosing or []
    states = asl.get("States")
    if not isinstance(states, dict):
        return
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        yield name, state, outer
        for branch in state.get("Branches") or []:
            if isinstance(branch, dict):
                yield from _states(branch, [*outer, state])
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                yield from _states(state[key], [*outer, state])


def _task(name: str, state: dict[str, Any], enclosing: list, top_jsonata: bool) -> Task | None:
    resource = state.get("Resource")
    if state.get("Type") != "Task" or not isinstance(resource, str):
        return None
    match = _RESOURCE_RE.search(resource)
    if not match:
        return None
    jsonata = state.get("QueryLanguage", "JSONata" if top_jsonata else "JSONPath") == "JSONata"
    request = state.get("Arguments", MISSING) if jsonata else state.get("Parameters", MISSING)
    if jsonata:
        request = _jsonata(request)
    return Task(
        name=name,
        state=state,
        action=match.group("action"),
        sdk=bool(match.group("sdk")),
        pattern=match.group("pattern") or "",
        request=request,
        enclosing=list(enclosing),
    )


def _jsonata(value: Any) -> Any:
    if isinstance(value, str) and _JSONATA_RE.match(value.strip()):
        return RunTime(value)
    if isinstance(value, dict):
        return {k: _jsonata(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonata(v) for v in value]
    return value


def get(obj: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path``: literal, :data:`MISSING`, :class:`Deployed` or :class:`RunTime` (``Key.$``)."""
    current = obj
    for key in path:
        if isinstance(current, RunTime | Deployed):
            return current
        if not isinstance(current, dict):
            return MISSING
        if key in current:
            current = current[key]
        elif f"{key}.$" in current:
            return RunTime(str(current[f"{key}.$"]))
        else:
            return MISSING
    return MISSING if current is None else current
