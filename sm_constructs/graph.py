"""The graph of an :class:`~sm_constructs.MlPipeline`: steps, the edges between them, and their layout.

A step is any of our definitions, a :class:`~sm_constructs.FanOut`, a :class:`Condition`, a
:class:`FailStep`, or a custom step (any ``sfn`` chainable or SDK task, wrapped in :class:`Step`
when it needs ``depends_on``). Edges come from what each step reads: a definition that takes
another's output renders a JSONPath into that step's result (``$.steps.<id>.<field>``), so
scanning the rendered states for ``$.steps.<id>`` finds every data dependency; ``depends_on``
adds the side effects a reference cannot show. Cycles, reads of a step that is not in the
pipeline (dangling), and steps that can never run (after a :class:`FailStep`, or reading a step
that runs in only one branch of a :class:`Condition`) fail at synth, naming the steps.

The layout runs independent steps in parallel. A set of steps that falls apart into independent
parts runs the parts as branches of one ``Parallel`` state (at most ``max_concurrency`` branches
each; more run as several in a row). Otherwise, when the steps the last ones wait for fall apart
into independent chains, the chains run side by side and the last steps after them; else the steps
that wait for none run first, then the rest. Each part is laid out the same way. Each branch
returns its results under ``$.steps``, and the ``Parallel`` state merges them back
(``States.JsonMerge``), so later steps read them at the same paths.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Literal

from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn

from ._fragment import BuiltFragment
from ._validation import Problems, is_token
from .jobs._base import SageMakerDefinition

#: What a step kind the graph does not know itself reads and writes: ``describe(step)`` gives the
#: ``$.steps`` keys it writes and the rendered texts it reads, or None (MlPipeline's FanOut, QualityGate).
Describe = Callable[[Any], tuple[set[str], list[str]] | None]

__all__ = [
    "Check",
    "Condition",
    "FailStep",
    "Group",
    "Metric",
    "Node",
    "PipelineGraph",
    "Report",
    "Series",
    "Step",
    "all_of",
    "any_of",
    "format_text",
    "not_",
]

#: A reference into another step's result, as definitions render it (``SageMakerDefinition.state_output``).
_STEP_READ = re.compile(r"\$\.steps\.([A-Za-z][A-Za-z0-9_]*)")
#: Fields of the execution input a state reads.
_INPUT_READ = re.compile(r"\$\.input\.([A-Za-z_][A-Za-z0-9_]*)")
#: "You can nest up to 10 intrinsic functions within a field" (Step Functions Developer Guide,
#: "Intrinsic functions for JSONPath states"): merging N branch results nests N intrinsics.
MAX_BRANCHES = 10
#: The States Language limits state names to 80 characters.
MAX_STATE_NAME = 80


#: ``States.Format('<literal>{}...', ...)``: the literal text before the first placeholder.
_FORMAT_PREFIX = re.compile(r"^States\.Format\('((?:[^'\\{]|\\.)*)")


#: A brace outside a CDK token (``${Token[...]}``, whose braces CDK resolves away).
_BRACE = re.compile(r"(\$\{Token\[[^\]]*\]\})|([{}])")


def format_text(text: str) -> str:
    """``text`` as literal text of a ``sfn.JsonPath.format`` template: its braces escaped (``\\{``, ``\\}``).

    ``'``, ``{``, ``}`` and ``\\`` are reserved in an intrinsic function's string, each written after a
    backslash to stand for itself (AWS Step Functions Developer Guide, "Intrinsic functions for JSONPath
    states", reserved characters); a bare brace of a ``States.Format`` template is a placeholder, so
    text with one fails the run ("Invalid template in States.Format": aws/aws-cdk#29261). CDK escapes
    ``'`` and ``\\`` itself, but leaves a backslash right before a brace as the escape it then is
    (aws-cdk-lib, aws-stepfunctions/lib/private/json-path.ts, ``singleQuotestring``): the braces are
    ours to escape. A backslash ending ``text`` right before a placeholder of the template stays
    an escape of it (CDK leaves it): the templates here follow ``text`` with a space or a ``/``, and a
    manifest's key prefix, followed by the execution's name, may not end in one (``RunManifest.check``)."""
    return _BRACE.sub(lambda m: m.group(1) or "\\" + m.group(2), text)


def static_prefix(key: str, key_prefix: str | None) -> str:
    """The fixed start of an S3 key: ``key_prefix`` when given, the key when fixed, else the text of a
    ``sfn.JsonPath.format`` key before its first run-time value ("" when none can be derived)."""
    if key_prefix is not None:
        return key_prefix
    if not is_token(key):
        return key
    rendered = sfn.FieldUtils.render_object({"Key": key}) or {}
    match = _FORMAT_PREFIX.match(str(rendered.get("Key.$", "")))
    return match.group(1).replace("\\'", "'") if match else ""


# ---- steps the graph adds to our definitions ------------------------------------------------------
@dataclass(frozen=True)
class FailStep:
    """End the execution failed, with ``error`` and ``message`` (a Step Functions ``Fail`` state).

    Usually the ``otherwise`` of a :class:`Condition`; nothing may depend on it.

    :param message: the execution's failure cause: say why the run stops. It is text, rendered as
        written whatever it starts with (``$.``, ``States.``) or holds (a CDK token, resolved at deploy).
    :param error: the error name. Default: ``PipelineStopped``.
    """

    id: str
    message: str
    _: KW_ONLY
    error: str = "PipelineStopped"


@dataclass(frozen=True)
class Step:
    """A step with what the graph cannot see: ``depends_on`` (side effects) and, for a custom
    chainable, its id.

    :param what: a definition, :class:`~sm_constructs.FanOut`, :class:`Condition`, or any ``sfn``
        chainable (an SDK task, a fragment, a chain). A custom step's IAM comes from what it calls,
        as aws-cdk's tasks register it; put its result under ``$.steps.<id>`` for later steps to read.
    :param depends_on: steps that must finish first. Default: - only the steps it reads.
    :param id: the step's name in errors, notifications and the diagram. Default: - the
        definition's id, or the chainable's first state.
    """

    what: Any
    _: KW_ONLY
    depends_on: Sequence[Any] = ()
    id: str | None = None


@dataclass(frozen=True)
class Report:
    """A JSON report a step writes to S3 (e.g. ``evaluation.json``), read by a :class:`Condition`.

    :param written_by: the step that writes it: the condition runs after it.
    :param bucket: the bucket the report is written to (the state machine is granted reads under
        ``key_prefix`` only).
    :param key: the object key; may be a JSONPath token. Key it by what the report describes (e.g.
        the model's training job name, as the reference pipeline does) rather than by the execution,
        so a cached evaluation's report is found where the reused job wrote it.
    :param key_prefix: fixed start of every key; the state machine may read objects under it only.
        Default: - ``key`` itself when fixed; the text before the first run-time value of a
        ``sfn.JsonPath.format`` key.
    """

    written_by: Any
    bucket: s3.IBucket
    key: str
    _: KW_ONLY
    key_prefix: str | None = None

    def static_prefix(self) -> str:
        """The key prefix reads of the report are scoped to ("" when none can be derived)."""
        return static_prefix(self.key, self.key_prefix)

    def metric(self, path: str) -> Metric:
        """The number at dotted ``path`` in the report, e.g. ``metrics.auc``."""
        return Metric("report", path, source=self)


Comparison = Literal[">=", ">", "<=", "<", "=="]
#: Each comparison and the Choice rules it becomes (to a number, to another value).
_RULES: dict[str, tuple[str, str]] = {
    ">=": ("number_greater_than_equals", "number_greater_than_equals_json_path"),
    ">": ("number_greater_than", "number_greater_than_json_path"),
    "<=": ("number_less_than_equals", "number_less_than_equals_json_path"),
    "<": ("number_less_than", "number_less_than_json_path"),
    "==": ("number_equals", "number_equals_json_path"),
}


@dataclass(frozen=True, eq=False)
class Metric:
    """A number a :class:`Condition` compares: in a step's report, a step's result, or the input.

    ``Report(...).metric("metrics.auc")``, ``Metric.result(tuning, "BestObjectiveValue")``,
    ``Metric.input("threshold")``; compare with ``>=``, ``>``, ``<=``, ``<`` (or :meth:`eq`) to a
    number or another metric.

    :param kind: where the number is: ``"report"``, ``"result"`` or ``"input"``.
    :param path: its path in the report, the result or the input (dotted).
    :param source: the :class:`Report` or the step it is read from. Default: - none (an input).
    """

    kind: Literal["report", "result", "input"]
    path: str
    _: KW_ONLY
    source: Any = None

    @staticmethod
    def result(step: Any, field: str) -> Metric:
        """The number at ``field`` of a step's result (``$.steps.<id>.<field>``)."""
        return Metric("result", field, source=step)

    @staticmethod
    def input(name: str) -> Metric:
        """An execution input field (declare it as an ``InputField`` of kind ``number``)."""
        return Metric("input", name)

    def describe(self) -> str:
        if self.kind == "input":
            return f"input {self.path}"
        return f"{_step_name(self.source if self.kind == 'result' else self.source.written_by)} {self.path}"

    def _compare(self, op: str, other: Metric | float) -> Check:
        return Check("compare", op=op, operands=(self, other))

    def __ge__(self, other: Metric | float) -> Check:
        return self._compare(">=", other)

    def __gt__(self, other: Metric | float) -> Check:
        return self._compare(">", other)

    def __le__(self, other: Metric | float) -> Check:
        return self._compare("<=", other)

    def __lt__(self, other: Metric | float) -> Check:
        return self._compare("<", other)

    def eq(self, other: Metric | float) -> Check:
        return self._compare("==", other)


@dataclass(frozen=True, eq=False)
class Check:
    """A condition on metrics: a comparison, or ``&`` (all), ``|`` (any) and ``~`` (not) of checks."""

    kind: Literal["compare", "and", "or", "not"]
    _: KW_ONLY
    op: str = ""
    operands: tuple[Any, ...] = ()

    def __and__(self, other: Check) -> Check:
        return all_of(self, other)

    def __or__(self, other: Check) -> Check:
        return any_of(self, other)

    def __invert__(self) -> Check:
        return not_(self)

    def metrics(self) -> list[Metric]:
        found: list[Metric] = []
        for operand in self.operands:
            if isinstance(operand, Check):
                found += [m for m in operand.metrics() if all(m is not f for f in found)]
            elif isinstance(operand, Metric) and all(operand is not f for f in found):
                found.append(operand)
        return found

    def describe(self) -> str:
        if self.kind == "compare":
            a, b = self.operands
            right = b.describe() if isinstance(b, Metric) else json.dumps(b)
            return f"{a.describe()} {self.op} {right}"
        if self.kind == "not":
            return f"not ({self.operands[0].describe()})"
        return f" {self.kind} ".join(f"({c.describe()})" for c in self.operands)

    def render(self, path_of: Callable[[Metric], str]) -> sfn.Condition:
        """The Choice rule; ``path_of`` gives each metric's JSONPath."""
        if self.kind == "compare":
            a, b = self.operands
            number, json_path = _RULES[self.op]
            if isinstance(b, Metric):
                return getattr(sfn.Condition, json_path)(path_of(a), path_of(b))
            return getattr(sfn.Condition, number)(path_of(a), b)
        rendered = [c.render(path_of) for c in self.operands]
        if self.kind == "not":
            return sfn.Condition.not_(rendered[0])
        return sfn.Condition.and_(*rendered) if self.kind == "and" else sfn.Condition.or_(*rendered)


def all_of(*checks: Check) -> Check:
    """Every check holds."""
    return Check("and", operands=tuple(checks))


def any_of(*checks: Check) -> Check:
    """At least one check holds."""
    return Check("or", operands=tuple(checks))


def not_(check: Check) -> Check:
    """The check does not hold."""
    return Check("not", operands=(check,))


@dataclass(frozen=True)
class Condition:
    """Branch on metrics of any step's report or result (a Step Functions ``Choice``, no Lambda).

    The reports it compares are read first (S3 GetObject, each under its fixed key prefix only).
    A metric that is missing or not a number fails the execution (``ConditionMetricMissing``)
    rather than choosing a branch.

    :param when: the check, e.g. ``report_a.metric("metrics.auc") >= report_b.metric("metrics.auc")``.
    :param then: steps that run when it holds (a graph of their own). Default: - none.
    :param otherwise: steps that run when it does not; ``None`` fails the execution with
        ``ConditionNotMet``, naming each metric's value, the comparison and the threshold (a gate).
        Default: None (a gate).
    :param depends_on: steps that must finish first. Default: - the steps whose reports or
        results it reads, and whatever its branches read from outside them.
    """

    id: str
    when: Check
    _: KW_ONLY
    then: Sequence[Any] = ()
    otherwise: Sequence[Any] | None = None
    depends_on: Sequence[Any] = ()

    def reports(self) -> list[Report]:
        found: list[Report] = []
        for m in self.when.metrics():
            if m.kind == "report" and all(m.source is not r for r in found):
                found.append(m.source)
        return found

    def report_state(self, report: Report) -> str:
        """The state (and ``$.steps`` key) that reads ``report``."""
        return f"{self.id}Report{self.reports().index(report) + 1}"

    def path_of(self, metric: Metric) -> str:
        if metric.kind == "input":
            return f"$.input.{metric.path}"
        if metric.kind == "result":
            return f"$.steps.{_step_name(metric.source)}.{metric.path}"
        return f"$.steps.{self.report_state(metric.source)}.report.{metric.path}"


def _step_name(step: Any) -> str:
    """The id a step goes by (definitions: their construct id, which is their state name)."""
    if isinstance(step, Step):
        return step.id or _step_name(step.what)
    if isinstance(step, Condition | FailStep):
        return step.id
    if type(step).__name__ == "QualityGate":  # one per pipeline; its states keep their names
        return "QualityGate"
    definition = getattr(step, "definition", None)  # FanOut
    if definition is not None and not hasattr(step, "node"):
        return f"{definition.node.id}FanOut"
    node = getattr(step, "node", None)
    # our fragments (an endpoint deployment) go by their construct id, which prefixes their states and
    # names their result ($.steps.<id>); anyone else's state or fragment, by its first state
    if node is not None and (
        isinstance(step, BuiltFragment) or not isinstance(step, sfn.State | sfn.StateMachineFragment)
    ):
        return str(node.id)
    start = step.start_state if hasattr(step, "start_state") else step
    return str(start.state_id)


# ---- nodes, edges, order -------------------------------------------------------------------------
@dataclass(eq=False)
class Node:
    """One step of the graph."""

    id: str
    #: What the step is (a definition, FanOut, Condition, FailStep, QualityGate or chainable).
    what: Any
    #: Where the user gave it, for errors (``steps[2]``, ``training`` ...).
    where: str
    #: The ``$.steps`` keys it writes.
    writes: set[str] = field(default_factory=set)
    #: The ``$.steps`` keys it reads, and the input fields.
    reads: set[str] = field(default_factory=set)
    inputs: set[str] = field(default_factory=set)
    explicit: list[Any] = field(default_factory=list)
    after: list[Node] = field(default_factory=list)
    #: For a Condition: its branches' graphs.
    then: PipelineGraph | None = None
    otherwise: PipelineGraph | None = None

    def __repr__(self) -> str:
        return f"Node({self.id})"


@dataclass
class Series:
    """Parts run one after the other."""

    parts: list[Node | Group]


@dataclass
class Group:
    """Branches run in parallel (one ``Parallel`` state)."""

    branches: list[Node | Series | Group]


Plan = Node | Series | Group


def _scan(text: str) -> tuple[set[str], set[str]]:
    return set(_STEP_READ.findall(text)), set(_INPUT_READ.findall(text))


def _state_texts(chainable: Any) -> list[str]:
    """The rendered JSON of every state a chainable starts (what it reads)."""
    start = chainable.start_state if hasattr(chainable, "start_state") else chainable
    return [json.dumps(s.to_state_json(), default=str) for s in sfn.State.find_reachable_states(start)]


class PipelineGraph:
    """The steps of a pipeline (or of a condition's branch), their edges and their layout."""

    def __init__(
        self,
        items: Sequence[tuple[str, Any]],
        problems: Problems,
        *,
        outer: PipelineGraph | None = None,
        describe: Describe | None = None,
    ):
        """``items``: (where the user gave it, step) in the user's order."""
        self.problems = problems
        self.outer = outer
        self.describe: Describe | None = describe if describe is not None or outer is None else outer.describe
        self.nodes: list[Node] = []
        for where, item in items:
            self.nodes.append(self._node(where, item))
        self._check_ids()
        self._link()

    # ---- building ---------------------------------------------------------------------------------
    def _node(self, where: str, item: Any) -> Node:
        explicit: list[Any] = []
        what = item
        if isinstance(item, Step):
            what, explicit = item.what, list(item.depends_on)
        node = Node(item.id if isinstance(item, Step) and item.id else _step_name(what), what, where)
        node.explicit = explicit
        texts: list[str] = []
        described = self.describe(what) if self.describe is not None else None
        if described is not None:
            writes, read = described
            node.writes |= writes
            texts += read
        elif isinstance(what, SageMakerDefinition):
            node.writes.add(what.node.id)
            texts.append(json.dumps(what.request_parameters(), default=str))
        elif isinstance(what, FailStep):
            pass
        elif isinstance(what, Condition):
            node.explicit += list(what.depends_on) + [r.written_by for r in what.reports()]
            node.writes |= {what.report_state(r) for r in what.reports()}
            for r in what.reports():
                texts.append(json.dumps(sfn.FieldUtils.render_object({"Key": r.key}), default=str))
            for m in what.when.metrics():
                if m.kind == "result":
                    node.explicit.append(m.source)
                elif m.kind == "input":
                    node.inputs.add(m.path)
            node.then = PipelineGraph(
                [(f"{where}.then[{i}]", s) for i, s in enumerate(what.then)], self.problems, outer=self
            )
            node.otherwise = PipelineGraph(
                [(f"{where}.otherwise[{i}]", s) for i, s in enumerate(what.otherwise or ())], self.problems, outer=self
            )
            for branch in (node.then, node.otherwise):
                for inner in branch.all_nodes():
                    node.inputs |= inner.inputs
                node.reads |= branch.outside_reads()
                node.explicit += branch.outside_explicit()
        elif hasattr(what, "start_state"):  # a state, chain or fragment (jsii interfaces are no runtime protocols)
            if not what.end_states:  # a Succeed or Fail state, or a chain every path of which ends in one
                self.problems.add(
                    where,
                    node.id,
                    "ends the execution itself (a Succeed or Fail state): the pipeline could not record the run "
                    "(lineage, manifest) nor notify of a failure; stop a run with FailStep, and end a custom step "
                    "in a state that can go on",
                )
            for text in _state_texts(what):
                texts.append(text)
                node.writes |= {m for m in re.findall(r'"ResultPath": "\$\.steps\.([A-Za-z0-9_]+)', text)}
        else:
            self.problems.add(
                where,
                type(what).__name__,
                "is not a step: give a definition, FanOut, Condition, FailStep, Step(...) or an sfn state/chain",
            )
        for text in texts:
            reads, inputs = _scan(text)
            node.reads |= reads
            node.inputs |= inputs
        node.reads -= node.writes
        return node

    def all_nodes(self) -> list[Node]:
        """Every node, with those inside conditions' branches."""
        out: list[Node] = []
        for n in self.nodes:
            out.append(n)
            for branch in (n.then, n.otherwise):
                if branch is not None:
                    out += branch.all_nodes()
        return out

    def outside_reads(self) -> set[str]:
        """What this branch's steps read from steps outside it."""
        written = {w for n in self.all_nodes() for w in n.writes}
        return {r for n in self.nodes for r in n.reads if r not in written}

    def outside_explicit(self) -> list[Any]:
        mine = {id(n.what) for n in self.all_nodes()}
        return [d for n in self.nodes for d in n.explicit if id(_unwrap(d)) not in mine]

    def _check_ids(self) -> None:
        if self.outer is not None:
            return
        seen: dict[str, str] = {}
        for n in self.all_nodes():
            if n.id in seen:
                self.problems.add(n.where, n.id, f"another step ({seen[n.id]}) has the same id: step ids name states")
            seen.setdefault(n.id, n.where)
            if len(n.id) > MAX_STATE_NAME:
                self.problems.add(n.where, n.id, f"a step id names a state: at most {MAX_STATE_NAME} characters")

    def _link(self) -> None:
        """Edges from reads and ``depends_on``; dangling references, unreachable steps and cycles."""
        writer = {w: n for n in self.nodes for w in n.writes}
        by_object = {id(n.what): n for n in self.nodes}
        root = self
        while root.outer is not None:
            root = root.outer
        everywhere = {w: n for n in root.all_nodes() for w in n.writes}
        for n in self.nodes:
            for key in sorted(n.reads):
                if key in writer:
                    self._edge(n, writer[key])
                elif self.outer is None:
                    inner = everywhere.get(key)
                    if inner is not None:
                        self.problems.add(
                            n.where,
                            n.id,
                            f"reads {key}, which runs only in a branch of a condition, so {n.id} could never run "
                            f"when the other branch is taken (unreachable): move {n.id} into that branch",
                        )
                    else:
                        self.problems.add(
                            n.where,
                            n.id,
                            f"reads $.steps.{key}, but no step of this pipeline writes it (a dangling reference): "
                            f"add the definition '{key}' to the pipeline's steps",
                        )
            for dep in n.explicit:
                target = by_object.get(id(_unwrap(dep)))
                if target is not None:
                    self._edge(n, target)
                elif self.outer is None:
                    name = _step_name(_unwrap(dep)) if _has_name(_unwrap(dep)) else type(dep).__name__
                    # who wrote the depends_on: the step, or a step of its branches (a condition inherits theirs)
                    owner = next(
                        (m for m in _branch_nodes(n) if any(_unwrap(d) is _unwrap(dep) for d in m.explicit)), n
                    )
                    inside = next((m for m in root.all_nodes() if m.what is _unwrap(dep)), None)
                    if inside is None:
                        rule = "which is not a step of this pipeline (a dangling reference): add it to steps"
                    elif owner is n and inside.where.startswith(f"{n.where}."):  # a condition waiting for its branch
                        rule = (
                            f"which runs in {n.id}'s own branch ({inside.where}), only after {n.id} chose it "
                            "(unreachable): compare a step that runs before the condition"
                        )
                    else:
                        rule = (
                            f"which runs only in a branch of a condition ({inside.where}), so {owner.id} could never "
                            f"run when the other branch is taken (unreachable): move {owner.id} into that branch"
                        )
                    self.problems.add(owner.where, owner.id, f"depends on {name}, {rule}")
        for n in self.nodes:
            for before in n.after:
                if isinstance(before.what, FailStep):
                    self.problems.add(
                        n.where, n.id, f"runs after {before.id}, a FailStep that ends the execution (unreachable)"
                    )
        cycle = self._cycle()
        if cycle:
            self.problems.add(
                "steps",
                " -> ".join(n.id for n in cycle),
                "the steps wait for each other in a cycle: no order runs them; remove a depends_on or a reference",
            )

    @staticmethod
    def _edge(n: Node, before: Node) -> None:
        if before is not n and before not in n.after:
            n.after.append(before)

    def _cycle(self) -> list[Node]:
        state: dict[int, int] = {}
        stack: list[Node] = []

        def visit(n: Node) -> list[Node]:
            state[id(n)] = 1
            stack.append(n)
            for before in n.after:
                if state.get(id(before)) == 1:
                    return [*stack[stack.index(before) :], before][::-1]
                if id(before) not in state:
                    found = visit(before)
                    if found:
                        return found
            stack.pop()
            state[id(n)] = 2
            return []

        for n in self.nodes:
            if id(n) not in state:
                found = visit(n)
                if found:
                    return found
        return []

    # ---- order and layout -------------------------------------------------------------------------
    def order(self) -> list[Node]:
        """A topological order, stable in the user's order."""
        done: list[Node] = []
        placed: set[int] = set()
        while len(done) < len(self.nodes):
            for n in self.nodes:
                if id(n) not in placed and all(id(b) in placed for b in n.after):
                    done.append(n)
                    placed.add(id(n))
                    break
        return done

    def layout(self, max_concurrency: int) -> Plan | None:
        """Series and parallel groups that respect every edge (see the module docs)."""
        if not self.nodes:
            return None
        return _layout(self.order(), max_concurrency)


def _branch_nodes(node: Node) -> list[Node]:
    """The steps of a condition's branches (none for any other step)."""
    return [m for branch in (node.then, node.otherwise) if branch is not None for m in branch.all_nodes()]


def _unwrap(step: Any) -> Any:
    return step.what if isinstance(step, Step) else step


def _has_name(step: Any) -> bool:
    try:
        _step_name(step)
    except AttributeError:
        return False
    return True


def _components(nodes: list[Node]) -> list[list[Node]]:
    """The independent parts of ``nodes`` (connected through edges among them), in order."""
    inside = {id(n) for n in nodes}
    neighbours: dict[int, set[int]] = {id(n): set() for n in nodes}
    for n in nodes:
        for b in n.after:
            if id(b) in inside:
                neighbours[id(n)].add(id(b))
                neighbours[id(b)].add(id(n))
    seen: set[int] = set()
    parts: list[list[Node]] = []
    for n in nodes:
        if id(n) in seen:
            continue
        todo, part = [id(n)], set()
        while todo:
            k = todo.pop()
            if k not in part:
                part.add(k)
                todo += neighbours[k] - part
        seen |= part
        parts.append([m for m in nodes if id(m) in part])
    return parts


def _parallel(branches: list[Plan], max_concurrency: int) -> Plan:
    if len(branches) == 1:
        return branches[0]
    groups: list[Node | Group] = [
        Group(branches[i : i + max_concurrency]) if len(branches[i : i + max_concurrency]) > 1 else branches[i]  # type: ignore[misc]
        for i in range(0, len(branches), max_concurrency)
    ]
    return groups[0] if len(groups) == 1 else Series(groups)


def _series(parts: Iterable[Plan]) -> Plan:
    flat: list[Node | Group] = []
    for p in parts:
        flat += p.parts if isinstance(p, Series) else [p]
    return flat[0] if len(flat) == 1 else Series(flat)


def _layout(nodes: list[Node], max_concurrency: int) -> Plan:
    if len(nodes) == 1:
        return nodes[0]
    parts = _components(nodes)
    if len(parts) > 1:
        return _parallel([_layout(p, max_concurrency) for p in parts], max_concurrency)
    inside = {id(n) for n in nodes}
    waited_for = {id(b) for n in nodes for b in n.after}
    last = [n for n in nodes if id(n) not in waited_for]
    before_last = [n for n in nodes if id(n) in waited_for]
    if len(_components(before_last)) > 1:  # independent chains that meet at the end: run the chains side by side
        return _series([_layout(before_last, max_concurrency), _layout(last, max_concurrency)])
    first = [n for n in nodes if not any(id(b) in inside for b in n.after)]
    rest = [n for n in nodes if n not in first]
    return _series([_layout(first, max_concurrency), _layout(rest, max_concurrency)])


def plan_nodes(plan: Plan | None) -> list[Node]:
    """The nodes of a plan, in run order."""
    if plan is None:
        return []
    if isinstance(plan, Node):
        return [plan]
    parts = plan.parts if isinstance(plan, Series) else plan.branches
    return [n for p in parts for n in plan_nodes(p)]


def parallel_name(group: Group) -> str:
    """``Parallel_<first step of each branch>``, within the 80 characters of a state name."""
    firsts = [plan_nodes(b)[0].id for b in group.branches]
    name = "Parallel_" + "_".join(firsts)
    if len(name) > MAX_STATE_NAME:
        name = f"Parallel_{firsts[0]}_and_{len(firsts) - 1}_more"[:MAX_STATE_NAME]
    return name


def merge_results(branches: int, keys: Sequence[str]) -> dict[str, str]:
    """A ``Parallel``'s ``ResultSelector``: the execution's input from the first branch, and each
    of ``keys`` (``steps``, ``cache``) merged over the branches (``$[*].<key>`` is a list on AWS and
    in the emulator alike; ``States.ArrayGetItem`` picks each branch's)."""
    out = {"input.$": "States.ArrayGetItem($[*].input, 0)"}
    for key in keys:
        merged = f"States.ArrayGetItem($[*].{key}, 0)"
        for i in range(1, branches):
            merged = f"States.JsonMerge({merged}, States.ArrayGetItem($[*].{key}, {i}), false)"
        out[f"{key}.$"] = merged
    return out
