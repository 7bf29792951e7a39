"""Synth-time validation that speaks to the user.

Every construct collects all problems with its props and raises them once, as a
:class:`ConstructValidationError` naming the construct kind and path, the field, the bad value
and the rule. Unresolved tokens (values known only at deploy or run time) are skipped: they are
checked by the service instead.

The rules come from where AWS keeps them: :func:`check_request` walks every request we render
against botocore's model of the API (SageMaker, SNS, S3, Step Functions), so limits, enums and
patterns follow the API when botocore updates; :func:`typed` checks the types of public props and
arguments at construction. Hand-written rules remain only for what no model knows (files exist,
cross-field rules, unique names, our own name budgets).
"""

from __future__ import annotations

import collections.abc
import dataclasses
import difflib
import functools
import gzip
import inspect
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from types import UnionType
from typing import Any, Literal, ParamSpec, Protocol, TypeVar, Union, get_args, get_origin, get_type_hints

# aws_cdk, constructs and ._memo (which imports aws_cdk) are imported where used: the emulator checks the
# requests it receives with this module's model walk, and a process that imports aws_cdk starts a jsii kernel.

__all__ = [
    "ConstructValidationError",
    "Problems",
    "carry",
    "check_fields",
    "check_request",
    "check_type",
    "check_value",
    "is_token",
    "received_request_problems",
    "service_shapes",
    "traced",
    "typed",
    "whole_seconds",
]

#: Name pattern shared by SageMaker jobs, models, endpoints and endpoint configs.
SAGEMAKER_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
ML_INSTANCE_RE = re.compile(r"^ml\.[a-z0-9]+[a-z0-9-]*\.[a-z0-9]+$")


class ConstructValidationError(ValueError):
    """Raised at synth time when a construct's props break a rule; lists every problem at once.

    :param kind: the construct's class name, e.g. ``TrainingDefinition``.
    :param path: the construct path (``Stack/Id``); empty when there is none yet.
    :param problems: one line per broken rule: prop as written, value, rule.
    """

    def __init__(self, kind: str, path: str, problems: list[str]) -> None:
        self.kind = kind
        self.path = path
        self.problems = list(problems)
        head = f"{kind} '{path}': " if path else f"{kind}: "
        if len(problems) == 1:
            message = head + problems[0]
        else:
            message = head + f"{len(problems)} problems:\n" + "\n".join(f"  - {p}" for p in problems)
        super().__init__(message)


#: A string or list-member token as aws-cdk-lib encodes it (core/lib/private/encoding.ts: "${Token[" or "#{Token[",
#: a key of VALID_KEY_CHARS 'a-zA-Z0-9:._-', "]}"). A user's literal text that merely contains "{Token[" is not one.
_TOKEN_STRING = re.compile(r"[$#]\{Token\[[a-zA-Z0-9:._-]+\]\}")
_STRING_TOKEN = re.compile(r"\$\{Token\[[a-zA-Z0-9:._-]+\]\}")


def is_token(value: Any) -> bool:
    """True when ``value`` is (or contains) an unresolved CDK token: it cannot be checked at synth."""
    if value is None:
        return False
    if isinstance(value, str):  # string tokens always carry this marker; no jsii round trip needed
        return _STRING_TOKEN.search(value) is not None
    if isinstance(value, int):  # number tokens are encoded as (huge negative) doubles, never as ints
        return False
    if isinstance(value, float) and not math.isfinite(value):  # not a token; jsii cannot even send NaN
        return False
    from aws_cdk import Token

    try:
        return bool(Token.is_unresolved(value))
    except Exception:  # pragma: no cover - jsii refuses some Python objects; those are not tokens
        return False


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# ---- props traced through rendering: request paths named by the prop they come from ------------
# A definition renders its request from its props in one place. To name the prop behind a request
# field, the request is rendered once more with every prop value wrapped in a subclass of its type
# that carries the prop's name (``cluster.volume_size_gb``); the walk reads the name off the value
# it finds at a request path. Values the renderer rebuilds (a list of ids from a list of security
# groups, seconds from a Duration) keep the name through :func:`carry`.


class _TracedStr(str):
    _prop: str


class _TracedInt(int):
    _prop: str


class _TracedFloat(float):
    _prop: str


class _TracedList(list[Any]):
    _prop: str


class _TracedDict(dict[Any, Any]):
    _prop: str


class _TracedDuration:
    """A Duration (a jsii object, which cannot be subclassed) that knows its prop; reads pass through."""

    def __init__(self, duration: Any, prop: str) -> None:
        self._duration = duration
        self._prop = prop

    def __getattr__(self, name: str) -> Any:
        return getattr(self._duration, name)


def prop_of(value: Any) -> str | None:
    """The prop a traced value was rendered from, or None."""
    return getattr(value, "_prop", None) if isinstance(value, _TRACED) else None


