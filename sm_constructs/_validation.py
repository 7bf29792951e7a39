"""Synth-time validation that speaks to the user.

Every construct collects all problems with its props and raises them once, as a
:class:`ConstructValidationError` naming the construct kind and path, the field, the bad value
and the rule. Unresolved tokens (values known only at deploy or run time) are skipped: they are
checked by the service instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from aws_cdk import Token

__all__ = ["ConstructValidationError", "Problems", "is_token"]

#: Name pattern shared by SageMaker jobs, models, endpoints and endpoint configs.
SAGEMAKER_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
ML_INSTANCE_RE = re.compile(r"^ml\.[a-z0-9]+[a-z0-9-]*\.[a-z0-9]+$")


class ConstructValidationError(ValueError):
    """Raised at synth time when a construct's props break a rule; lists every problem at once."""

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


def is_token(value: Any) -> bool:
    """True when ``value`` is (or contains) an unresolved CDK token: it cannot be checked at synth."""
    if value is None:
        return False
    if isinstance(value, str):  # string tokens always carry this marker; no jsii round trip needed
        return "${Token[" in value
    if isinstance(value, int):  # number tokens are encoded as (huge negative) doubles, never as ints
        return False
    try:
        return bool(Token.is_unresolved(value))
    except Exception:  # pragma: no cover - jsii refuses some Python objects; those are not tokens
        return False


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


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
        self._items.append(f"{field}={_show(value)} is invalid: {rule}")

    def conflict(self, fields: Iterable[str], rule: str) -> None:
        self._items.append(f"{' and '.join(fields)} conflict: {rule}")

    def __bool__(self) -> bool:
        return bool(self._items)

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
        if not isinstance(value, str) or not ML_INSTANCE_RE.match(value):
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
        if not SAGEMAKER_NAME_RE.match(value):
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
        if not isinstance(value, str) or not re.match(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$", value):
            self.add(field, value, "must be an S3 URI such as 's3://bucket/prefix/'")

    def one_of(self, field: str, value: Any, allowed: Iterable[Any]) -> None:
        if value is None or is_token(value):
            return
        options = list(allowed)
        if value not in options:
            self.add(field, value, f"must be one of {', '.join(repr(o) for o in options)}")
