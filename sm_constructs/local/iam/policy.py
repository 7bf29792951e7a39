"""IAM policy evaluation for the local emulator, as AWS documents it.

The emulator authorizes each call a state machine or a job makes with :func:`authorize`. The logic
follows the IAM User Guide, "Policy evaluation logic" (reference_policies_evaluation-logic.html)
for requests within one account:

1. an explicit ``Deny`` in any applicable policy (identity-based or resource-based) denies;
2. otherwise an ``Allow`` in an identity-based policy, or in a resource-based policy that names
   the principal, allows; a resource-based policy that names only the account delegates to the
   account's identity-based policies;
3. AWS KMS is the exception (KMS developer guide, "Key policies in AWS KMS"): the key policy must
   allow the principal itself, or allow the account and so enable identity-based policies;
4. otherwise the request is implicitly denied.

Each statement is matched by ``Action``/``NotAction`` (case-insensitive, ``*`` and ``?``
wildcards), ``Resource``/``NotResource`` (ARNs matched component by component, as ``ArnLike``),
``Principal``/``NotPrincipal`` and every condition operator of the IAM User Guide's "IAM JSON
policy elements: Condition operators", with ``...IfExists``, ``ForAnyValue:``/``ForAllValues:``
and ``Null``. An operator the evaluator does not know fails closed: an ``Allow`` it guards does
not apply, a ``Deny`` it guards does, so the emulator is never more permissive than AWS.

moto's own evaluator (``moto.iam.access_control.IAMPolicyStatement``) was read and not reused: it
matches actions case-sensitively, ignores ``NotResource`` (a statement with ``NotResource``
allows everything), evaluates only ``StringEquals``, treats a missing condition key as a match,
and turns an unmet condition into an explicit deny (a ``Deny`` on ``aws:SecureTransport: false``
would deny every request). moto's IAM backend is still where the policies come from (see
:mod:`sm_constructs.local.iam.enforcement`).
"""

from __future__ import annotations

import datetime
import enum
import functools
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Decision", "Outcome", "Request", "authorize", "statement_applies"]

ContextValue = str | bool | int | float | Sequence[str]


@dataclass(frozen=True)
class Request:
    """One authorization request: who, what, on which resource, with which context keys.

    :param principal: the role ARN (``arn:aws:iam::<account>:role/<name>``) or a service principal
        (``logs.amazonaws.com``) when a service acts as itself.
    :param session: the role session name shown in AccessDenied messages.
    """

    principal: str
    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    session: str = "session"

    @property
    def account(self) -> str:
        parts = self.principal.split(":")
        return parts[4] if len(parts) > 4 else ""

    @property
    def caller(self) -> str:
        """The principal as AWS names it in error messages (an assumed-role session)."""
        match = re.fullmatch(r"arn:([^:]+):iam::(\d+):role/(?:.*/)?([^/]+)", self.principal)
        if not match:
            return self.principal
        return f"arn:{match.group(1)}:sts::{match.group(2)}:assumed-role/{match.group(3)}/{self.session}"

    def value(self, key: str) -> ContextValue | None:
        """Context keys are case-insensitive (IAM User Guide, "Condition element")."""
        lowered = key.lower()
        for name, value in self.context.items():
            if name.lower() == lowered:
                return value
        return None


class Decision(enum.Enum):
    ALLOW = "allow"
    IMPLICIT_DENY = "implicit deny"
    EXPLICIT_DENY = "explicit deny"


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    reason: str

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW

    def message(self, request: Request) -> str:
        """AWS's AccessDenied message (IAM User Guide, "Troubleshoot access denied error messages")."""
        return (
            f"User: {request.caller} is not authorized to perform: {request.action} "
            f"on resource: {request.resource} {self.reason}"
        )


# -- matching -------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4096)
def _wildcard(pattern: str, *, case: bool = True) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{regex}$", 0 if case else re.IGNORECASE | re.DOTALL)


def _like(pattern: str, value: str, *, case: bool = True) -> bool:
    return _wildcard(pattern, case=case).match(value) is not None


def _arn_like(pattern: str, value: str) -> bool:
    """ArnLike: each of the six colon-separated components matched on its own (IAM User Guide)."""
    if pattern == "*":
        return True
    pattern_parts, value_parts = pattern.split(":", 5), value.split(":", 5)
    if len(pattern_parts) != 6 or len(value_parts) != 6:
        return _like(pattern, value)
    return all(_like(p, v) for p, v in zip(pattern_parts, value_parts, strict=True))


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def _substitute(pattern: str, request: Request) -> str | None:
    """Policy variables (``${aws:username}``, ``${*}``); ``None`` when a variable has no value."""
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        if name in ("*", "?", "$"):
            return name
        value = request.value(name)
        if value is None or isinstance(value, list | tuple):
            missing = True
            return ""
        return str(value)

    result = _VARIABLE.sub(replace, pattern)
    return None if missing else result


