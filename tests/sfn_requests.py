"""Validate every SageMaker request a synthesized state machine sends against botocore's model.

The state machine definitions are read back from the CloudFormation template (``DefinitionString``,
often an ``Fn::Join`` of literals and intrinsics). Intrinsics become placeholder strings, run-time
``Key.$`` fields become placeholder values of the type the botocore shape asks for, and the result
goes through ``botocore.validate.validate_parameters`` — the same check boto3 applies before sending.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.model import OperationModel, Shape, StructureShape
from botocore.validate import validate_parameters

from sm_constructs._service_model import service_model

_SAGEMAKER = service_model("sagemaker")
_RESOURCE_RE = re.compile(r":states:::(?:aws-sdk:)?sagemaker:(\w+?)(?:\.sync|\.waitForTaskToken)?$")
PLACEHOLDER = "placeholder"


@dataclass
class SageMakerRequest:
    state_machine: str
    state: str
    operation: OperationModel
    parameters: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.state_machine}/{self.state} -> {self.operation.name}"


def _placeholder_intrinsic(value: dict[str, Any]) -> str:
    (name, arg), *_ = value.items()
    if name == "Ref":
        return f"ref-{arg}"
    if name == "Fn::GetAtt":
        return "arn:aws:iam::123456789012:role/getatt" if "Arn" in str(arg) else "getatt"
    return "intrinsic"


def resolve_definition(definition: Any) -> dict[str, Any]:
    """A state machine's ASL as a dict, intrinsics replaced by placeholder strings."""
    if isinstance(definition, str):
        return json.loads(definition)
    if isinstance(definition, dict) and "Fn::Join" in definition:
        sep, parts = definition["Fn::Join"]
        text = sep.join(p if isinstance(p, str) else _placeholder_intrinsic(p) for p in parts)
        return json.loads(text)
    raise TypeError(f"unsupported DefinitionString: {definition!r:.200}")


def inline_definitions(template: dict[str, Any], assembly: Path) -> dict[str, Any]:
    """``template`` with each ``DefinitionS3Location`` that is a file asset of ``assembly`` read back into
    ``DefinitionString`` as CloudFormation deploys it: ``${name}`` of ``DefinitionSubstitutions`` replaced
    by its value (an ``Fn::Join`` part where the value is an intrinsic)."""
    files = {}
    for manifest in assembly.glob("*.assets.json"):
        for asset in json.loads(manifest.read_text()).get("files", {}).values():
            for destination in asset["destinations"].values():
                files[destination["objectKey"]] = assembly / asset["source"]["path"]
    out = json.loads(json.dumps(template))
    for resource in out.get("Resources", {}).values():
        props = resource.get("Properties", {})
        if resource.get("Type") != "AWS::StepFunctions::StateMachine" or "DefinitionS3Location" not in props:
            continue
        text = files[props.pop("DefinitionS3Location")["Key"]].read_text()
        substitutions = props.pop("DefinitionSubstitutions", {})
        parts: list[Any] = []
        for i, piece in enumerate(re.split(r"\$\{([^}]+)\}", text)):
            parts.append(piece if i % 2 == 0 else substitutions.get(piece, "${" + piece + "}"))
        props["DefinitionString"] = {"Fn::Join": ["", [p for p in parts if p != ""]]}
    return out