def _tag(value: Any, prop: str) -> Any:
    value._prop = prop
    return value


def carry(value: Any, source: Any) -> Any:
    """``value`` (rendered from ``source``) named by ``source``'s prop when ``source`` is traced."""
    prop = prop_of(source)
    if prop is None or isinstance(value, bool):
        return value
    for base, traced in _TRACED_TYPES:
        if isinstance(value, base):
            return _tag(traced(value), prop)
    return value


def traced(value: Any, prop: str) -> Any:
    """``value`` and everything in it tagged with its prop path (``inputs[0].source``)."""
    from aws_cdk import Duration

    if value is None or isinstance(value, (bool, *_TRACED)):
        return value
    if isinstance(value, str):
        return _tag(_TracedStr(value), prop)
    if isinstance(value, int):
        return _tag(_TracedInt(value), prop)
    if isinstance(value, float):
        return _tag(_TracedFloat(value), prop)
    if isinstance(value, list | tuple):
        return _tag(_TracedList(traced(v, f"{prop}[{i}]") for i, v in enumerate(value)), prop)
    if isinstance(value, dict):
        return _tag(_TracedDict((traced(k, prop), traced(v, f"{prop}[{k!r}]")) for k, v in value.items()), prop)
    if isinstance(value, Duration):
        return _TracedDuration(value, prop)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        copy = object.__new__(type(value))
        copy.__dict__.update(value.__dict__)
        for f in dataclasses.fields(value):
            object.__setattr__(copy, f.name, traced(getattr(value, f.name), f"{prop}.{f.name}"))
        return copy
    return value


def whole_seconds(duration: Any) -> int:
    """``int(duration.to_seconds())``, named by the Duration's prop when it is traced."""
    from ._memo import seconds

    resolved = seconds(duration)
    return carry(int(duration.to_seconds() if resolved is None else resolved), duration)


def whole_days(problems: Problems, field: str, duration: Any) -> int | None:
    """``duration`` in whole days, or None (a problem) when it is not a whole number of days; S3
    lifecycle rules and our cache count whole days. None for unresolved durations too."""
    if duration.is_unresolved():
        return None
    try:
        return int(duration.to_days())
    except Exception:  # jsii: CannotConvertedIntoWhole
        problems.add(field, duration.to_human_string(), "must be a whole number of days, e.g. Duration.days(1)")
        return None


_TRACED = (_TracedStr, _TracedInt, _TracedFloat, _TracedList, _TracedDict, _TracedDuration)
_TRACED_TYPES: tuple[tuple[type, type], ...] = (
    (str, _TracedStr),
    (int, _TracedInt),
    (float, _TracedFloat),
    (list, _TracedList),
    (dict, _TracedDict),
)