def _action_matches(patterns: Any, action: str) -> bool:
    return any(_like(p, action, case=False) for p in _as_list(patterns))


def _resource_matches(patterns: Any, request: Request) -> bool:
    for pattern in _as_list(patterns):
        resolved = _substitute(pattern, request) if "${" in pattern else pattern
        if resolved is not None and _arn_like(resolved, request.resource):
            return True
    return False


def _account_root(account: str) -> set[str]:
    return {account, f"arn:aws:iam::{account}:root"}


def _principal_matches(principal: Any, request: Request) -> tuple[bool, bool]:
    """(names the principal itself, names the principal's account)."""
    if principal == "*":
        return True, True
    direct = account = False
    for kind, values in principal.items():
        for value in _as_list(values):
            if kind == "AWS":
                if value == "*":
                    return True, True
                if value == request.principal:
                    direct = True
                elif value in _account_root(request.account):
                    account = True
            elif kind == "Service" and value == request.principal:
                direct = True
    return direct, account


# -- conditions ------------------------------------------------------------------------------
def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _date(value: Any) -> datetime.datetime | None:
    try:
        if isinstance(value, int | float) or str(value).isdigit():
            return datetime.datetime.fromtimestamp(float(value), datetime.UTC)
        parsed = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)
    except ValueError:
        return None


def _bool(value: Any) -> str:
    return str(value).lower()


def _compare(base: str, expected: Any, actual: Any) -> bool | None:
    """One operator (without Not/IfExists/set prefixes) for one policy value and one context
    value; ``None`` for an operator this evaluator does not know."""
    text = str(actual)
    if base == "StringEquals":
        return text == str(expected)
    if base == "StringEqualsIgnoreCase":
        return text.lower() == str(expected).lower()
    if base == "StringLike":
        return _like(str(expected), text)
    if base in ("ArnEquals", "ArnLike"):
        return _arn_like(str(expected), text)
    if base == "Bool":
        return _bool(actual) == _bool(expected)
    if base.startswith("Numeric"):
        a, e = _number(actual), _number(expected)
        if a is None or e is None:
            return False
        return {
            "NumericEquals": a == e,
            "NumericLessThan": a < e,
            "NumericLessThanEquals": a <= e,
            "NumericGreaterThan": a > e,
            "NumericGreaterThanEquals": a >= e,
        }.get(base)
    if base.startswith("Date"):
        ad, ed = _date(actual), _date(expected)
        if ad is None or ed is None:
            return False
        return {
            "DateEquals": ad == ed,
            "DateLessThan": ad < ed,
            "DateLessThanEquals": ad <= ed,
            "DateGreaterThan": ad > ed,
            "DateGreaterThanEquals": ad >= ed,
        }.get(base)
    if base == "IpAddress":
        try:
            return ipaddress.ip_address(text) in ipaddress.ip_network(str(expected), strict=False)
        except ValueError:
            return False
    if base == "BinaryEquals":
        return text == str(expected)
    return None


_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


_OPERATORS = {
    "StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "Bool", "BinaryEquals",
    "IpAddress", "NumericEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan",
    "NumericGreaterThanEquals", "DateEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
    "DateGreaterThanEquals",
}  # fmt: skip


class _Unknown(Exception):
    """A condition operator this evaluator does not implement."""


def _condition_holds(operator: str, key: str, expected: Any, request: Request) -> bool:
    set_op = None
    if ":" in operator:
        set_op, operator = operator.split(":", 1)
        if set_op not in ("ForAnyValue", "ForAllValues"):
            raise _Unknown(operator)
    if_exists = operator.endswith("IfExists") and operator != "IfExists"
    if if_exists:
        operator = operator[: -len("IfExists")]
    actual = request.value(key)
    expected_values = [_substitute(v, request) if isinstance(v, str) and "${" in v else v for v in _as_list(expected)]
    if operator == "Null":
        # {"key": "true"}: the key is absent; {"key": "false"}: present (IAM User Guide, "Condition operator to check existence")
        return any((actual is None) == (_bool(v) == "true") for v in expected_values)
    negated = operator in _NEGATED
    base = _NEGATED.get(operator, operator)
    if base not in _OPERATORS:
        raise _Unknown(operator)
    if actual is None:
        if set_op == "ForAllValues":
            return True
        if set_op == "ForAnyValue":
            return False
        return if_exists or negated

    def matches(value: Any) -> bool:
        results = [_compare(base, e, value) for e in expected_values if e is not None]
        if any(r is None for r in results):
            raise _Unknown(operator)
        return any(results)

    values = _as_list(actual)
    if set_op == "ForAllValues":
        return all((not matches(v)) if negated else matches(v) for v in values)
    if set_op == "ForAnyValue":
        return any((not matches(v)) if negated else matches(v) for v in values)
    hit = any(matches(v) for v in values)
    return not hit if negated else hit