def state_machines(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Logical id -> ASL for every state machine in a template."""
    out = {}
    for logical_id, res in template.get("Resources", {}).items():
        if res.get("Type") == "AWS::StepFunctions::StateMachine":
            props = res["Properties"]
            body = props.get("DefinitionString") or json.dumps(props.get("Definition"))
            out[logical_id] = resolve_definition(body)
    return out


def iter_states(asl: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state, descending into Parallel branches and Map processors."""
    for name, state in asl.get("States", {}).items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from iter_states(branch)
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from iter_states(state[key])


def state_named(template: dict[str, Any], name: str) -> dict[str, Any]:
    """The state called ``name`` in whichever state machine of the template holds it."""
    for asl in state_machines(template).values():
        for state_name, state in iter_states(asl):
            if state_name == name:
                return state
    raise KeyError(name)


def placeholder_for(shape: Shape) -> Any:
    """A minimal value of the right type for a run-time (``.$``) field."""
    t = shape.type_name
    if t == "string":
        if shape.enum:
            return shape.enum[0]
        return PLACEHOLDER.ljust(shape.metadata.get("min", 0), "x")
    if t in ("integer", "long"):
        return max(1, shape.metadata.get("min", 1))
    if t in ("float", "double"):
        return float(max(1, shape.metadata.get("min", 1)))
    if t == "boolean":
        return True
    if t == "timestamp":
        return "2026-01-01T00:00:00Z"
    if t == "list":
        return [placeholder_for(shape.member)] * max(1, shape.metadata.get("min", 1))  # type: ignore[attr-defined]
    if t == "map":
        return {PLACEHOLDER: placeholder_for(shape.value)}  # type: ignore[attr-defined]
    if t == "structure":
        assert isinstance(shape, StructureShape)
        return {name: placeholder_for(shape.members[name]) for name in shape.required_members}
    if t == "blob":
        return b"x"
    raise AssertionError(f"no placeholder for {t}")


def fill_runtime_fields(params: Any, shape: Shape, where: str = "") -> Any:
    """Replace every ``Key.$`` by ``Key`` with a typed placeholder; fail on keys the shape lacks."""
    if isinstance(params, dict) and shape.type_name == "structure":
        assert isinstance(shape, StructureShape)
        out: dict[str, Any] = {}
        for key, value in params.items():
            if key.endswith(".$"):
                name = key[:-2]
                member = shape.members.get(name)
                # Unknown keys stay unknown so that validation reports them.
                out[name] = placeholder_for(member) if member is not None else value
            else:
                member = shape.members.get(key)
                out[key] = fill_runtime_fields(value, member, f"{where}.{key}") if member is not None else value
        return out
    if isinstance(params, dict) and shape.type_name == "map":
        return {k: fill_runtime_fields(v, shape.value, f"{where}.{k}") for k, v in params.items()}  # type: ignore[attr-defined]
    if isinstance(params, list) and shape.type_name == "list":
        return [fill_runtime_fields(v, shape.member, f"{where}[]") for v in params]  # type: ignore[attr-defined]
    return params


def sagemaker_requests(template: dict[str, Any]) -> list[SageMakerRequest]:
    """Every SageMaker call in every state machine of a template, run-time fields filled."""
    found = []
    for sm_id, asl in state_machines(template).items():
        for name, state in iter_states(asl):
            match = _RESOURCE_RE.search(str(state.get("Resource", "")))
            if state.get("Type") != "Task" or not match:
                continue
            action = match.group(1)
            operation = _SAGEMAKER.operation_model(action[0].upper() + action[1:])
            params = fill_runtime_fields(state.get("Parameters", {}), operation.input_shape)
            found.append(SageMakerRequest(sm_id, name, operation, params))
    return found


def validate_request(request: SageMakerRequest) -> None:
    """Raise botocore's ParamValidationError when the request does not fit the API."""
    validate_parameters(request.parameters, request.operation.input_shape)


def assert_all_requests_valid(template: dict[str, Any], *, expect_at_least: int = 1) -> list[SageMakerRequest]:
    requests = sagemaker_requests(template)
    assert len(requests) >= expect_at_least, f"expected >= {expect_at_least} SageMaker requests, found {len(requests)}"
    errors = []
    for request in requests:
        try:
            validate_request(request)
        except Exception as exc:  # botocore.exceptions.ParamValidationError
            errors.append(f"{request}: {exc}")
    assert not errors, "\n".join(errors)
    return requests


# ---- AWS SDK integrations of any service (aws-sdk:<service>:<action>) -----------------------------
_SDK_RE = re.compile(r":states:::aws-sdk:(\w+):(\w+)$")
#: Step Functions' service names that differ from botocore's (AWS docs, "AWS SDK service integrations").
_SDK_SERVICES = {"sfn": "stepfunctions", "applicationautoscaling": "application-autoscaling"}


def _to_model_names(params: Any, shape: Shape) -> Any:
    """Step Functions takes PascalCase names; botocore's model may spell a member camelCase."""
    if isinstance(params, dict) and isinstance(shape, StructureShape):
        out = {}
        for key, value in params.items():
            bare = key[:-2] if key.endswith(".$") else key
            name = bare if bare in shape.members else bare[:1].lower() + bare[1:]
            name = name if name in shape.members else bare
            member = shape.members.get(name)
            out[name + (".$" if key.endswith(".$") else "")] = (
                _to_model_names(value, member) if member is not None and not key.endswith(".$") else value
            )
        return out
    if isinstance(params, list) and shape.type_name == "list":
        return [_to_model_names(v, shape.member) for v in params]  # type: ignore[attr-defined]
    return params


def sdk_requests(template: dict[str, Any]) -> list[SageMakerRequest]:
    """Every ``aws-sdk:<service>:<action>`` call in a template's state machines, run-time fields filled."""
    found = []
    for sm_id, asl in state_machines(template).items():
        for name, state in iter_states(asl):
            match = _SDK_RE.search(str(state.get("Resource", "")))
            if state.get("Type") != "Task" or not match:
                continue
            service, action = match.groups()
            model = service_model(_SDK_SERVICES.get(service, service))
            operation = model.operation_model(action[0].upper() + action[1:])
            params = _to_model_names(state.get("Parameters", {}), operation.input_shape)
            found.append(SageMakerRequest(sm_id, name, operation, fill_runtime_fields(params, operation.input_shape)))
    return found