class Problems:
    """Collects a construct's prop problems and raises them together.

    ``kind`` is the construct class name and ``path`` its construct path (``scope.node.path/id``),
    so the user can find the offending call in a large app.
    """

    def __init__(self, kind: str, path: str | Callable[[], str]) -> None:
        self.kind = kind
        self._path = path
        self._items: list[str] = []

    @property
    def path(self) -> str:
        """The construct path, looked up only when there is something to report."""
        if callable(self._path):
            self._path = self._path()
        return self._path

    @classmethod
    def for_construct(cls, kind: str, scope: Any, id: str) -> Problems:
        """Problems of the construct ``id`` about to be created in ``scope``."""

        def path() -> str:
            parent = scope.node.path if scope is not None else ""
            return f"{parent}/{id}" if parent else id

        return cls(kind, path)

    @classmethod
    def at(cls, kind: str, construct: Any) -> Problems:
        """Problems of an existing construct (or of one in scope ``construct``)."""
        return cls(kind, lambda: str(construct.node.path))

    def add(self, field: str, value: Any, rule: str) -> None:
        self._append(f"{field}={_show(value)} is invalid: {rule}")

    def add_rendered(self, prop: str, request_field: str, value: Any, rule: str) -> None:
        """A problem of a rendered request, named by the prop first, then the request field:
        ``cluster.volume_size_gb=0 (ProcessingResources.ClusterConfig.VolumeSizeInGB) is invalid: ...``."""
        at = f" ({request_field})" if request_field != prop else ""
        self._append(f"{prop}={_show(value)}{at} is invalid: {rule}")

    def _append(self, item: str) -> None:
        if item not in self._items:  # the same value checked by two requests (create and update) is one problem
            self._items.append(item)

    def conflict(self, fields: Iterable[str], rule: str) -> None:
        self._items.append(f"{' and '.join(fields)} conflict: {rule}")

    def __bool__(self) -> bool:
        return bool(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def replace_from(self, start: int, items: Problems) -> None:
        """Put ``items``' problems in place of those added since the first ``start``."""
        self._items[start:] = [i for i in items._items if i not in self._items[:start]]

    def raise_if_any(self) -> None:
        if self._items:
            raise ConstructValidationError(self.kind, self.path, self._items)

    # ---- reusable rules -------------------------------------------------------------------
    def instance_type(self, field: str, value: Any, *, allow_none: bool = False) -> None:
        """SageMaker instance types look like ``ml.m5.xlarge``."""
        if value is None:
            if not allow_none:
                self.add(field, value, "an instance type is required (e.g. 'ml.m5.xlarge')")
            return
        if is_token(value):
            return
        if not isinstance(value, str) or not ML_INSTANCE_RE.fullmatch(value):
            self.add(field, value, "must be a SageMaker ML instance type such as 'ml.m5.xlarge'")

    def int_range(self, field: str, value: Any, low: int, high: int, unit: str = "") -> None:
        if value is None or is_token(value):
            return
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(field, value, f"must be a whole number between {low} and {high}{unit}")
        elif not low <= value <= high:
            self.add(field, value, f"must be between {low} and {high}{unit}")

    def name(self, field: str, value: Any, *, max_len: int, reserve: int = 0, what: str = "name") -> None:
        """A SageMaker resource name (or name prefix, when ``reserve`` chars are appended later)."""
        if value is None or is_token(value):
            return
        limit = max_len - reserve
        if not isinstance(value, str) or not value:
            self.add(field, value, f"{what} must be a non-empty string")
            return
        if not SAGEMAKER_NAME_RE.fullmatch(value):
            self.add(
                field,
                value,
                f"{what} must match ^[a-zA-Z0-9](-*[a-zA-Z0-9])* (letters, digits, inner hyphens)",
            )
        if len(value) > limit:
            extra = f" (SageMaker allows {max_len}; {reserve} are reserved for the run suffix)" if reserve else ""
            self.add(field, value, f"{what} is {len(value)} chars; use at most {limit}{extra}")

    def s3_prefix(self, field: str, value: Any) -> None:
        """A key prefix inside a bucket: no leading slash, no ``s3://`` scheme."""
        if value is None or is_token(value):
            return
        if not isinstance(value, str):
            self.add(field, value, "must be a string key prefix such as 'raw/'")
        elif value.startswith("/") or value.startswith("s3://") or "*" in value:
            self.add(field, value, "must be a key prefix inside the bucket, e.g. 'raw/' (no '/', 's3://' or '*')")

    def s3_uri(self, field: str, value: Any) -> None:
        if value is None or is_token(value):
            return
        if not isinstance(value, str) or not value.startswith("s3://"):
            self.add(field, value, "must be an S3 URI such as 's3://bucket/prefix/'")
        elif (rule := s3_uri_rule(value)) is not None:
            self.add(field, value, rule)

    def one_of(self, field: str, value: Any, allowed: Iterable[Any]) -> None:
        if value is None or is_token(value):
            return
        options = list(allowed)
        if value not in options:
            self.add(field, value, f"must be one of {', '.join(repr(o) for o in options)}")


# ---- the API models: every request checked against the service's own constraints ---------------
#: SageMaker marks a field that carries a JSONPath (``DataProcessing.InputFilter`` ...) with this shape.
_JSONPATH_SHAPES = frozenset({"JsonPath"})
#: How many enum values an error lists in full; longer enums (instance types) show the nearest ones.
_ENUM_LISTED = 12


@cache
def service_shapes(service: str) -> dict[str, Any]:
    """The ``shapes`` and ``operations`` of botocore's model of ``service`` (newest API version).

    Read straight from the JSON botocore ships (once per process, about 40 ms for SageMaker): a
    botocore session would cost ten times that and is not needed to read constraints.
    """
    import botocore

    root = Path(botocore.__file__).parent / "data" / service
    version = sorted(p.name for p in root.iterdir() if (p / "service-2.json.gz").exists())[-1]
    with gzip.open(root / version / "service-2.json.gz") as f:
        model: dict[str, Any] = json.load(f)
    return model


@cache
def _java_pattern(pattern: str) -> Any:
    """A botocore (Java) pattern compiled with ``regex``, which knows ``\\p{L}``-style classes; None if it
    cannot be compiled (the constraint is then left to the service)."""
    import regex

    try:
        return regex.compile(pattern)
    except regex.error:  # pragma: no cover - no current SageMaker pattern fails to compile
        return None


def _is_runtime(value: Any) -> bool:
    """A value known only at deploy or run time: a string/list token or a number token."""
    if isinstance(value, str):
        return _TOKEN_STRING.search(value) is not None  # "${Token[..]}" strings, "#{Token[..]}" list members
    if isinstance(value, bool | int) or value is None:
        return False
    if isinstance(value, float):
        return is_token(value)
    if isinstance(value, list):  # a list token is one "#{Token[..]}" member; a static list of tokens has a size
        return len(value) == 1 and isinstance(value[0], str) and _TOKEN_STRING.match(value[0]) is not None
    return False


def looks_like_jsonpath(value: Any) -> bool:
    """``$.x``, ``$$.x``, ``$`` or ``$[..]``: a path that Step Functions would send literally from a static field."""
    return isinstance(value, str) and (value in ("$", "$$") or value.startswith(("$.", "$$.", "$[")))


def jsonpath_rule(value: str) -> str:
    return (
        f"a JSONPath in a static field is sent literally, not read from the state; pass it as a path, e.g. "
        f"sfn.JsonPath.string_at({value!r})"
    )


def _nearest(value: str, options: list[str]) -> str:
    """The closest options to a typo; for dotted values (instance types) else the same family or size."""
    close = difflib.get_close_matches(value, options, n=3, cutoff=0.6)
    if not close and "." in value:
        family, _, size = value.rpartition(".")
        close = [o for o in options if o.startswith(family + ".")][:3] or [
            o for o in options if o.endswith("." + size)
        ][:3]
    return f"; nearest: {', '.join(repr(c) for c in close)}" if close else ""


class _RequestWalk:
    """Walks a request's static parts against the shapes of one service model."""

    def __init__(self, problems: Problems, service: str, operation: str, *, received: bool = False) -> None:
        model = service_shapes(service)
        self.shapes: dict[str, Any] = model["shapes"]
        self.problems = problems
        self.source = f"{model['metadata'].get('serviceId', service)} {operation}"
        #: A request as the service receives it (not one we render into a state machine): its strings
        #: are data, never JSONPaths or ``.$`` fields, and members the model does not name are left
        #: to the service's own handler.
        self.received = received

    def add(self, path: str, value: Any, rule: str, shape: str, origin: Any = None) -> None:
        """A problem at request ``path``, named by the prop it came from when the value carries one."""
        prop = prop_of(value if origin is None else origin)
        rule = f"{rule} ({self.source}, shape {shape})"
        if prop is None:
            self.problems.add(path, value, rule)
        else:
            self.problems.add_rendered(prop, path, value, rule)

    def walk(self, shape_name: str, value: Any, path: str) -> None:
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if not self.received and _is_runtime(value):  # a received request holds values, never tokens
            return
        if kind == "structure":
            self._structure(shape_name, shape, value, path)
        elif kind == "list":
            if not isinstance(value, list | tuple):
                self.add(path, value, "must be a list", shape_name)
                return
            self._size(shape_name, shape, value, path, "items")
            member = shape["member"]["shape"]
            for i, item in enumerate(value):
                self.walk(member, item, f"{path}[{i}]")
        elif kind == "map":
            if not isinstance(value, Mapping):
                self.add(path, value, "must be a map", shape_name)
                return
            self._size(shape_name, shape, value, path, "entries")
            for key, item in value.items():
                if not isinstance(key, str) or (key.endswith(".$") and not self.received):
                    continue
                self.walk(shape["key"]["shape"], key, f"{path} key")
                self.walk(shape["value"]["shape"], item, f"{path}.{key}")
        elif kind == "string":
            self._string(shape_name, shape, value, path)
        elif kind in ("integer", "long", "float", "double"):
            self._number(shape_name, shape, value, path, whole=kind in ("integer", "long"))
        elif kind == "boolean" and not isinstance(value, bool):
            self.add(path, value, "must be true or false", shape_name)

    def _structure(self, shape_name: str, shape: dict[str, Any], value: Any, path: str) -> None:
        if not isinstance(value, Mapping):
            self.add(path, value, "must be an object", shape_name)
            return
        members: dict[str, Any] = shape.get("members", {})
        at = f"{path}." if path else ""
        for key, item in value.items():
            name = key[:-2] if key.endswith(".$") and not self.received else key
            if name not in members:
                if self.received:
                    continue
                self.add(f"{at}{name}", item, f"not a field of {shape_name}{_nearest(name, list(members))}", shape_name)
            elif key == name:
                if item is None:
                    if name in shape.get("required", []):
                        self.add(f"{at}{name}", None, "is required", shape_name)
                    continue
                self.walk(members[name]["shape"], item, f"{at}{name}")
        for name in shape.get("required", []):
            if name not in value and f"{name}.$" not in value:
                self.add(f"{at}{name}", None, "is required", shape_name)

    def _size(self, shape_name: str, shape: dict[str, Any], value: Any, path: str, unit: str) -> None:
        low, high = shape.get("min"), shape.get("max")
        if low is not None and len(value) < low:
            self.add(path, value, f"has {len(value)} {unit}; at least {low}", shape_name)
        if high is not None and len(value) > high:
            self.add(path, f"<{len(value)} {unit}>", f"has {len(value)} {unit}; at most {high}", shape_name, value)

    def _string(self, shape_name: str, shape: dict[str, Any], value: Any, path: str) -> None:
        if not isinstance(value, str):
            self.add(path, value, f"must be a string, not {type(value).__name__}", shape_name)
            return
        if not self.received and looks_like_jsonpath(value) and shape_name not in _JSONPATH_SHAPES:
            prop = prop_of(value)
            if prop is None:
                self.problems.add(path, value, jsonpath_rule(value))
            else:
                self.problems.add_rendered(prop, path, value, jsonpath_rule(value))
            return
        enum = shape.get("enum")
        if enum is not None:
            if value not in enum:
                listed = ", ".join(repr(e) for e in enum) if len(enum) <= _ENUM_LISTED else f"{len(enum)} values"
                self.add(path, value, f"must be one of {listed}{_nearest(value, enum)}", shape_name)
            return
        low, high = shape.get("min"), shape.get("max")
        if low is not None and len(value) < low:
            self.add(path, value, f"is {len(value)} characters; at least {low}", shape_name)
        if high is not None and len(value) > high:
            self.add(path, value, f"is {len(value)} characters; at most {high}", shape_name)
        pattern = shape.get("pattern")
        if pattern and (high is None or len(value) <= high):
            compiled = _java_pattern(pattern)
            if compiled is not None and compiled.fullmatch(value) is None:
                self.add(path, value, f"must match {pattern}", shape_name)
                return
        bucket = None if self.received else s3_uri_rule(value)  # the API's URI patterns accept any bucket name
        if bucket is not None:
            self.add(path, value, bucket, shape_name)

    def _number(self, shape_name: str, shape: dict[str, Any], value: Any, path: str, *, whole: bool) -> None:
        wanted = int if whole else int | float
        if isinstance(value, bool) or not isinstance(value, wanted):
            self.add(path, value, f"must be {'a whole number' if whole else 'a number'}", shape_name)
            return
        low, high = shape.get("min"), shape.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = (
                f"between {low} and {high}"
                if low is not None and high is not None
                else (f"at least {low}" if low is not None else f"at most {high}")
            )
            self.add(path, value, f"must be {bounds}", shape_name)


def check_request(
    problems: Problems, service: str, operation: str, request: Mapping[str, Any], *, received: bool = False
) -> None:
    """Add a problem for every static part of ``request`` that ``operation`` of ``service`` rejects.

    Checks what botocore's own ParamValidator leaves out as well as what it checks: required
    members, types, ``enum``, ``min``/``max`` of strings, lists, maps and numbers, and ``pattern``
    (SageMaker's are Java regexes; ``regex`` reads their ``\\p{..}`` classes). Run-time values
    (``Key.$`` fields, tokens) are skipped; a static string that looks like a JSONPath is an error.

    :param received: the request as the service receives it (:func:`received_request_problems`).
    """
    model = service_shapes(service)
    walk = _RequestWalk(problems, service, operation, received=received)
    walk.walk(model["operations"][operation]["input"]["shape"], dict(request), "")


def received_request_problems(service: str, operation: str, request: Mapping[str, Any]) -> list[str]:
    """What ``operation`` of ``service`` refuses in a request it receives, one line a member.

    The model's constraints as a service checks them on receipt: required members, types, ``enum``,
    ``min``/``max`` and ``pattern``. botocore's client checks only required members, types and
    ``min``; AWS refuses the rest with a ``ValidationException``. Members the model does not name
    are left alone here, and strings are data (no JSONPath rule).
    """
    problems = Problems(operation, "")
    check_request(problems, service, operation, request, received=True)
    return list(problems._items)


def check_value(problems: Problems, field: str, service: str, shape: str, value: Any) -> None:
    """One value against one shape of a service model (for values that are not part of a request we send)."""
    if value is None:
        return
    walk = _RequestWalk(problems, service, shape)
    walk.walk(shape, value, field)


def check_fields(problems: Problems, service: str, structure: str, fields: Mapping[str, tuple[str, Any]]) -> None:
    """Props checked against the members of one structure shape: ``{member: (prop name, value)}``.

    For resources CloudFormation creates (the API call it makes takes the same members), so the
    error names the prop rather than a request path.
    """
    model = service_shapes(service)
    members = model["shapes"][structure]["members"]
    walk = _RequestWalk(problems, service, structure)
    for member, (field, value) in fields.items():
        if value is not None:
            walk.walk(members[member]["shape"], value, field)


# ---- rules no API model holds, each with its source ---------------------------------------------
#: Amazon S3 User Guide, "General purpose bucket naming rules"
#: (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_BUCKET_IP_RE = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3")


def bucket_name_rule(name: str) -> str | None:
    """The S3 bucket naming rule ``name`` breaks, or None (tokens are left to deploy time)."""
    if is_token(name):
        return None
    source = "S3 general purpose bucket naming rules"
    if not _BUCKET_RE.fullmatch(name):
        return (
            f"bucket name {name!r} must be 3-63 characters of lowercase letters, digits, '.' and '-', "
            f"beginning and ending with a letter or digit ({source})"
        )
    if ".." in name or _BUCKET_IP_RE.fullmatch(name):
        return f"bucket name {name!r} must not contain '..' or look like an IP address ({source})"
    reserved = [p for p in _BUCKET_RESERVED_PREFIXES if name.startswith(p)]
    reserved += [x for x in _BUCKET_RESERVED_SUFFIXES if name.endswith(x)]
    if reserved:
        return f"bucket name {name!r} uses the reserved {reserved[0]!r} ({source})"
    return None


def s3_uri_rule(uri: str) -> str | None:
    """The rule an ``s3://bucket/key`` URI breaks (its bucket name), or None."""
    if not uri.startswith("s3://"):
        return None
    return bucket_name_rule(uri[5:].split("/", 1)[0])


#: EventBridge Scheduler User Guide, "Schedule types on EventBridge Scheduler"
#: (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html): a cron expression
#: has six fields (minutes hours day-of-month month day-of-week year), with these values and wildcards;
#: day-of-month and day-of-week cannot both be given: one of them is '?'.
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minutes", 0, 59, ()),
    ("hours", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 1, 7, _DAYS),
    ("year", 1970, 2199, ()),
)
#: The same guide: ``rate(value unit)``, a positive whole value, the unit singular for 1 and plural
#: otherwise (as EventBridge's rate expressions reference words it); ``at(yyyy-mm-ddThh:mm:ss)``.
_RATE_RE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_AT_RE = re.compile(r"^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$")
SCHEDULE_TYPES_PAGE = "EventBridge Scheduler User Guide, Schedule types"