def _conditions_hold(conditions: Mapping[str, Mapping[str, Any]], request: Request, *, effect: str) -> bool:
    try:
        return all(
            _condition_holds(operator, key, expected, request)
            for operator, pairs in conditions.items()
            for key, expected in pairs.items()
        )
    except _Unknown:
        return effect == "Deny"  # fail closed


# -- statements and policies ------------------------------------------------------------------
def statement_applies(statement: Mapping[str, Any], request: Request, *, resource_policy: bool = False) -> bool:
    """Whether a statement matches the request (action, resource, principal, conditions)."""
    effect = statement.get("Effect", "Allow")
    if "Action" in statement:
        if not _action_matches(statement["Action"], request.action):
            return False
    elif "NotAction" in statement:
        if _action_matches(statement["NotAction"], request.action):
            return False
    else:
        return False
    if "Resource" in statement:
        if not _resource_matches(statement["Resource"], request):
            return False
    elif "NotResource" in statement:
        if _resource_matches(statement["NotResource"], request):
            return False
    elif not resource_policy:
        return False  # an identity-based statement without a resource grants nothing
    if resource_policy:
        if "Principal" in statement:
            direct, account = _principal_matches(statement["Principal"], request)
            if not (direct or account):
                return False
        elif "NotPrincipal" in statement:
            direct, account = _principal_matches(statement["NotPrincipal"], request)
            if direct or account:
                return False
        else:
            return False
    return _conditions_hold(statement.get("Condition", {}), request, effect=effect)


def _statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return _as_list(policy.get("Statement", []))


def _names_principal(statement: Mapping[str, Any], request: Request) -> tuple[bool, bool]:
    if "Principal" in statement:
        return _principal_matches(statement["Principal"], request)
    return True, False  # NotPrincipal statements that apply grant the principal itself


def authorize(
    request: Request,
    identity_policies: Iterable[Mapping[str, Any]],
    resource_policy: Mapping[str, Any] | None = None,
    *,
    key_policy: bool = False,
) -> Outcome:
    """The decision for ``request`` (see the module docs for the order of evaluation).

    :param identity_policies: the principal's policy documents (inline and managed).
    :param resource_policy: the bucket, topic or key policy of the resource, if any.
    :param key_policy: ``resource_policy`` is a KMS key policy (required: without one, KMS denies).
    """
    identity = list(identity_policies)
    action = request.action
    for policy in identity:
        for statement in _statements(policy):
            if statement.get("Effect") == "Deny" and statement_applies(statement, request):
                return Outcome(Decision.EXPLICIT_DENY, "with an explicit deny in an identity-based policy")
    resource_statements = _statements(resource_policy) if resource_policy else []
    for statement in resource_statements:
        if statement.get("Effect") == "Deny" and statement_applies(statement, request, resource_policy=True):
            return Outcome(Decision.EXPLICIT_DENY, "with an explicit deny in a resource-based policy")
    identity_allows = any(
        statement.get("Effect") == "Allow" and statement_applies(statement, request)
        for policy in identity
        for statement in _statements(policy)
    )
    direct_allow = account_allow = False
    for statement in resource_statements:
        if statement.get("Effect") == "Allow" and statement_applies(statement, request, resource_policy=True):
            direct, account = _names_principal(statement, request)
            direct_allow = direct_allow or direct
            account_allow = account_allow or account
    if key_policy:
        if direct_allow or (account_allow and identity_allows):
            return Outcome(Decision.ALLOW, "")
        if not (direct_allow or account_allow):
            return Outcome(Decision.IMPLICIT_DENY, f"because no resource-based policy allows the {action} action")
        return Outcome(Decision.IMPLICIT_DENY, f"because no identity-based policy allows the {action} action")
    if identity_allows or direct_allow:
        return Outcome(Decision.ALLOW, "")
    if not request.principal.startswith("arn:"):  # a service principal has no identity-based policies
        return Outcome(Decision.IMPLICIT_DENY, f"because no resource-based policy allows the {action} action")
    return Outcome(Decision.IMPLICIT_DENY, f"because no identity-based policy allows the {action} action")
