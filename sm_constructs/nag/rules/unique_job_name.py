"""Every attempt creates its job (model, endpoint configuration) under a new, valid name."""

from typing import Any

from .._asl import Task, get
from .._model import NAMED_OPERATIONS, name_rule
from .._names import evaluate_names
from .._rule import SageMakerRule, task_rule
from .._values import MISSING, Deployed, RunTime, Verdict


def _applies(task: Task) -> bool:
    return task.operation in NAMED_OPERATIONS


def _expressions(machine: Any) -> list[str]:
    found = []
    for task in machine.tasks:
        if _applies(task):
            value = get(task.request, (NAMED_OPERATIONS[task.operation],))
            if isinstance(value, RunTime) and not value.expression.startswith("{%"):
                found.append(value.expression)
    return found


def _verdict(task: Task, node: Any, context: Any) -> str:
    field = NAMED_OPERATIONS[task.operation]
    value = get(task.request, (field,))
    if value is MISSING or isinstance(value, str | Deployed):
        return Verdict.FAIL  # the same name every run: the second run fails with "already exists"
    if not isinstance(value, RunTime) or value.expression.startswith("{%"):
        return Verdict.UNKNOWN  # JSONata and non-string values are not evaluated
    # All names of the state machine are evaluated together (one interpreter run), then read from the cache.
    evaluation = evaluate_names(tuple(_expressions(context.machine(node))) or (value.expression,))[value.expression]
    if evaluation.error:
        return Verdict.UNKNOWN
    max_len, pattern = name_rule(task.operation, field)
    return Verdict.FAIL if evaluation.problems(max_len, pattern) else Verdict.OK


RULE = SageMakerRule(
    id="UniqueJobName",
    info="A SageMaker name is not new for every attempt, or is too long or invalid for some execution names.",
    explanation=(
        "SageMaker names are unique per account and Region: a fixed name works once, and a name derived only "
        "from the execution name repeats on a Retry (the create then fails with 'already exists') and exceeds "
        "SageMaker's limit (63 characters for most jobs, 32 for tuning) for execution names up to 80 characters. "
        "The rule runs each name expression in moto's Step Functions interpreter for a 1- and an 80-character "
        "execution name, two attempts each, against the length and pattern of botocore's SageMaker model; names "
        "read from the execution input or written in JSONata cannot be run and are reported as Unverified. "
        "Fix with sm_constructs: name_prefix= on the definitions (names are <prefix>-<12 hex of a fresh UUID>), "
        "or run_unique_name(prefix) for your own states. "
        "Without: JsonPath.format('{}-{}', prefix, JsonPath.array_get_item(JsonPath.string_split(JsonPath.uuid(), "
        "'-'), 4)) with a prefix short enough for the limit."
    ),
    check=task_rule(_applies, _verdict),
)