def _cron_value(text: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    if text.upper() in names:
        return True
    return text.isdigit() and low <= int(text) <= high


def _cron_item(item: str, field: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    """One comma-separated item of a cron field: a value, range, '*', increment or the day wildcards."""
    if field == "day-of-month" and (item in ("L", "LW") or (item.endswith("W") and _cron_value(item[:-1], 1, 31, ()))):
        return True
    if field == "day-of-week":
        if item == "L" or (item.endswith("L") and _cron_value(item[:-1], low, high, names)):
            return True
        if "#" in item:
            day, _, nth = item.partition("#")
            return _cron_value(day, low, high, names) and nth in ("1", "2", "3", "4", "5")
    base, slash, step = item.partition("/")
    if slash and (field in ("day-of-week",) or not step.isdigit() or int(step) < 1):
        return False
    if base == "*":
        return True
    start, dash, end = base.partition("-")
    if dash:
        return _cron_value(start, low, high, names) and _cron_value(end, low, high, names)
    return _cron_value(start, low, high, names)


def schedule_expression_rule(expression: str) -> str | None:
    """The EventBridge Scheduler rule ``expression`` breaks, or None."""
    if is_token(expression):
        return None
    source = f"({SCHEDULE_TYPES_PAGE})"
    if expression.startswith("cron(") and expression.endswith(")"):
        fields = expression[5:-1].split()
        if len(fields) != 6:
            return (
                f"a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), not "
                f"{len(fields)}; e.g. 'cron(0 2 * * ? *)' for 02:00 every day {source}"
            )
        for text, (field, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
            if text == "?":
                if field not in ("day-of-month", "day-of-week"):
                    return f"'?' is allowed in day-of-month and day-of-week only, not in {field} {source}"
                continue
            if not all(_cron_item(item, field, low, high, names) for item in text.split(",")):
                named = f" or {names[0]}-{names[-1]}" if names else ""
                return f"cron field {field} {text!r} is not valid: values {low}-{high}{named} {source}"
        if (fields[2] == "?") == (fields[4] == "?"):
            return f"exactly one of day-of-month and day-of-week must be '?' {source}"
        return None
    rate = _RATE_RE.fullmatch(expression)
    if expression.startswith("rate("):
        if rate is None or int(rate.group(1)) < 1:
            return f"a rate expression is rate(<positive whole number> minute(s)|hour(s)|day(s)) {source}"
        if (int(rate.group(1)) == 1) != (not rate.group(2).endswith("s")):
            return f"the unit is singular for 1 and plural otherwise, e.g. rate(1 hour), rate(5 hours) {source}"
        return None
    at = _AT_RE.fullmatch(expression)
    if at is not None:
        import datetime

        try:
            year, month, day, hour, minute, second = (int(g) for g in at.groups())
            datetime.datetime(year, month, day, hour, minute, second)
        except ValueError as exc:
            return f"at(...) is not a valid date and time ({exc}) {source}"
        return None
    return f"must be cron(<6 fields>), rate(<value> <unit>) or at(yyyy-mm-ddThh:mm:ss) {source}"


# ---- Step Functions names we build from user input ---------------------------------------------
#: aws-cdk-lib's StateMachine rule (``validateStateMachineName`` in aws-stepfunctions/lib/state-machine.ts),
#: within botocore's ``Name`` shape of CreateStateMachine (1-80 characters).
STATE_MACHINE_NAME_RE = re.compile(r"^[a-z0-9+!@.()\-=_']+$", re.IGNORECASE)
#: JSONPath member names Step Functions reads with the ``$.a.b`` dot notation (no quoting needed).
JSONPATH_MEMBER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_state_machine_name(problems: Problems, field: str, name: Any) -> None:
    if name is None or is_token(name):
        return
    check_value(problems, field, "stepfunctions", "Name", name)
    if isinstance(name, str) and name and not STATE_MACHINE_NAME_RE.fullmatch(name):
        problems.add(
            field, name, f"state machine names match {STATE_MACHINE_NAME_RE.pattern} (aws-cdk-lib StateMachine)"
        )


def arn_resource_name(problems: Problems, field: str, arn: Any, *, service: str, resource: str, sep: str = "/") -> str:
    """The name in a fixed ARN ``arn:<partition>:<service>:<region>:<account>:<resource><sep><name>``
    (AWS General Reference, "Amazon Resource Names"); a problem naming ``field`` when ``arn`` is not one."""
    parts = arn.split(":", 5) if isinstance(arn, str) else []
    head = parts[5] if len(parts) == 6 else ""
    kind, _, name = head.partition(sep) if resource else ("", "", head)  # S3: arn:<partition>:s3:::<name>
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != service or kind != resource or not name:
        shape = f"<region>:<account>:{resource}{sep}<name>" if resource else "::<name>"
        problems.add(field, arn, f"must be an ARN arn:<partition>:{service}:{shape}")
    return name


def check_jsonpath_member(problems: Problems, field: str, name: Any) -> None:
    """A name that becomes ``$.<...>.<name>`` in a state: letters, digits and '_' only."""
    if isinstance(name, str) and not JSONPATH_MEMBER_RE.fullmatch(name):
        problems.add(field, name, f"becomes a JSONPath member ('$.input.{name}'): use {JSONPATH_MEMBER_RE.pattern}")


# ---- construction-time type checks of public props and arguments ------------------------------
P = ParamSpec("P")
R = TypeVar("R")


def _type_text(hint: Any) -> str:
    origin = get_origin(hint)
    args = get_args(hint)
    if hint is type(None):
        return "None"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (Union, UnionType):
        return " | ".join(_type_text(a) for a in args)
    if origin in (list, tuple, Sequence, collections.abc.Sequence):
        return f"a sequence of {_type_text(args[0])}" if args else "a sequence"
    if origin in (dict, Mapping, collections.abc.Mapping):
        return f"a mapping of {_type_text(args[0])} to {_type_text(args[1])}" if args else "a mapping"
    return getattr(hint, "__name__", str(hint))


@cache
def _protocol_members(hint: type) -> tuple[str, ...]:
    """Public members a jsii interface (a ``typing.Protocol``) declares, inherited ones included."""
    names: set[str] = set()
    for cls in hint.__mro__:
        if cls in (object, Protocol) or not getattr(cls, "_is_protocol", False):
            continue
        names.update(n for n in vars(cls) if not n.startswith("_"))
    return tuple(sorted(names))


@cache
def _implements(value_type: Any, hint: Any) -> bool:
    """Structural check (as jsii does): the value's class has every member the interface declares."""
    return all(any(n in vars(c) for c in value_type.__mro__) for n in _protocol_members(hint))


def _implements_value(value: Any, hint: type) -> bool:
    # jsii hands back objects known only by several interfaces as one proxy over a delegate per interface.
    delegates = getattr(value, "_delegates", None) if type(value).__name__ == "InterfaceDynamicProxy" else None
    if delegates:
        names = _protocol_members(hint)
        return all(any(any(n in vars(c) for c in type(d).__mro__) for d in delegates) for n in names)
    value_type: Any = type(value)
    return _implements(value_type, hint)


@cache
def _hints(target: Any) -> dict[str, Any]:
    return get_type_hints(target)


def _matches(value: Any, hint: Any) -> bool:
    """Whether ``value`` has the type ``hint`` at the top level (containers' members are checked by the caller)."""
    if hint is Any or hint is object:
        return True
    if hint is type(None):
        return value is None
    origin = get_origin(hint)
    if origin is Literal:
        # A string outside the literal is a bad value, not a bad type: the API model's enum (or the
        # construct's own rule) reports it with the other problems, with the nearest matches.
        return value in get_args(hint) or (isinstance(value, str) and all(isinstance(a, str) for a in get_args(hint)))
    if origin in (Union, UnionType):
        return any(_matches(value, a) for a in get_args(hint))
    if origin in (list, tuple, collections.abc.Sequence):
        return isinstance(value, list | tuple)
    if origin in (dict, collections.abc.Mapping):
        return isinstance(value, Mapping)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and is_token(value)
        )
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(hint, type) and getattr(hint, "_is_protocol", False):
        return _implements_value(value, hint)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True  # a typing construct we do not check (TypeVar, Callable ...)


#: For the types other constructs are referred by (definitions, imports): what to pass, said in the
#: error when something else (e.g. a JSONPath string) was given. Filled by ``jobs.refs``.
WHAT_TO_PASS: dict[type, str] = {}


def _what_to_pass(hint: Any) -> str:
    options = get_args(hint) if get_origin(hint) in (Union, UnionType) else (hint,)
    return " or ".join(dict.fromkeys(WHAT_TO_PASS[t] for t in options if t in WHAT_TO_PASS))


def _check_duration(problems: Problems, field: str, value: Any) -> None:
    """Every Duration the library takes becomes whole seconds (SageMaker, Step Functions and CloudWatch
    count seconds): a fraction would fail deep inside jsii (CannotConvertedIntoWhole)."""
    from aws_cdk import Duration

    from ._memo import seconds

    if isinstance(value, Duration):
        try:
            seconds(value)
        except Exception:  # jsii: CannotConvertedIntoWhole
            problems.add(field, value.to_human_string(), "must be a whole number of seconds")


def check_type(problems: Problems, field: str, value: Any, hint: Any) -> None:
    """Add a problem when ``value`` is not of type ``hint``, looking into sequences, mappings and dataclasses."""
    _check_duration(problems, field, value)
    if not _matches(value, hint):
        wanted = _type_text(hint)
        got = "None" if value is None else type(value).__name__
        required = " (a value is required)" if value is None else ""
        instead = _what_to_pass(hint)
        if instead and value is not None:
            literal = (
                "a JSONPath string would be sent literally, not read at run time; "
                if looks_like_jsonpath(value)
                else ""
            )
            problems.add(field, value, f"{literal}pass {instead} (expected {wanted}, got {got})")
        else:
            problems.add(field, value, f"expected {wanted}, got {got}{required}")
        return
    origin = get_origin(hint)
    if origin in (Union, UnionType):
        fitting = [a for a in get_args(hint) if _matches(value, a)]
        if len(fitting) == 1:
            check_type(problems, field, value, fitting[0])
        return
    args = get_args(hint)
    if origin in (list, tuple, collections.abc.Sequence) and args:
        for i, item in enumerate(value):
            check_type(problems, f"{field}[{i}]", item, args[0])
    elif origin in (dict, collections.abc.Mapping) and len(args) == 2:
        for key, item in value.items():
            check_type(problems, f"{field} key", key, args[0])
            check_type(problems, f"{field}[{key!r}]", item, args[1])
    elif isinstance(hint, type) and dataclasses.is_dataclass(hint) and isinstance(value, hint):
        hints = _hints(type(value))
        for f in dataclasses.fields(value):
            check_type(problems, f"{field}.{f.name}", getattr(value, f.name), hints.get(f.name, Any))


def typed(method: Callable[P, R]) -> Callable[P, R]:
    """Check every argument of a public constructor or method against its annotations first.

    A wrong type (``None`` for a required value included) is a :class:`ConstructValidationError`
    naming the argument, the type given and the type wanted, instead of an AttributeError or a
    jsii error deep inside aws-cdk. Constructors (``scope, id``) report the path of the construct
    about to be created; methods the path of their construct.
    """
    from constructs import Construct

    signature = inspect.signature(method)
    is_init = method.__name__ == "__init__"

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        self = values.pop("self")
        kind = type(self).__name__
        if is_init:
            scope, id = values.get("scope"), values.get("id")
            is_scope = isinstance(scope, Construct) or hasattr(scope, "node")  # isinstance: no jsii call
            problems = Problems.for_construct(kind, scope if is_scope else None, str(id))
        else:
            problems = Problems.at(kind, self)
        hints = _hints(method)
        for name, value in values.items():
            if name in hints and signature.parameters[name].kind not in (
                inspect.Parameter.VAR_KEYWORD,
                inspect.Parameter.VAR_POSITIONAL,
            ):
                check_type(problems, name if is_init else f"{method.__name__}({name})", value, hints[name])
        problems.raise_if_any()
        return method(*args, **kwargs)

    return wrapper
