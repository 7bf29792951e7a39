"""IAM policy evaluation for the local emulator, as AWS documents it.

The emulator authorizes each call a state machine or a job makes with :func:`authorize`. The logic
follows the IAM User Guide, "Policy evaluation logic" (reference_policies_evaluation-logic.html):

1. an explicit ``Deny`` in any applicable policy (identity-based, resource-based, permissions
   boundary, session policy) denies;
2. a request to a resource of another account ("Cross-account policy evaluation logic") is allowed
   only if both accounts allow it: the resource-based policy in the owner's account names the
   principal (or its account), and the identity-based policies in the principal's account allow it
   within its permissions boundary and session policies;
3. within one account, a resource-based policy naming the role session (or a service, or everyone)
   allows; one naming the role ARN allows within the boundary and session policies; one naming
   only the account delegates to the identity-based policies, which allow within the boundary and
   session policies ("Permissions boundaries for IAM entities", "Session policies");
4. AWS KMS is the exception (KMS developer guide, "Key policies in AWS KMS"): the key policy must
   allow the principal itself, or allow the account and so enable identity-based policies;
5. otherwise the request is implicitly denied, with the reason AWS gives ("because no
   identity-based policy / resource-based policy / permissions boundary / session policy allows").

Service control policies are not modelled: the emulator has no organization.

Each statement is matched by ``Action``/``NotAction`` (case-insensitive, ``*`` and ``?``
wildcards), ``Resource``/``NotResource`` (ARNs matched component by component, as ``ArnLike``),
``Principal``/``NotPrincipal`` (accounts, roles, assumed-role sessions, services), policy
variables (only under ``Version: 2012-10-17``, with ``${*}``/``${?}``/``${$}`` as literal
characters and ``${key, 'default'}`` defaults) and every condition operator of the IAM User Guide's "IAM JSON
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
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["VARIABLES_VERSION", "Decision", "Outcome", "Request", "authorize", "statement_applies"]

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
#: IAM User Guide, "IAM policy elements: Variables and tags" (reference_policies_variables.html):
#: "Variables were introduced in version 2012-10-17. Earlier versions of the policy language don't
#: support policy variables. If you don't include the Version element and set it to an appropriate
#: version date, variables like ${aws:username} are treated as literal strings in the policy."
VARIABLES_VERSION = "2012-10-17"
#: same page, "Special characters": "${*} - use where you need an * (asterisk) character", "${?} ...
#: a ? (question mark) character", "${$} ... a $ (dollar sign) character": literal, never wildcards.
_SPECIAL = ("*", "?", "$")
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
#: same page, "Specifying default values": "surround the default value with single quotes (' '), and
#: separate the variable text and the default value with a comma and space (, )": ${aws:userid, 'anonymous'}
_DEFAULT = re.compile(r"^(.+?), '(.*)'$", re.DOTALL)


@dataclass(frozen=True)
class _Piece:
    """Part of a written pattern: wildcard ``text``, a ``literal`` (an escape) or a ``variable``."""

    kind: str
    text: str
    default: str | None = None


@functools.lru_cache(maxsize=4096)
def _pieces(pattern: str, variables: bool) -> tuple[_Piece, ...]:
    if not variables or "${" not in pattern:
        return (_Piece("text", pattern),)
    pieces: list[_Piece] = []
    position = 0
    for match in _VARIABLE.finditer(pattern):
        if match.start() > position:
            pieces.append(_Piece("text", pattern[position : match.start()]))
        name = match.group(1)
        if name in _SPECIAL:
            pieces.append(_Piece("literal", name))
        else:
            default = _DEFAULT.match(name)
            pieces.append(_Piece("variable", *default.groups()) if default else _Piece("variable", name))
        position = match.end()
    if position < len(pattern):
        pieces.append(_Piece("text", pattern[position:]))
    return tuple(pieces)


def _resolve(pieces: Iterable[_Piece], request: Request) -> list[tuple[str, bool]] | None:
    """(text, is wildcard text) pairs with each variable's value; ``None`` when a variable has none.

    A value that comes from the request is literal: its ``*`` or ``?`` are not wildcards.
    """
    resolved: list[tuple[str, bool]] = []
    for piece in pieces:
        if piece.kind == "variable":
            value = request.value(piece.text)
            if value is None or isinstance(value, list | tuple):
                if piece.default is None:
                    return None  # "not present ... any attempt to match it fails" (same page)
                value = piece.default
            resolved.append((str(value), False))
        else:
            resolved.append((piece.text, piece.kind == "text"))
    return resolved


def _regex(parts: Iterable[tuple[str, bool]]) -> str:
    return "".join(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text) if wild else re.escape(text)
        for text, wild in parts
    )


@functools.lru_cache(maxsize=4096)
def _wildcard(parts: tuple[tuple[str, bool], ...], *, case: bool = True) -> re.Pattern[str]:
    """The compiled pattern of resolved ``parts``, built once per parts (every request checks the same few)."""
    return re.compile(f"^{_regex(parts)}$", re.DOTALL if case else re.IGNORECASE | re.DOTALL)


def _like(pattern: str, value: str, *, case: bool = True, request: Request | None = None) -> bool:
    """``*``/``?`` wildcard match; with ``request``, policy variables are substituted first."""
    parts = _resolve(_pieces(pattern, request is not None), request) if request is not None else [(pattern, True)]
    return parts is not None and _wildcard(tuple(parts), case=case).match(value) is not None


def _text(pattern: str, request: Request | None) -> str | None:
    """A condition value with its variables substituted, for the exact-match operators."""
    if request is None:
        return pattern
    parts = _resolve(_pieces(pattern, True), request)
    return None if parts is None else "".join(text for text, _ in parts)


def _arn_components(pieces: Iterable[_Piece]) -> list[list[_Piece]]:
    """The six colon-delimited components of a written ARN; variables never split one."""
    components: list[list[_Piece]] = [[]]
    for piece in pieces:
        if piece.kind != "text":
            components[-1].append(piece)
            continue
        text = piece.text
        while ":" in text and len(components) < 6:
            head, text = text.split(":", 1)
            components[-1].append(_Piece("text", head))
            components.append([])
        components[-1].append(_Piece("text", text))
    return components


def _arn_like(pattern: str, value: str, request: Request | None = None) -> bool:
    """ArnLike/ArnEquals, and the Resource element.

    IAM User Guide, "IAM JSON policy elements: Condition operators", Amazon Resource Name (ARN)
    condition operators: "Each of the six colon-delimited components of the ARN is checked
    separately and each can include multi-character match wildcards (*) or single-character match
    wildcards (?)". A pattern or a value without six components matches nothing (only ``*`` matches
    every resource).
    """
    if pattern == "*":
        return True
    components = _arn_components(_pieces(pattern, request is not None))
    values = value.split(":", 5)
    if len(components) != 6 or len(values) != 6:
        return False
    for component, part in zip(components, values, strict=True):
        resolved = _resolve(component, request) if request is not None else [(p.text, True) for p in component]
        if resolved is None or _wildcard(tuple(resolved)).match(part) is None:
            return False
    return True


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _action_matches(patterns: Any, action: str) -> bool:
    return any(_like(p, action, case=False) for p in _as_list(patterns))


def _resource_matches(patterns: Any, request: Request, variables: Request | None) -> bool:
    return any(_arn_like(pattern, request.resource, variables) for pattern in _as_list(patterns))


def _account_root(account: str) -> set[str]:
    return {account, f"arn:aws:iam::{account}:root"}


class _Grant(enum.IntEnum):
    """How a resource-based policy names the principal (IAM User Guide, "Policy evaluation logic",
    resource-based policies: an IAM role ARN, an IAM role session ARN, or the account)."""

    ACCOUNT = 1  # delegates to the account's identity-based policies
    ROLE = 2  # the role ARN: "limited by an implicit deny in a permissions boundary or session policy"
    DIRECT = 3  # the session itself, a service, or everyone: not limited by an implicit deny


def _principal_grant(principal: Any, request: Request) -> _Grant | None:
    """How ``principal`` (a ``Principal``/``NotPrincipal`` value) names the request's principal.

    IAM User Guide, "AWS JSON policy elements: Principal", role session principals: "To specify the
    assumed-role session ARN in the Principal element, use the following format: arn:aws:sts::
    AWS-account-ID:assumed-role/role-name/role-session-name".
    """
    if principal == "*":
        return _Grant.DIRECT
    found: _Grant | None = None
    for kind, values in principal.items():
        for value in _as_list(values):
            grant = None
            if kind == "AWS":
                if value == "*":
                    grant = _Grant.DIRECT
                elif value == request.principal:
                    grant = _Grant.ROLE if ":role/" in value else _Grant.DIRECT
                elif value == request.caller and value != request.principal:
                    grant = _Grant.DIRECT
                elif value in _account_root(request.account):
                    grant = _Grant.ACCOUNT
            elif kind == "Service" and value == request.principal:
                grant = _Grant.DIRECT
            if grant is not None and (found is None or grant > found):
                found = grant
    return found


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


#: the operators that order values, by family and what it parses values as (IAM User Guide, "IAM JSON
#: policy elements: Condition operators", Numeric and Date condition operators)
_ORDERED_FAMILIES: tuple[tuple[str, Callable[[Any], Any]], ...] = (("Numeric", _number), ("Date", _date))
_ORDERS: dict[str, Callable[[Any, Any], Any]] = {
    "Equals": operator.eq,
    "LessThan": operator.lt,
    "LessThanEquals": operator.le,
    "GreaterThan": operator.gt,
    "GreaterThanEquals": operator.ge,
}


def _compare(base: str, expected: Any, actual: Any, variables: Request | None) -> bool | None:
    """One operator (without Not/IfExists/set prefixes) for one policy value and one context
    value; ``None`` for an operator this evaluator does not know.

    Policy variables are substituted (``variables`` is the request) only for the string and ARN
    operators: "You can't use a policy variable with other operators, such as Numeric, Date,
    Boolean, Binary, IP Address, or Null operators" (IAM User Guide, "IAM policy elements:
    Variables and tags", Condition element).
    """
    text = str(actual)
    if base in ("StringEquals", "StringEqualsIgnoreCase"):
        written = _text(str(expected), variables)
        if written is None:
            return False
        return text == written if base == "StringEquals" else text.lower() == written.lower()
    if base == "StringLike":
        return _like(str(expected), text, request=variables)
    if base in ("ArnEquals", "ArnLike"):
        return _arn_like(str(expected), text, variables)
    if base == "Bool":
        return _bool(actual) == _bool(expected)
    for family, parse in _ORDERED_FAMILIES:
        if base.startswith(family):
            a, e = parse(actual), parse(expected)
            if a is None or e is None:
                return False
            order = _ORDERS.get(base.removeprefix(family))
            return None if order is None else bool(order(a, e))
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


def _condition_holds(operator: str, key: str, expected: Any, request: Request, *, variables: bool) -> bool:
    set_op = None
    if ":" in operator:
        set_op, operator = operator.split(":", 1)
        if set_op not in ("ForAnyValue", "ForAllValues"):
            raise _Unknown(operator)
    if_exists = operator.endswith("IfExists") and operator != "IfExists"
    if if_exists:
        operator = operator[: -len("IfExists")]
    actual = request.value(key)
    expected_values = _as_list(expected)
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
        results = [_compare(base, e, value, request if variables else None) for e in expected_values]
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


def _conditions_hold(
    conditions: Mapping[str, Mapping[str, Any]], request: Request, *, effect: str, variables: bool
) -> bool:
    try:
        return all(
            _condition_holds(operator, key, expected, request, variables=variables)
            for operator, pairs in conditions.items()
            for key, expected in pairs.items()
        )
    except _Unknown:
        return effect == "Deny"  # fail closed


# -- statements and policies ------------------------------------------------------------------
def statement_applies(
    statement: Mapping[str, Any], request: Request, *, version: str | None, resource_policy: bool = False
) -> bool:
    """Whether a statement matches the request (action, resource, principal, conditions).

    :param version: the ``Version`` of the policy the statement is in; policy variables are
        substituted only under ``2012-10-17`` (:data:`VARIABLES_VERSION`).
    """
    effect = statement.get("Effect", "Allow")
    variables = version == VARIABLES_VERSION
    if "Action" in statement:
        if not _action_matches(statement["Action"], request.action):
            return False
    elif "NotAction" in statement:
        if _action_matches(statement["NotAction"], request.action):
            return False
    else:
        return False
    substitute = request if variables else None
    if "Resource" in statement:
        if not _resource_matches(statement["Resource"], request, substitute):
            return False
    elif "NotResource" in statement:
        if _resource_matches(statement["NotResource"], request, substitute):
            return False
    elif not resource_policy:
        return False  # an identity-based statement without a resource grants nothing
    if resource_policy:
        if "Principal" in statement:
            if _principal_grant(statement["Principal"], request) is None:
                return False
        elif "NotPrincipal" in statement:
            if _principal_grant(statement["NotPrincipal"], request) is not None:
                return False
        else:
            return False
    return _conditions_hold(statement.get("Condition", {}), request, effect=effect, variables=variables)


def _statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return _as_list(policy.get("Statement", []))


def _applying(
    policies: Iterable[Mapping[str, Any]], request: Request, effect: str, *, resource_policy: bool = False
) -> Iterable[Mapping[str, Any]]:
    for policy in policies:
        version = policy.get("Version")
        for statement in _statements(policy):
            if statement.get("Effect") == effect and statement_applies(
                statement, request, version=version, resource_policy=resource_policy
            ):
                yield statement


def _resource_grant(resource_policy: Mapping[str, Any] | None, request: Request) -> _Grant | None:
    """The strongest way an applying ``Allow`` of the resource-based policy names the principal."""
    grants = [
        _principal_grant(statement["Principal"], request) if "Principal" in statement else _Grant.DIRECT
        for statement in _applying([resource_policy] if resource_policy else [], request, "Allow", resource_policy=True)
    ]
    return max((g for g in grants if g is not None), default=None)


def authorize(
    request: Request,
    identity_policies: Iterable[Mapping[str, Any]],
    resource_policy: Mapping[str, Any] | None = None,
    *,
    key_policy: bool = False,
    resource_account: str | None = None,
    boundary: Mapping[str, Any] | None = None,
    session_policies: Sequence[Mapping[str, Any]] = (),
) -> Outcome:
    """The decision for ``request`` (see the module docs for the order of evaluation).

    :param identity_policies: the principal's policy documents (inline and managed).
    :param resource_policy: the bucket, topic, model package group or key policy of the resource, if any.
    :param key_policy: ``resource_policy`` is a KMS key policy (required: without one, KMS denies).
    :param resource_account: the account that owns the resource. Default: the principal's account.
        When it is another account the request is cross-account: "The request is allowed only if
        both evaluations return a decision of Allow" (IAM User Guide, "Cross-account policy
        evaluation logic"): the identity-based policies (within the permissions boundary and
        session policies) in the principal's account, and the resource-based policy in the owner's.
    :param boundary: the permissions boundary of the principal's role, if it has one (IAM User
        Guide, "Permissions boundaries for IAM entities": effective permissions are the
        intersection of the identity-based policies and the boundary).
    :param session_policies: the session policies the role session was created with, if any
        (IAM User Guide, "Session policies": "the resulting session's permissions are the
        intersection of the IAM entity's identity-based policy and the session policies").
    """
    identity = list(identity_policies)
    resource = [resource_policy] if resource_policy else []
    limits = (("permissions boundary", [boundary] if boundary else []), ("session policy", list(session_policies)))
    for kind, policies, in_resource in (
        ("an identity-based policy", identity, False),
        ("a resource-based policy", resource, True),
        *((f"a {kind}", policies, False) for kind, policies in limits),
    ):
        if any(_applying(policies, request, "Deny", resource_policy=in_resource)):
            return Outcome(Decision.EXPLICIT_DENY, f"with an explicit deny in {kind}")
    action = request.action
    grant = _resource_grant(resource_policy, request)
    identity_allows = any(_applying(identity, request, "Allow"))
    # a boundary or session policy that is not there limits nothing
    unmet = [kind for kind, policies in limits if policies and not any(_applying(policies, request, "Allow"))]

    def denied(by: str) -> Outcome:
        return Outcome(Decision.IMPLICIT_DENY, f"because no {by} allows the {action} action")

    service = not request.principal.startswith("arn:")  # a service acts as itself: no identity-based policies
    if resource_account and not service and resource_account != request.account:
        if grant is None:
            return denied("resource-based policy")
        if not identity_allows:
            return denied("identity-based policy")
        return denied(unmet[0]) if unmet else Outcome(Decision.ALLOW, "")
    if grant is _Grant.DIRECT:
        return Outcome(Decision.ALLOW, "")
    if key_policy and grant is None:
        return denied("resource-based policy")
    if grant is _Grant.ROLE or (identity_allows and (grant is _Grant.ACCOUNT or not key_policy)):
        return denied(unmet[0]) if unmet else Outcome(Decision.ALLOW, "")
    return denied("resource-based policy" if service else "identity-based policy")
