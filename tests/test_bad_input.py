"""Bad input, generated: every public construct rejects it at synth with our error.

Bad values come from two independent sources: the constraints in botocore's service models (an
enum value that is not in the enum, a string that fails the pattern or is too long, a number out
of range, a list or map with too many entries) and the props' types (a value of another type,
``None`` for a required value). Each case builds one construct and must raise
:class:`ConstructValidationError` naming the construct path, the field, the value and a rule.
Every test asserts a minimum of *distinct* cases; together they are well over 300.
"""

from __future__ import annotations

import gzip
import inspect
import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore
import pytest
import regex
from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_stepfunctions as sfn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import new_stack

from sm_constructs import (
    BlueGreenDeployment,
    CategoricalRange,
    ClusterConfig,
    DataCapture,
    DataProcessing,
    DataQualityBaselineDefinition,
    DataQualityJobDefinition,
    EndpointConfigDefinition,
    EndpointDeployment,
    FanOut,
    InputField,
    IntegerRange,
    LifecycleScript,
    MlDataBucket,
    MlPipeline,
    MlStateMachine,
    MlVpc,
    ModelDefinition,
    ModelPackageGroup,
    ModelRegistrationDefinition,
    NetworkConfig,
    NotebookInstance,
    ProcessingDefinition,
    ProcessingInput,
    ProcessingOutput,
    QualityGate,
    S3Trigger,
    SageMakerExecutionRole,
    ServerlessConfig,
    TrainingChannel,
    TrainingDefinition,
    TransformDefinition,
    TuningDefinition,
)
from sm_constructs._validation import ConstructValidationError

pytestmark = pytest.mark.xdist_group("bad_input")

# ---- bad values from botocore's models (read here on their own, not through the library) ------------


def _model(service: str) -> dict[str, Any]:
    root = Path(botocore.__file__).parent / "data" / service
    version = sorted(p.name for p in root.iterdir())[-1]
    return json.loads(gzip.decompress((root / version / "service-2.json.gz").read_bytes()))


SHAPES = _model("sagemaker")["shapes"]


def member_shape(structure: str, member: str) -> dict[str, Any]:
    return SHAPES[SHAPES[structure]["members"][member]["shape"]]


def bad_for(structure: str, member: str) -> st.SearchStrategy[Any]:
    """Values the model of ``structure.member`` rejects."""
    shape = member_shape(structure, member)
    kind = shape["type"]
    if kind == "string" and "enum" in shape:
        enum = shape["enum"]
        near = st.sampled_from(enum).flatmap(
            lambda v: st.sampled_from([v + "x", v.upper() + "!", v.replace(".", "-"), v[:-1], " " + v])
        )
        return st.one_of(near, st.text(min_size=1, max_size=12)).filter(lambda v: v not in enum and "{" not in v)
    if kind == "string":
        options = []
        if "max" in shape:
            options.append(st.text(alphabet="abcdefgh", min_size=shape["max"] + 1, max_size=shape["max"] + 40))
        pattern = shape.get("pattern")
        if pattern and pattern not in (".*", "[\\S\\s]*"):
            compiled = regex.compile(pattern)
            options.append(
                st.text(min_size=1, max_size=20).filter(
                    lambda v: compiled.fullmatch(v) is None and "{" not in v and not v.startswith("$")
                )
            )
        return st.one_of(*options)
    if kind in ("integer", "long"):
        options = []
        if "min" in shape:
            options.append(st.integers(max_value=shape["min"] - 1, min_value=shape["min"] - 10_000))
        if "max" in shape:
            options.append(st.integers(min_value=shape["max"] + 1, max_value=shape["max"] + 10_000_000))
        return st.one_of(*options)
    raise AssertionError(f"no bad values for {structure}.{member} ({kind})")


def too_many(structure: str, member: str, item: Callable[[int], Any]) -> st.SearchStrategy[list[Any]]:
    """Lists one to five items longer than the model's ``max``."""
    limit = member_shape(structure, member)["max"]
    return st.integers(min_value=limit + 1, max_value=limit + 5).map(lambda n: [item(i) for i in range(n)])


def too_many_entries(structure: str, member: str) -> st.SearchStrategy[dict[str, str]]:
    limit = member_shape(structure, member)["max"]
    return st.integers(min_value=limit + 1, max_value=limit + 5).map(lambda n: {f"K{i}": "v" for i in range(n)})


#: Values of the wrong type, with a tag each; a prop lists the tags it accepts.
POOL: list[tuple[str, Any]] = [
    ("none", None),
    ("float", 1.5),
    ("int", 7),
    ("str", "text"),
    ("bytes", b"raw"),
    ("obj", object()),
    ("strseq", ["x"]),
    ("strmap", {"k": "v"}),
    ("bool", True),
]


def wrong_types(*accepted: str) -> st.SearchStrategy[Any]:
    return st.sampled_from([v for tag, v in POOL if tag not in accepted])


# ---- one generated case --------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A prop (or request field) and how to break it.

    ``build(scope, id, value)`` creates the construct with the bad value; the error must name one
    of ``names`` and show the value (``shown`` maps the value to what the error shows). ``user`` is
    the prop as the user wrote it (default: the start of ``prop``), which the error should name
    first (see :func:`names_the_prop`).
    """

    prop: str
    bad: st.SearchStrategy[Any]
    build: Callable[[Any, str, Any], Any]
    names: tuple[str, ...]
    shown: Callable[[Any], str] = repr
    user: str | None = None
    #: The kind of construct that reports it, when not the one under test (a bad name is refused by its import).
    kind: str | None = None

    @property
    def user_prop(self) -> str:
        return self.user or re.split(r"[ .\[(]", self.prop)[0]


#: A problem that starts with a prop path as the user wrote it: ``cluster.volume_size_gb=``,
#: ``inputs[0].source=``, ``environment['A']=``, ``add_channel(name)=``.
_PROP_PATH = r"(?:\[[^\]]*\]|\.[a-z_][a-z0-9_]*|\([a-z_]+\)| key)*="


def names_the_prop(text: str, field: Field) -> bool:
    """Whether a problem in ``text`` names the user's prop first, then its value and rule, and the
    request field when the field is one (``names`` with a PascalCase request path)."""
    problems = [text.split(": ", 1)[1]] if "\n" not in text else [p[4:] for p in text.splitlines()[1:]]
    request_fields = [n for n in field.names if re.search(r"[A-Z]", n)]
    for problem in problems:
        if not re.match(re.escape(field.user_prop) + _PROP_PATH, problem) and not problem.startswith(
            field.user_prop + " and "
        ):
            continue
        if " is invalid: " not in problem and " conflict: " not in problem:
            continue
        from_model = ", shape " in problem  # checked in the rendered request: the request field follows the prop
        if from_model and request_fields and not any(n in problem.split(" is invalid: ")[0] for n in request_fields):
            continue
        return True
    return False


#: Per test: (cases whose error names the prop first, all cases), filled by run_cases.
NAMED: dict[str, tuple[int, int]] = {}
UNNAMED: dict[str, list[str]] = {}
RAN: set[str] = set()


def _shown_text(value: Any, shown: Callable[[Any], str]) -> list[str]:
    """What of the value an error must contain: its repr's start, or the size of a large collection."""
    text = shown(value)
    out = [text[:20]]
    if isinstance(value, list | tuple | dict):
        out.append(f"<{len(value)} ")  # a long collection is shown by its size
        # a bad member is shown on its own
        out.extend(repr(v)[:20] for v in (next(iter(value.items())) if isinstance(value, dict) else value[:1]))
    return out


COUNTS: dict[str, int] = {}


def run_cases(construct: str, fields: list[Field], *, examples: int, minimum: int) -> None:
    stack = new_stack()
    seen: set[tuple[str, str]] = set()
    counter = iter(range(1_000_000))

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def case(data: st.DataObject) -> None:
        field = data.draw(st.sampled_from(fields), label="field")
        value = data.draw(field.bad, label=field.prop)
        id = f"Case{next(counter)}"
        with pytest.raises(ConstructValidationError) as err:
            field.build(stack, id, value)
        text = str(err.value)
        # the construct, one under it, or a resource the case imports for it (``<id>Model``)
        assert err.value.path.startswith(f"{stack.node.path}/{id}"), text
        assert text.startswith(f"{field.kind or construct} '{err.value.path}': "), text
        assert any(name in text for name in field.names), (field.names, text)
        assert any(part in text for part in _shown_text(value, field.shown)), (field.shown(value)[:20], text)
        assert "is invalid: " in text or " conflict: " in text, text
        if (field.prop, repr(value)) not in seen:
            named.append(names_the_prop(text, field))
            if not named[-1]:
                UNNAMED.setdefault(construct, []).append(text)
        seen.add((field.prop, repr(value)))

    named: list[bool] = []
    case()
    COUNTS[construct] = len(seen)
    test = inspect.stack()[1].function  # the test that runs these cases
    NAMED[f"{test} {construct}"] = (sum(named), len(named))
    RAN.add(test)
    print(f"{construct}: {len(seen)} distinct bad cases")
    assert len(seen) >= minimum, f"{construct}: only {len(seen)} distinct bad cases"


# ---- shared, valid neighbours --------------------------------------------------------------------

_TMP = Path(tempfile.mkdtemp(prefix="sm-bad-input-"))
SCRIPT = _TMP / "job.py"
SCRIPT.write_text("print('hi')\n")


def _role(scope: Any) -> SageMakerExecutionRole:
    stack = Stack.of(scope)
    found = stack.node.try_find_child("Exec")
    return found if found is not None else SageMakerExecutionRole(stack, "Exec")  # type: ignore[return-value]


def _training(scope: Any) -> TrainingDefinition:
    stack = Stack.of(scope)
    found = stack.node.try_find_child("BaseTraining")
    if found is not None:
        return found  # type: ignore[return-value]
    return TrainingDefinition(stack, "BaseTraining", role=_role(stack), output_path="s3://bucket-a/models")


def _evaluation(scope: Any) -> ProcessingDefinition:
    stack = Stack.of(scope)
    found = stack.node.try_find_child("BaseEvaluation")
    if found is not None:
        return found  # type: ignore[return-value]
    return ProcessingDefinition(stack, "BaseEvaluation", role=_role(stack), code=SCRIPT)


def _bucket(scope: Any) -> MlDataBucket:
    stack = Stack.of(scope)
    found = stack.node.try_find_child("Data")
    return found if found is not None else MlDataBucket(stack, "Data")  # type: ignore[return-value]


# ---- the constructs --------------------------------------------------------------------------------


def processing(scope: Any, id: str, **kw: Any) -> ProcessingDefinition:
    props: dict[str, Any] = {
        "role": _role(scope),
        "code": SCRIPT,
        "inputs": [ProcessingInput("raw", "s3://bucket-a/raw/")],
        "outputs": [ProcessingOutput("out", "s3://bucket-a/out/")],
    }
    return ProcessingDefinition(scope, id, **{**props, **kw})


def p_input(name: str) -> Callable[[Any, str, Any], Any]:
    """Builds a processing definition whose one input has ``name`` set to the bad value."""
    if name == "source":
        return lambda s, i, v: processing(s, i, inputs=[ProcessingInput("raw", v)])
    return lambda s, i, v: processing(s, i, inputs=[ProcessingInput("raw", "s3://bucket-a/raw/", **{name: v})])


PROCESSING_FIELDS = [
    Field(
        "cluster.instance_type",
        bad_for("ProcessingClusterConfig", "InstanceType"),
        lambda s, i, v: processing(s, i, cluster=ClusterConfig(instance_type=v)),
        ("ClusterConfig.InstanceType",),
    ),
    Field(
        "cluster.instance_count",
        bad_for("ProcessingClusterConfig", "InstanceCount"),
        lambda s, i, v: processing(s, i, cluster=ClusterConfig(instance_count=v)),
        ("ClusterConfig.InstanceCount",),
    ),
    Field(
        "cluster.volume_size_gb",
        bad_for("ProcessingClusterConfig", "VolumeSizeInGB"),
        lambda s, i, v: processing(s, i, cluster=ClusterConfig(volume_size_gb=v)),
        ("ClusterConfig.VolumeSizeInGB",),
    ),
    Field(
        "max_runtime",
        bad_for("ProcessingStoppingCondition", "MaxRuntimeInSeconds").filter(lambda n: n > 0),
        lambda s, i, v: processing(s, i, max_runtime=Duration.seconds(v)),
        ("StoppingCondition.MaxRuntimeInSeconds",),
    ),
    Field("inputs.source", bad_for("ProcessingS3Input", "S3Uri"), p_input("source"), ("S3Input.S3Uri",)),
    Field("inputs.s3_data_type", bad_for("ProcessingS3Input", "S3DataType"), p_input("s3_data_type"), ("S3DataType",)),
    Field(
        "inputs.distribution",
        bad_for("ProcessingS3Input", "S3DataDistributionType"),
        p_input("distribution"),
        ("S3DataDistributionType",),
    ),
    Field("inputs.input_mode", bad_for("ProcessingS3Input", "S3InputMode"), p_input("input_mode"), ("S3InputMode",)),
    Field(
        "inputs.compression",
        bad_for("ProcessingS3Input", "S3CompressionType").filter(lambda v: v != "None"),
        lambda s, i, v: processing(
            s, i, inputs=[ProcessingInput("raw", "s3://bucket-a/raw/", input_mode="Pipe", compression=v)]
        ),
        ("S3CompressionType",),
    ),
    Field(
        "outputs.upload_mode",
        bad_for("ProcessingS3Output", "S3UploadMode"),
        lambda s, i, v: processing(s, i, outputs=[ProcessingOutput("out", "s3://bucket-a/out/", upload_mode=v)]),
        ("S3UploadMode",),
    ),
    Field(
        "environment.key",
        st.text(min_size=1, max_size=12).filter(
            lambda v: not regex.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", v) and "{" not in v
        ),
        lambda s, i, v: processing(s, i, environment={v: "x"}),
        ("Environment",),
    ),
    Field(
        "environment.value",
        st.integers(257, 400).map(lambda n: "v" * n),
        lambda s, i, v: processing(s, i, environment={"A": v}),
        ("Environment.A",),
    ),
    Field(
        "environment.count",
        too_many_entries("CreateProcessingJobRequest", "Environment"),
        lambda s, i, v: processing(s, i, environment=v),
        ("Environment",),
    ),
    Field(
        "arguments.count",
        too_many("AppSpecification", "ContainerArguments", lambda n: f"--a{n}"),
        lambda s, i, v: processing(s, i, arguments=v),
        ("ContainerArguments",),
    ),
    Field(
        "arguments.item",
        st.integers(257, 300).map(lambda n: ["x" * n]),
        lambda s, i, v: processing(s, i, arguments=v),
        ("ContainerArguments[0]",),
        shown=lambda v: repr(v[0]),
    ),
    Field(
        "entrypoint.count",
        too_many("AppSpecification", "ContainerEntrypoint", lambda n: f"e{n}"),
        lambda s, i, v: processing(s, i, entrypoint=v),
        ("ContainerEntrypoint",),
    ),
    Field(
        "tags.count",
        st.integers(50, 53).map(lambda n: {f"k{i}": "v" for i in range(n)}),
        lambda s, i, v: processing(s, i, tags=v),
        ("Tags",),
        shown=lambda v: f"<{len(v) + 1} items>",
    ),
    Field(
        "tags.key",
        st.integers(129, 140).map(lambda n: "k" * n),
        lambda s, i, v: processing(s, i, tags={v: "x"}),
        ("Tags[0].Key",),
    ),
    Field(
        "name_prefix",
        st.text(min_size=1, max_size=60).filter(lambda v: not regex.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,49}", v)),
        lambda s, i, v: processing(s, i, name_prefix=v),
        ("name_prefix",),
    ),
    Field(
        "static JSONPath",
        st.sampled_from(["$.input.raw", "$$.Execution.Input.raw", "$.steps.Prep.Outputs[0]"]),
        p_input("source"),
        ("S3Input.S3Uri",),
        user="inputs",
    ),
    Field("role", wrong_types(), lambda s, i, v: processing(s, i, role=v), ("role",)),
    Field("max_runtime type", wrong_types(), lambda s, i, v: processing(s, i, max_runtime=v), ("max_runtime",)),
    Field(
        "output_kms_key",
        st.sampled_from(["arn:aws:kms:us-east-1:111122223333:key/1", 3, b"k"]),
        lambda s, i, v: processing(s, i, output_kms_key=v),
        ("output_kms_key",),
    ),
    Field("inputs type", wrong_types(), lambda s, i, v: processing(s, i, inputs=v), ("inputs",)),
    Field("cluster type", wrong_types("none"), lambda s, i, v: processing(s, i, cluster=v), ("cluster",)),
    Field(
        "environment type",
        wrong_types("none", "strmap"),
        lambda s, i, v: processing(s, i, environment=v),
        ("environment",),
    ),
]


def test_processing_bad_input() -> None:
    run_cases("ProcessingDefinition", PROCESSING_FIELDS, examples=70, minimum=45)


# ---- training and tuning ---------------------------------------------------------------------------


def training(scope: Any, id: str, **kw: Any) -> TrainingDefinition:
    props: dict[str, Any] = {
        "role": _role(scope),
        "output_path": "s3://bucket-a/models",
        "channels": [TrainingChannel("train", "s3://bucket-a/train/")],
    }
    return TrainingDefinition(scope, id, **{**props, **kw})


def t_channel(name: str) -> Callable[[Any, str, Any], Any]:
    if name == "name":
        return lambda s, i, v: training(s, i, channels=[TrainingChannel(v, "s3://bucket-a/train/")])
    if name == "s3_uri":
        return lambda s, i, v: training(s, i, channels=[TrainingChannel("train", v)])
    return lambda s, i, v: training(s, i, channels=[TrainingChannel("train", "s3://bucket-a/train/", **{name: v})])


TRAINING_FIELDS = [
    Field(
        "cluster.instance_type",
        bad_for("ResourceConfig", "InstanceType"),
        lambda s, i, v: training(s, i, cluster=ClusterConfig(instance_type=v)),
        ("ResourceConfig.InstanceType",),
    ),
    Field(
        "cluster.instance_count",
        st.integers(-1000, 0),
        lambda s, i, v: training(s, i, cluster=ClusterConfig(instance_count=v)),
        ("cluster.instance_count",),
    ),
    Field("channels.name", bad_for("Channel", "ChannelName"), t_channel("name"), ("ChannelName",)),
    Field("channels.s3_uri", bad_for("S3DataSource", "S3Uri"), t_channel("s3_uri"), ("S3DataSource.S3Uri",)),
    Field("channels.content_type", bad_for("Channel", "ContentType"), t_channel("content_type"), ("ContentType",)),
    Field("channels.input_mode", bad_for("Channel", "InputMode"), t_channel("input_mode"), ("InputMode",)),
    Field(
        "channels.distribution",
        bad_for("S3DataSource", "S3DataDistributionType"),
        t_channel("distribution"),
        ("S3DataDistributionType",),
    ),
    Field(
        "channels.compression", bad_for("Channel", "CompressionType"), t_channel("compression"), ("CompressionType",)
    ),
    Field(
        "channels.count",
        too_many("CreateTrainingJobRequest", "InputDataConfig", lambda n: TrainingChannel(f"c{n}", "s3://b-a/x/")),
        lambda s, i, v: training(s, i, channels=v),
        ("InputDataConfig",),
        shown=lambda v: f"<{len(v)} items>",
    ),
    Field(
        "output_path",
        bad_for("OutputDataConfig", "S3OutputPath"),
        lambda s, i, v: training(s, i, output_path=v),
        ("S3OutputPath",),
        shown=lambda v: repr(v.rstrip("/")),
    ),
    Field(
        "hyperparameters.count",
        too_many_entries("CreateTrainingJobRequest", "HyperParameters"),
        lambda s, i, v: training(s, i, hyperparameters=v),
        ("HyperParameters",),
        shown=lambda v: f"<{len(v)} entries>",
    ),
    Field(
        "hyperparameters.value",
        st.integers(2501, 2600).map(lambda n: "9" * n),
        lambda s, i, v: training(s, i, hyperparameters={"eta": v}),
        ("HyperParameters.eta",),
    ),
    Field(
        "hyperparameters.key",
        st.integers(257, 300).map(lambda n: "k" * n),
        lambda s, i, v: training(s, i, hyperparameters={v: "1"}),
        ("HyperParameters",),
    ),
    Field(
        "metric_definitions.name",
        bad_for("MetricDefinition", "Name"),
        lambda s, i, v: training(s, i, metric_definitions={v: "loss=(.*)"}),
        ("MetricDefinitions[0].Name",),
    ),
    Field(
        "metric_definitions.regex",
        st.integers(501, 560).map(lambda n: "a" * n),
        lambda s, i, v: training(s, i, metric_definitions={"loss": v}),
        ("MetricDefinitions[0].Regex",),
    ),
    Field(
        "metric_definitions.count",
        too_many_entries("AlgorithmSpecification", "MetricDefinitions"),
        lambda s, i, v: training(s, i, metric_definitions={k: "x=(.*)" for k in v}),
        ("MetricDefinitions",),
        shown=lambda v: f"<{len(v)} items>",
    ),
    Field(
        "environment.count",
        too_many_entries("CreateTrainingJobRequest", "Environment"),
        lambda s, i, v: training(s, i, environment=v),
        ("Environment",),
        shown=lambda v: f"<{len(v)} entries>",
    ),
    Field(
        "checkpoint_s3_uri",
        bad_for("CheckpointConfig", "S3Uri"),
        lambda s, i, v: training(s, i, use_spot_instances=True, max_wait=Duration.hours(2), checkpoint_s3_uri=v),
        ("CheckpointConfig.S3Uri",),
    ),
    Field(
        "max_runtime",
        st.integers(28 * 24 + 1, 2000),
        lambda s, i, v: training(s, i, max_runtime=Duration.hours(v)),
        ("max_runtime",),
        shown=lambda v: repr(Duration.hours(v).to_human_string()),
    ),
    Field("role", wrong_types(), lambda s, i, v: training(s, i, role=v), ("role",)),
    Field("output_path type", wrong_types("str"), lambda s, i, v: training(s, i, output_path=v), ("output_path",)),
    Field(
        "use_spot_instances",
        wrong_types("bool"),
        lambda s, i, v: training(s, i, use_spot_instances=v),
        ("use_spot_instances",),
    ),
    Field(
        "hyperparameters type",
        st.sampled_from([7, b"x", {"eta": None}, {"eta": b"x"}, {"eta": [1]}, {1: "x"}]),
        lambda s, i, v: training(s, i, hyperparameters=v),
        ("hyperparameters",),
    ),
]


def test_training_bad_input() -> None:
    run_cases("TrainingDefinition", TRAINING_FIELDS, examples=60, minimum=40)


def tuning(scope: Any, id: str, **kw: Any) -> TuningDefinition:
    props: dict[str, Any] = {
        "training": _training(scope),
        "objective_metric": "validation:auc",
        "ranges": [IntegerRange("max_depth", 3, 9)],
    }
    return TuningDefinition(scope, id, **{**props, **kw})


TUNING_FIELDS = [
    Field(
        "objective_metric",
        bad_for("HyperParameterTuningJobObjective", "MetricName"),
        lambda s, i, v: tuning(s, i, objective_metric=v),
        ("MetricName",),
    ),
    Field("objective_metric empty", st.just(""), lambda s, i, v: tuning(s, i, objective_metric=v), ("MetricName",)),
    Field(
        "objective_type",
        bad_for("HyperParameterTuningJobObjective", "Type"),
        lambda s, i, v: tuning(s, i, objective_type=v),
        ("HyperParameterTuningJobObjective.Type",),
    ),
    Field(
        "strategy",
        bad_for("HyperParameterTuningJobConfig", "Strategy").filter(lambda v: v != "Grid"),
        lambda s, i, v: tuning(s, i, strategy=v),
        ("Strategy",),
    ),
    Field(
        "early_stopping",
        bad_for("HyperParameterTuningJobConfig", "TrainingJobEarlyStoppingType"),
        lambda s, i, v: tuning(s, i, early_stopping=v),
        ("TrainingJobEarlyStoppingType",),
    ),
    Field(
        "ranges.count",
        too_many("ParameterRanges", "IntegerParameterRanges", lambda n: IntegerRange(f"p{n}", 1, 2)),
        lambda s, i, v: tuning(s, i, ranges=v),
        ("IntegerParameterRanges",),
        shown=lambda v: f"<{len(v)} items>",
    ),
    Field(
        "ranges.name",
        st.integers(257, 300).map(lambda n: "p" * n),
        lambda s, i, v: tuning(s, i, ranges=[IntegerRange(v, 1, 2)]),
        ("IntegerParameterRanges[0].Name",),
    ),
    Field(
        "ranges.scaling",
        bad_for("IntegerParameterRange", "ScalingType"),
        lambda s, i, v: tuning(s, i, ranges=[IntegerRange("p", 1, 2, scaling=v)]),
        ("ScalingType",),
    ),
    Field(
        "ranges.values",
        st.sampled_from([0, 31, 32, 40]).map(lambda n: [f"v{i}" for i in range(n)]),
        lambda s, i, v: tuning(s, i, ranges=[CategoricalRange("booster", v)]),
        ("CategoricalParameterRanges[0].Values",),
    ),
    Field(
        "ranges.value",
        st.integers(257, 300).map(lambda n: ["v" * n]),
        lambda s, i, v: tuning(s, i, ranges=[CategoricalRange("booster", v)]),
        ("Values[0]",),
    ),
    Field(
        "max_training_jobs",
        st.integers(-5, 0) | st.integers(751, 5000),
        lambda s, i, v: tuning(s, i, max_training_jobs=v, max_parallel_jobs=1),
        ("max_training_jobs",),
    ),
    Field(
        "name_prefix",
        st.integers(20, 40).map(lambda n: "t" * n),
        lambda s, i, v: tuning(s, i, name_prefix=v),
        ("name_prefix",),
    ),
    Field(
        "ranges type",
        st.sampled_from([None, 3, "max_depth", [("max_depth", 1, 2)], [None]]),
        lambda s, i, v: tuning(s, i, ranges=v),
        ("ranges",),
    ),
    Field("training type", wrong_types(), lambda s, i, v: tuning(s, i, training=v), ("training",)),
    Field(
        "max_parallel_jobs type",
        wrong_types("int"),
        lambda s, i, v: tuning(s, i, max_parallel_jobs=v),
        ("max_parallel_jobs",),
    ),
]


def test_tuning_bad_input() -> None:
    run_cases("TuningDefinition", TUNING_FIELDS, examples=50, minimum=30)


# ---- transform, model, endpoint config, deployment ---------------------------------------------------


def _existing_model(scope: Any, id: str, name: Any) -> Any:
    return ModelDefinition.from_model_name(scope, f"{id}Model", name)


def transform(scope: Any, id: str, **kw: Any) -> TransformDefinition:
    if "model" not in kw:
        kw["model"] = _existing_model(scope, id, kw.pop("model_name", "churn-model"))
    props: dict[str, Any] = {
        "input_uri": "s3://bucket-a/in/",
        "output_path": "s3://bucket-a/out/",
    }
    return TransformDefinition(scope, id, **{**props, **kw})


TRANSFORM_FIELDS = [
    Field(
        "cluster.instance_type",
        bad_for("TransformResources", "InstanceType"),
        lambda s, i, v: transform(s, i, cluster=ClusterConfig(instance_type=v)),
        ("TransformResources.InstanceType",),
    ),
    Field(
        "model_name",
        bad_for("CreateTransformJobRequest", "ModelName"),
        lambda s, i, v: transform(s, i, model_name=v),
        ("model_name",),
        kind="ImportedModel",
    ),
    Field(
        "model_name JSONPath",
        st.sampled_from(["$.steps.PipelineModel.ModelName", "$.steps.Model.ModelName", "$$.Execution.Input.model"]),
        lambda s, i, v: transform(s, i, model_name=v),
        ("model_name",),
        kind="ImportedModel",
    ),
    Field("input_uri", bad_for("S3DataSource", "S3Uri"), lambda s, i, v: transform(s, i, input_uri=v), ("S3Uri",)),
    Field(
        "output_path",
        bad_for("TransformOutput", "S3OutputPath"),
        lambda s, i, v: transform(s, i, output_path=v),
        ("S3OutputPath",),
    ),
    Field(
        "content_type",
        bad_for("TransformInput", "ContentType"),
        lambda s, i, v: transform(s, i, content_type=v),
        ("ContentType",),
    ),
    Field("accept", bad_for("TransformOutput", "Accept"), lambda s, i, v: transform(s, i, accept=v), ("Accept",)),
    Field(
        "split_type",
        bad_for("TransformInput", "SplitType").filter(lambda v: v != "None"),
        lambda s, i, v: transform(s, i, split_type=v),
        ("SplitType",),
    ),
    Field(
        "compression",
        bad_for("TransformInput", "CompressionType"),
        lambda s, i, v: transform(s, i, compression=v),
        ("CompressionType",),
    ),
    Field(
        "batch_strategy",
        bad_for("CreateTransformJobRequest", "BatchStrategy"),
        lambda s, i, v: transform(s, i, batch_strategy=v),
        ("BatchStrategy",),
    ),
    Field(
        "assemble_with",
        bad_for("TransformOutput", "AssembleWith"),
        lambda s, i, v: transform(s, i, assemble_with=v),
        ("AssembleWith",),
    ),
    Field(
        "max_payload_mb",
        st.integers(101, 10_000) | st.integers(-100, -1),
        lambda s, i, v: transform(s, i, max_payload_mb=v),
        ("max_payload_mb", "MaxPayloadInMB"),
    ),
    Field(
        "environment.count",
        too_many_entries("CreateTransformJobRequest", "Environment"),
        lambda s, i, v: transform(s, i, environment=v),
        ("Environment",),
        shown=lambda v: f"<{len(v)} entries>",
    ),
    Field(
        "data_processing.input_filter",
        st.integers(64, 100).map(lambda n: "$" + "a" * (n - 1)),
        lambda s, i, v: transform(s, i, data_processing=DataProcessing(input_filter=v)),
        ("InputFilter",),
    ),
    Field(
        "data_processing.join_source",
        bad_for("DataProcessing", "JoinSource"),
        lambda s, i, v: transform(s, i, data_processing=DataProcessing(join_source=v)),
        ("JoinSource",),
    ),
    Field("model type", wrong_types(), lambda s, i, v: transform(s, i, model=v), ("model",)),
    Field("max_runtime type", wrong_types(), lambda s, i, v: transform(s, i, max_runtime=v), ("max_runtime",)),
]


def test_transform_bad_input() -> None:
    run_cases("TransformDefinition", TRANSFORM_FIELDS, examples=50, minimum=30)


def model(scope: Any, id: str, **kw: Any) -> ModelDefinition:
    props: dict[str, Any] = {
        "role": _role(scope),
        "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1",
        "model_data_url": "s3://bucket-a/models/model.tar.gz",
    }
    return ModelDefinition(scope, id, **{**props, **kw})


MODEL_FIELDS = [
    Field("image", bad_for("ContainerDefinition", "Image"), lambda s, i, v: model(s, i, image=v), ("Image",)),
    Field("image empty", st.just(""), lambda s, i, v: model(s, i, image=v), ("Image",)),
    Field(
        "model_data_url",
        bad_for("ContainerDefinition", "ModelDataUrl"),
        lambda s, i, v: model(s, i, model_data_url=v),
        ("ModelDataUrl",),
    ),
    Field(
        "model_data_url JSONPath",
        st.sampled_from(["$.steps.Train.ModelArtifacts", "$.input.model"]),
        lambda s, i, v: model(s, i, model_data_url=v),
        ("ModelDataUrl", "model_data_url"),
    ),
    Field(
        "environment.key",
        st.text(min_size=1, max_size=10).filter(
            lambda v: not regex.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", v) and "{" not in v
        ),
        lambda s, i, v: model(s, i, environment={v: "1"}),
        ("Environment",),
    ),
    Field(
        "environment.value",
        st.integers(1025, 1100).map(lambda n: "v" * n),
        lambda s, i, v: model(s, i, environment={"A": v}),
        ("Environment.A",),
    ),
    Field("environment None value", st.just({"A": None}), lambda s, i, v: model(s, i, environment=v), ("environment",)),
    Field(
        "name_prefix",
        st.text(min_size=1, max_size=60).filter(lambda v: not regex.fullmatch(r"[a-z0-9](-*[a-z0-9]){0,49}", v)),
        lambda s, i, v: model(s, i, name_prefix=v),
        ("name_prefix",),
    ),
    Field("role", wrong_types(), lambda s, i, v: model(s, i, role=v), ("role",)),
    Field("image type", wrong_types("str"), lambda s, i, v: model(s, i, image=v), ("image",)),
    Field(
        "model_data_url type", wrong_types("str"), lambda s, i, v: model(s, i, model_data_url=v), ("model_data_url",)
    ),
]


def test_model_bad_input() -> None:
    run_cases("ModelDefinition", MODEL_FIELDS, examples=45, minimum=28)


def endpoint_config(scope: Any, id: str, **kw: Any) -> EndpointConfigDefinition:
    name = kw.pop("model_name", "churn-model")
    return EndpointConfigDefinition(scope, id, **{"model": _existing_model(scope, id, name), **kw})


ENDPOINT_CONFIG_FIELDS = [
    Field(
        "instance_type",
        bad_for("ProductionVariant", "InstanceType"),
        lambda s, i, v: endpoint_config(s, i, instance_type=v),
        ("InstanceType",),
    ),
    Field(
        "instance_type t3",
        st.just("ml.t3.medium"),
        lambda s, i, v: endpoint_config(s, i, instance_type=v),
        ("InstanceType",),
    ),
    Field(
        "initial_instance_count",
        bad_for("ProductionVariant", "InitialInstanceCount"),
        lambda s, i, v: endpoint_config(s, i, initial_instance_count=v),
        ("InitialInstanceCount",),
    ),
    Field(
        "variant_name",
        bad_for("ProductionVariant", "VariantName"),
        lambda s, i, v: endpoint_config(s, i, variant_name=v),
        ("VariantName",),
    ),
    Field(
        "model_name",
        bad_for("ProductionVariant", "ModelName"),
        lambda s, i, v: endpoint_config(s, i, model_name=v),
        ("model_name",),
        kind="ImportedModel",
    ),
    Field(
        "serverless.memory_size_mb",
        bad_for("ProductionVariantServerlessConfig", "MemorySizeInMB"),
        lambda s, i, v: endpoint_config(s, i, serverless=ServerlessConfig(memory_size_mb=v)),
        ("MemorySizeInMB", "memory_size_mb"),
    ),
    Field(
        "serverless.max_concurrency",
        bad_for("ProductionVariantServerlessConfig", "MaxConcurrency"),
        lambda s, i, v: endpoint_config(s, i, serverless=ServerlessConfig(max_concurrency=v)),
        ("MaxConcurrency",),
    ),
    Field(
        "data_capture.sampling_percentage",
        bad_for("DataCaptureConfig", "InitialSamplingPercentage"),
        lambda s, i, v: endpoint_config(s, i, data_capture=DataCapture("s3://bucket-a/c/", sampling_percentage=v)),
        ("InitialSamplingPercentage",),
    ),
    Field(
        "data_capture.capture_modes",
        bad_for("CaptureOption", "CaptureMode").map(lambda v: [v]),
        lambda s, i, v: endpoint_config(s, i, data_capture=DataCapture("s3://bucket-a/c/", capture_modes=v)),
        ("CaptureMode",),
    ),
    Field(
        "data_capture.capture_modes Both",
        st.just(["Both"]),
        lambda s, i, v: endpoint_config(s, i, data_capture=DataCapture("s3://bucket-a/c/", capture_modes=v)),
        ("CaptureMode",),
    ),
    Field(
        "data_capture.destination_s3_uri",
        bad_for("DataCaptureConfig", "DestinationS3Uri"),
        lambda s, i, v: endpoint_config(s, i, data_capture=DataCapture(v)),
        ("DestinationS3Uri",),
    ),
    Field(
        "kms_key",
        st.sampled_from(["arn:aws:kms:us-east-1:111122223333:key/1", 1, b"k"]),
        lambda s, i, v: endpoint_config(s, i, kms_key=v),
        ("kms_key",),
    ),
    Field("serverless type", wrong_types("none"), lambda s, i, v: endpoint_config(s, i, serverless=v), ("serverless",)),
]


def test_endpoint_config_bad_input() -> None:
    run_cases("EndpointConfigDefinition", ENDPOINT_CONFIG_FIELDS, examples=45, minimum=28)


def deployment(scope: Any, id: str, **kw: Any) -> EndpointDeployment:
    config_name = kw.pop("endpoint_config_name", "churn-config-1")
    props: dict[str, Any] = {
        "endpoint_name": "churn",
        "config": EndpointConfigDefinition.from_config_name(scope, f"{id}Config", config_name),
    }
    return EndpointDeployment(scope, id, **{**props, **kw})


def blue_green(**kw: Any) -> Callable[[Any, str, Any], Any]:
    ((name, convert),) = kw.items()
    return lambda s, i, v: deployment(
        s, i, deployment=BlueGreenDeployment(**{"alarm_names": ["a"], "traffic": "CANARY", name: convert(v)})
    )


DEPLOYMENT_FIELDS = [
    Field(
        "endpoint_name",
        bad_for("CreateEndpointInput", "EndpointName"),
        lambda s, i, v: deployment(s, i, endpoint_name=v),
        ("EndpointName",),
    ),
    Field(
        "endpoint_config_name",
        bad_for("CreateEndpointInput", "EndpointConfigName"),
        lambda s, i, v: deployment(s, i, endpoint_config_name=v),
        ("config_name",),
        kind="ImportedEndpointConfig",
        user="config_name",
    ),
    Field(
        "deployment.wait",
        bad_for("TrafficRoutingConfig", "WaitIntervalInSeconds").filter(lambda n: n >= 0),
        blue_green(wait=Duration.seconds),
        ("WaitIntervalInSeconds",),
    ),
    Field(
        "deployment.termination_wait",
        bad_for("BlueGreenUpdatePolicy", "TerminationWaitInSeconds").filter(lambda n: n >= 0),
        blue_green(termination_wait=Duration.seconds),
        ("TerminationWaitInSeconds",),
    ),
    Field(
        "deployment.alarm_names",
        too_many("AutoRollbackConfig", "Alarms", lambda n: f"alarm-{n}"),
        blue_green(alarm_names=list),
        ("Alarms",),
        shown=lambda v: f"<{len(v)} items>",
    ),
    Field(
        "deployment.alarm_name",
        bad_for("Alarm", "AlarmName") | st.just(" "),
        blue_green(alarm_names=lambda v: [v]),
        ("AlarmName",),
    ),
    Field(
        "deployment.traffic",
        bad_for("TrafficRoutingConfig", "Type"),
        lambda s, i, v: deployment(s, i, deployment=BlueGreenDeployment(traffic=v)),
        ("TrafficRoutingConfiguration.Type",),
    ),
    Field(
        "deployment.canary_percent",
        st.integers(-100, 0) | st.integers(100, 1000),
        blue_green(canary_percent=int),
        ("canary_percent", "CanarySize.Value"),
    ),
    Field(
        "tags.count",
        st.integers(51, 55).map(lambda n: {f"k{i}": "v" for i in range(n)}),
        lambda s, i, v: deployment(s, i, tags=v),
        ("Tags",),
        shown=lambda v: f"<{len(v)} items>",
    ),
    Field(
        "endpoint_name type", wrong_types("str"), lambda s, i, v: deployment(s, i, endpoint_name=v), ("endpoint_name",)
    ),
    Field(
        "poll_interval type", wrong_types("none"), lambda s, i, v: deployment(s, i, poll_interval=v), ("poll_interval",)
    ),
]


def test_endpoint_deployment_bad_input() -> None:
    run_cases("EndpointDeployment", DEPLOYMENT_FIELDS, examples=45, minimum=28)


# ---- registry ------------------------------------------------------------------------------------------


def group(scope: Any, id: str, **kw: Any) -> ModelPackageGroup:
    return ModelPackageGroup(scope, id, **{"group_name": "churn", **kw})


GROUP_FIELDS = [
    Field(
        "group_name",
        bad_for("CreateModelPackageGroupInput", "ModelPackageGroupName"),
        lambda s, i, v: group(s, i, group_name=v),
        ("ModelPackageGroupName",),
    ),
    Field(
        "description",
        bad_for("CreateModelPackageGroupInput", "ModelPackageGroupDescription"),
        lambda s, i, v: group(s, i, description=v),
        ("ModelPackageGroupDescription",),
    ),
    Field("group_name type", wrong_types("str"), lambda s, i, v: group(s, i, group_name=v), ("group_name",)),
    Field("removal_policy type", wrong_types(), lambda s, i, v: group(s, i, removal_policy=v), ("removal_policy",)),
]


def test_model_package_group_bad_input() -> None:
    run_cases("ModelPackageGroup", GROUP_FIELDS, examples=25, minimum=15)


def registration(scope: Any, id: str, **kw: Any) -> ModelRegistrationDefinition:
    stack = Stack.of(scope)
    g = stack.node.try_find_child("Group") or ModelPackageGroup(stack, "Group", group_name="churn")
    props: dict[str, Any] = {
        "group": g,
        "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1",
        "model_data_url": "s3://bucket-a/models/model.tar.gz",
    }
    return ModelRegistrationDefinition(scope, id, **{**props, **kw})


REGISTRATION_FIELDS = [
    Field(
        "approval_status",
        bad_for("CreateModelPackageInput", "ModelApprovalStatus"),
        lambda s, i, v: registration(s, i, approval_status=v),
        ("ModelApprovalStatus",),
    ),
    Field(
        "realtime_instance_types",
        bad_for("ProductionVariant", "InstanceType").map(lambda v: [v]),
        lambda s, i, v: registration(s, i, realtime_instance_types=v),
        ("SupportedRealtimeInferenceInstanceTypes",),
    ),
    Field(
        "transform_instance_types",
        bad_for("TransformResources", "InstanceType").map(lambda v: [v]),
        lambda s, i, v: registration(s, i, transform_instance_types=v),
        ("SupportedTransformInstanceTypes",),
    ),
    Field(
        "transform_instance_types empty",
        st.just([]),
        lambda s, i, v: registration(s, i, transform_instance_types=v),
        ("SupportedTransformInstanceTypes",),
    ),
    Field(
        "content_types",
        st.integers(257, 300).map(lambda n: ["t" * n]),
        lambda s, i, v: registration(s, i, content_types=v),
        ("SupportedContentTypes[0]",),
    ),
    Field(
        "description",
        bad_for("CreateModelPackageInput", "ModelPackageDescription"),
        lambda s, i, v: registration(s, i, description=v),
        ("ModelPackageDescription",),
    ),
    Field(
        "model_data_url",
        bad_for("ModelPackageContainerDefinition", "ModelDataUrl"),
        lambda s, i, v: registration(s, i, model_data_url=v),
        ("ModelDataUrl",),
    ),
    Field(
        "image",
        bad_for("ModelPackageContainerDefinition", "Image"),
        lambda s, i, v: registration(s, i, image=v),
        ("Image",),
    ),
    Field(
        "evaluation_report_uri",
        bad_for("MetricsSource", "S3Uri"),
        lambda s, i, v: registration(s, i, evaluation_report_uri=v),
        ("Statistics.S3Uri",),
    ),
    Field("group type", wrong_types(), lambda s, i, v: registration(s, i, group=v), ("group",)),
    Field(
        "content_types type",
        wrong_types("strseq"),
        lambda s, i, v: registration(s, i, content_types=v),
        ("content_types",),
    ),
]


def test_model_registration_bad_input() -> None:
    run_cases("ModelRegistrationDefinition", REGISTRATION_FIELDS, examples=45, minimum=28)


# ---- data-quality monitoring -------------------------------------------------------------------------


def dq_baseline(scope: Any, id: str, **kw: Any) -> DataQualityBaselineDefinition:
    props: dict[str, Any] = {
        "role": _role(scope),
        "dataset_uri": "s3://bucket-a/processed/train/",
        "output_uri": "s3://bucket-a/monitoring/baseline/",
    }
    return DataQualityBaselineDefinition(scope, id, **{**props, **kw})


BASELINE_FIELDS = [
    Field(
        "dataset_uri",
        bad_for("ProcessingS3Input", "S3Uri"),
        lambda s, i, v: dq_baseline(s, i, dataset_uri=v),
        ("S3Uri",),
    ),
    Field(
        "output_uri",
        bad_for("ProcessingS3Output", "S3Uri"),
        lambda s, i, v: dq_baseline(s, i, output_uri=v),
        ("output_uri", "S3Uri"),
    ),
    Field(
        "cluster.instance_type",
        bad_for("ProcessingClusterConfig", "InstanceType"),
        lambda s, i, v: dq_baseline(s, i, cluster=ClusterConfig(instance_type=v)),
        ("InstanceType",),
    ),
    Field(
        "cluster.volume_size_gb",
        bad_for("ProcessingClusterConfig", "VolumeSizeInGB"),
        lambda s, i, v: dq_baseline(s, i, cluster=ClusterConfig(volume_size_gb=v)),
        ("VolumeSizeInGB",),
    ),
    Field(
        "name_prefix",
        bad_for("CreateProcessingJobRequest", "ProcessingJobName"),
        lambda s, i, v: dq_baseline(s, i, name_prefix=v),
        ("name_prefix",),
    ),
    Field(
        "dataset_format",
        st.sampled_from(["CSV", "parquet", "json-lines", ""]),
        lambda s, i, v: dq_baseline(s, i, dataset_format=v),
        ("dataset_format",),
    ),
    Field("role type", wrong_types(), lambda s, i, v: dq_baseline(s, i, role=v), ("role",)),
    Field("dataset_uri type", wrong_types("str"), lambda s, i, v: dq_baseline(s, i, dataset_uri=v), ("dataset_uri",)),
    Field("header type", wrong_types("bool"), lambda s, i, v: dq_baseline(s, i, header=v), ("header",)),
]


def test_data_quality_baseline_bad_input() -> None:
    run_cases("DataQualityBaselineDefinition", BASELINE_FIELDS, examples=40, minimum=25)


def dq_job(scope: Any, id: str, **kw: Any) -> DataQualityJobDefinition:
    props: dict[str, Any] = {
        "role": _role(scope),
        "endpoint_name": "churn",
        "statistics_uri": "s3://bucket-a/monitoring/baseline/statistics.json",
        "constraints_uri": "s3://bucket-a/monitoring/baseline/constraints.json",
        "output_uri": "s3://bucket-a/monitoring/reports/",
    }
    return DataQualityJobDefinition(scope, id, **{**props, **kw})


JOB_DEFINITION_FIELDS = [
    Field(
        "endpoint_name",
        bad_for("EndpointInput", "EndpointName"),
        lambda s, i, v: dq_job(s, i, endpoint_name=v),
        ("EndpointName",),
    ),
    Field(
        "statistics_uri",
        bad_for("MonitoringStatisticsResource", "S3Uri"),
        lambda s, i, v: dq_job(s, i, statistics_uri=v),
        ("StatisticsResource.S3Uri",),
    ),
    Field(
        "constraints_uri",
        bad_for("MonitoringConstraintsResource", "S3Uri"),
        lambda s, i, v: dq_job(s, i, constraints_uri=v),
        ("ConstraintsResource.S3Uri",),
    ),
    Field(
        "output_uri",
        bad_for("MonitoringS3Output", "S3Uri"),
        lambda s, i, v: dq_job(s, i, output_uri=v),
        ("S3Output.S3Uri",),
    ),
    Field(
        "cluster.instance_type",
        bad_for("MonitoringClusterConfig", "InstanceType"),
        lambda s, i, v: dq_job(s, i, cluster=ClusterConfig(instance_type=v)),
        ("InstanceType",),
    ),
    Field(
        "cluster.instance_count",
        bad_for("MonitoringClusterConfig", "InstanceCount"),
        lambda s, i, v: dq_job(s, i, cluster=ClusterConfig(instance_count=v)),
        ("InstanceCount",),
    ),
    Field(
        "cluster.volume_size_gb",
        bad_for("MonitoringClusterConfig", "VolumeSizeInGB"),
        lambda s, i, v: dq_job(s, i, cluster=ClusterConfig(volume_size_gb=v)),
        ("VolumeSizeInGB",),
    ),
    Field(
        "max_runtime",
        st.integers(86401, 10**6).map(Duration.seconds),
        lambda s, i, v: dq_job(s, i, max_runtime=v),
        ("MaxRuntimeInSeconds",),
        shown=lambda v: str(int(v.to_seconds())),
    ),
    Field(
        "name_prefix",
        bad_for("CreateDataQualityJobDefinitionRequest", "JobDefinitionName"),
        lambda s, i, v: dq_job(s, i, name_prefix=v),
        ("name_prefix",),
    ),
    Field("role type", wrong_types(), lambda s, i, v: dq_job(s, i, role=v), ("role",)),
    Field("endpoint_name type", wrong_types("str"), lambda s, i, v: dq_job(s, i, endpoint_name=v), ("endpoint_name",)),
]


def test_data_quality_job_definition_bad_input() -> None:
    run_cases("DataQualityJobDefinition", JOB_DEFINITION_FIELDS, examples=50, minimum=30)


# ---- notebook, bucket, role, network, state machine, pipeline -----------------------------------------


def notebook(scope: Any, id: str, **kw: Any) -> NotebookInstance:
    return NotebookInstance(scope, id, **{"data_bucket": _bucket(scope), "execution_role": _role(scope), **kw})


NOTEBOOK_FIELDS = [
    Field(
        "instance_type",
        bad_for("CreateNotebookInstanceInput", "InstanceType"),
        lambda s, i, v: notebook(s, i, instance_type=v),
        ("instance_type",),
    ),
    Field(
        "instance_type huge", st.just("ml.t3.huge"), lambda s, i, v: notebook(s, i, instance_type=v), ("instance_type",)
    ),
    Field(
        "volume_size_gb",
        bad_for("CreateNotebookInstanceInput", "VolumeSizeInGB"),
        lambda s, i, v: notebook(s, i, volume_size_gb=v),
        ("volume_size_gb",),
    ),
    Field(
        "notebook_instance_name",
        bad_for("CreateNotebookInstanceInput", "NotebookInstanceName"),
        lambda s, i, v: notebook(s, i, notebook_instance_name=v, job_name_prefix="nb"),
        ("notebook_instance_name",),
    ),
    Field(
        "platform_identifier",
        bad_for("CreateNotebookInstanceInput", "PlatformIdentifier"),
        lambda s, i, v: notebook(s, i, platform_identifier=v),
        ("platform_identifier",),
    ),
    Field(
        "default_code_repository",
        bad_for("CreateNotebookInstanceInput", "DefaultCodeRepository"),
        lambda s, i, v: notebook(s, i, default_code_repository=v),
        ("default_code_repository",),
    ),
    Field(
        "idle_timeout_minutes",
        st.integers(-100, 4),
        lambda s, i, v: notebook(s, i, idle_timeout_minutes=v),
        ("idle_timeout_minutes",),
    ),
    Field(
        "job_name_prefix",
        st.text(min_size=1, max_size=60).filter(lambda v: not regex.fullmatch(r"[a-z0-9](-*[a-z0-9]){0,49}", v)),
        lambda s, i, v: notebook(s, i, job_name_prefix=v),
        ("job_name_prefix",),
    ),
    Field(
        "data_access mode",
        st.text(min_size=1, max_size=8).filter(lambda v: v not in ("read", "write", "read_write")),
        lambda s, i, v: notebook(s, i, data_access={"raw/": v}),
        ("data_access",),
    ),
    Field("data_bucket type", wrong_types(), lambda s, i, v: notebook(s, i, data_bucket=v), ("data_bucket",)),
    Field("execution_role type", wrong_types(), lambda s, i, v: notebook(s, i, execution_role=v), ("execution_role",)),
    Field("root_access type", wrong_types("bool"), lambda s, i, v: notebook(s, i, root_access=v), ("root_access",)),
    Field(
        "volume_size_gb type", wrong_types("int"), lambda s, i, v: notebook(s, i, volume_size_gb=v), ("volume_size_gb",)
    ),
]


def test_notebook_bad_input() -> None:
    run_cases("NotebookInstance", NOTEBOOK_FIELDS, examples=45, minimum=28)


def bucket_grant(method: str, arg: str) -> Callable[[Any, str, Any], Any]:
    """A grant on a fresh bucket ``id`` with one bad argument (the error names the bucket's path)."""

    def build(scope: Any, id: str, value: Any) -> Any:
        b = MlDataBucket(scope, id)
        args = {"grantee": _role(scope), "prefix": "raw/", arg: value}
        return getattr(b, method)(args["grantee"], args["prefix"])

    return build


BUCKET_FIELDS = [
    Field(
        "noncurrent_version_expiration",
        wrong_types(),
        lambda s, i, v: MlDataBucket(s, i, noncurrent_version_expiration=v),
        ("noncurrent_version_expiration",),
    ),
    Field("bucket_props", wrong_types("none"), lambda s, i, v: MlDataBucket(s, i, bucket_props=v), ("bucket_props",)),
    Field(
        "existing_bucket",
        wrong_types("none"),
        lambda s, i, v: MlDataBucket(s, i, existing_bucket=v),
        ("existing_bucket",),
    ),
    *(
        Field(f"{m}(prefix)", wrong_types("str"), bucket_grant(m, "prefix"), (f"{m}(prefix)",))
        for m in ("grant_read", "grant_write", "grant_read_write")
    ),
    *(
        Field(f"{m}(grantee)", wrong_types(), bucket_grant(m, "grantee"), (f"{m}(grantee)",))
        for m in ("grant_read", "grant_write", "grant_read_write")
    ),
    Field(
        "grant_read(prefix) value",
        st.sampled_from(["/raw/", "s3://b/raw/", "raw/*", "*"]),
        bucket_grant("grant_read", "prefix"),
        ("grant_read(prefix)",),
    ),
]


def test_data_bucket_bad_input() -> None:
    run_cases("MlDataBucket", BUCKET_FIELDS, examples=45, minimum=28)


ROLE_FIELDS = [
    Field(
        "role_name",
        wrong_types("none", "str"),
        lambda s, i, v: SageMakerExecutionRole(s, i, role_name=v),
        ("role_name",),
    ),
    Field(
        "vpc_access", wrong_types("bool"), lambda s, i, v: SageMakerExecutionRole(s, i, vpc_access=v), ("vpc_access",)
    ),
    Field(
        "grant_key(key)",
        st.sampled_from(["arn:aws:kms:us-east-1:111122223333:key/1", None, 3]),
        lambda s, i, v: SageMakerExecutionRole(s, i).grant_key(v),
        ("grant_key(key)",),
    ),
    Field(
        "grant_pass_to_sagemaker(grantee)",
        wrong_types(),
        lambda s, i, v: SageMakerExecutionRole(s, i).grant_pass_to_sagemaker(v),
        ("grant_pass_to_sagemaker",),
    ),
]


def test_execution_role_bad_input() -> None:
    run_cases("SageMakerExecutionRole", ROLE_FIELDS, examples=25, minimum=14)


VPC_FIELDS = [
    Field("max_azs", st.integers(-5, 0) | st.integers(7, 50), lambda s, i, v: MlVpc(s, i, max_azs=v), ("max_azs",)),
    Field(
        "cidr",
        st.sampled_from(["10.0.0.0/33", "300.1.0.0/16", "8.8.0.0/16", "10.0.0.0/8", "x"]),
        lambda s, i, v: MlVpc(s, i, cidr=v),
        ("cidr",),
    ),
    Field("max_azs type", wrong_types("int"), lambda s, i, v: MlVpc(s, i, max_azs=v), ("max_azs",)),
    Field("cidr type", wrong_types("str"), lambda s, i, v: MlVpc(s, i, cidr=v), ("cidr",)),
]


def test_vpc_bad_input() -> None:
    run_cases("MlVpc", VPC_FIELDS, examples=25, minimum=15)


def state_machine(scope: Any, id: str, **kw: Any) -> MlStateMachine:
    body = sfn.DefinitionBody.from_chainable(sfn.Pass(scope, f"{id}Start"))
    return MlStateMachine(scope, id, **{"definition_body": body, **kw})


STATE_MACHINE_FIELDS = [
    Field(
        "state_machine_name",
        st.text(min_size=1, max_size=10).filter(
            lambda v: not regex.fullmatch(r"[a-zA-Z0-9+!@.()\-=_']+", v) and "{" not in v
        )
        | st.integers(81, 120).map(lambda n: "s" * n),
        lambda s, i, v: state_machine(s, i, state_machine_name=v),
        ("state_machine_name",),
    ),
    Field(
        "timeout",
        st.integers(366, 5000),
        lambda s, i, v: state_machine(s, i, timeout=Duration.days(v)),
        ("timeout",),
        shown=lambda v: f"'{v} days'",
    ),
    Field(
        "definition_body type",
        wrong_types(),
        lambda s, i, v: state_machine(s, i, definition_body=v),
        ("definition_body",),
    ),
    Field(
        "encryption_key type",
        st.sampled_from(["alias/x", 1, b"k"]),
        lambda s, i, v: state_machine(s, i, encryption_key=v),
        ("encryption_key",),
    ),
]


def test_state_machine_bad_input() -> None:
    run_cases("MlStateMachine", STATE_MACHINE_FIELDS, examples=25, minimum=15)


def pipeline(scope: Any, id: str, **kw: Any) -> MlPipeline:
    return MlPipeline(scope, id, **{"training": _training(scope), "alarms": False, **kw})


def gate(**kw: Any) -> Callable[[Any, str, Any], Any]:
    ((name, _),) = kw.items()

    def build(scope: Any, id: str, value: Any) -> Any:
        props = {"bucket": _bucket(scope).bucket, "key": "evaluation/report.json", "metric": "metrics.auc"}
        g = QualityGate(**{**props, "threshold": 0.7, name: value})
        return pipeline(scope, id, evaluation=_evaluation(scope), quality_gate=g)

    return build


BAD_MEMBER = st.text(min_size=1, max_size=12).filter(
    lambda v: not regex.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v) and "{" not in v
)

PIPELINE_FIELDS = [
    Field("inputs.name", BAD_MEMBER, lambda s, i, v: pipeline(s, i, inputs=[InputField(v)]), ("inputs[0].name",)),
    Field(
        "inputs.kind",
        st.text(min_size=1, max_size=8).filter(
            lambda v: v not in ("string", "s3_uri", "number", "instance_type", "object")
        ),
        lambda s, i, v: pipeline(s, i, inputs=[InputField("x", kind=v)]),
        ("inputs[0].kind",),
    ),
    Field(
        "quality_gate.comparison",
        st.sampled_from(["==", "!=", "=>", "lt", "gt", "=", "≥"]),
        gate(comparison=0),
        ("quality_gate.comparison",),
    ),
    Field("quality_gate.threshold_input", BAD_MEMBER, gate(threshold_input=0), ("quality_gate.threshold_input",)),
    Field(
        "quality_gate.metric",
        st.sampled_from(["", "metrics..auc", "metrics.a-b", "1x", "a b"]),
        gate(metric=0),
        ("quality_gate.metric",),
    ),
    Field("quality_gate.key", st.just(""), gate(key=0), ("Key",)),
    Field(
        "state_machine_name",
        st.sampled_from(["bad name", "x" * 81, "a/b", "a#b", "{x}"]),
        lambda s, i, v: pipeline(s, i, state_machine_name=v),
        ("state_machine_name",),
    ),
    Field(
        "retry_attempts",
        st.integers(-10, -1) | st.integers(11, 100),
        lambda s, i, v: pipeline(s, i, retry_attempts=v),
        ("retry_attempts",),
    ),
    Field(
        "training type",
        st.sampled_from(["train", 3, b"x", object()]),
        lambda s, i, v: pipeline(s, i, training=v),
        ("training",),
    ),
    Field("inputs type", wrong_types(), lambda s, i, v: pipeline(s, i, inputs=v), ("inputs",)),
    Field("alarms type", wrong_types("bool"), lambda s, i, v: pipeline(s, i, alarms=v), ("alarms",)),
]


def test_pipeline_bad_input() -> None:
    run_cases("MlPipeline", PIPELINE_FIELDS, examples=45, minimum=28)


# ---- mistakes that synthesized before: each now fails at synth ------------------------------------


def _vpc(scope: Any) -> ec2.Vpc:
    stack = Stack.of(scope)
    found = stack.node.try_find_child("Vpc")
    return found if found is not None else ec2.Vpc(stack, "Vpc", max_azs=1, nat_gateways=0)  # type: ignore[return-value]


def _groups(scope: Any, id: str, n: int) -> list[ec2.SecurityGroup]:
    return [ec2.SecurityGroup(Stack.of(scope), f"{id}Group{k}", vpc=_vpc(scope)) for k in range(n)]


#: S3 URIs whose bucket breaks the S3 general purpose bucket naming rules (S3 User Guide).
BAD_BUCKET_URIS = st.sampled_from(
    [
        "s3://Bad_Bucket/x",
        "s3://b/x",
        "s3://ab/x",
        "s3://a..b/x",
        "s3://192.168.5.4/x",
        "s3://xn--bucket/x",
        "s3://sthree-bucket/x",
        "s3://bucket-s3alias/x",
        "s3://bucket--ol-s3/x",
        "s3://bucket.mrap/x",
        "s3://-bucket/x",
        "s3://bucket-/x",
        "s3://" + "b" * 64 + "/x",
    ]
)
#: Whole milliseconds that are not whole seconds (every Duration the library takes becomes seconds).
FRACTIONAL_MILLIS = st.integers(1, 10_000_000).filter(lambda n: n % 1000 != 0)


def _model_for_regexes(scope: Any, id: str, regexes: dict[str, str]) -> TrainingDefinition:
    return training(scope, id, metric_definitions=regexes)


STILL_PASSED_JOB_FIELDS = [
    Field(
        "inputs.source bucket",
        BAD_BUCKET_URIS,
        p_input("source"),
        ("ProcessingInputs[0].S3Input.S3Uri",),
        user="inputs",
    ),
    Field(
        "outputs.destination bucket",
        BAD_BUCKET_URIS,
        lambda s, i, v: processing(s, i, outputs=[ProcessingOutput("out", v)]),
        ("S3Output.S3Uri",),
        user="outputs",
    ),
    Field(
        "network.security_groups count",
        st.integers(6, 9),
        lambda s, i, v: processing(
            s,
            i,
            network=NetworkConfig(subnets=_vpc(s).isolated_subnets, security_groups=_groups(s, i, v)),
        ),
        ("NetworkConfig.VpcConfig.SecurityGroupIds",),
        shown=lambda v: f"<{v} items>",
        user="network",
    ),
    Field(
        "max_runtime fraction",
        FRACTIONAL_MILLIS,
        lambda s, i, v: processing(s, i, max_runtime=Duration.millis(v)),
        ("max_runtime",),
        shown=lambda v: Duration.millis(v).to_human_string(),
    ),
]


def test_processing_mistakes_that_used_to_synthesize() -> None:
    run_cases("ProcessingDefinition", STILL_PASSED_JOB_FIELDS, examples=40, minimum=25)


TRAINING_REGEX_FIELDS = [
    Field(
        "metric_definitions regex groups",
        st.sampled_from(
            ["loss=.*", "loss=[0-9.]+", "(a)(b)", "x=([0-9]+) y=([0-9]+)", "(?P<v>[0-9]+)-([0-9]+)", "loss"]
        )
        | st.integers(2, 5).map(lambda n: " ".join(["([0-9]+)"] * n)),
        lambda s, i, v: _model_for_regexes(s, i, {"loss": v}),
        ("metric_definitions['loss']",),
    ),
    Field(
        "output_path bucket",
        BAD_BUCKET_URIS,
        lambda s, i, v: training(s, i, output_path=v),
        ("OutputDataConfig.S3OutputPath",),
        user="output_path",
    ),
    Field(
        "max_runtime fraction",
        FRACTIONAL_MILLIS,
        lambda s, i, v: training(s, i, max_runtime=Duration.millis(v)),
        ("max_runtime",),
        shown=lambda v: Duration.millis(v).to_human_string(),
    ),
]


def test_training_mistakes_that_used_to_synthesize() -> None:
    run_cases("TrainingDefinition", TRAINING_REGEX_FIELDS, examples=30, minimum=16)


#: (kind, default) pairs whose default fails the run-time check of its kind.
BAD_DEFAULTS = st.sampled_from(
    [
        ("s3_uri", "bucket/raw/"),
        ("s3_uri", "s3://Bad_Bucket/raw/"),
        ("s3_uri", "s3://b/raw/"),
        ("s3_uri", 3),
        ("s3_uri", ["s3://bucket-a/raw/"]),
        ("number", "3"),
        ("number", True),
        ("number", [1]),
        ("number", {"n": 1}),
        ("instance_type", "m5.xlarge"),
        ("instance_type", "ml.m5"),
        ("instance_type", 5),
        ("string", 5),
        ("string", False),
        ("string", ["x"]),
        ("object", float("nan")),
        ("object", b"raw"),
        ("object", object()),
    ]
)
BAD_SCHEDULES = st.sampled_from(
    [
        "cron(0 2 * * *)",
        "cron(0 2 * * * *)",
        "cron(0 25 * * ? *)",
        "cron(60 2 * * ? *)",
        "cron(0 2 32 * ? *)",
        "cron(0 2 ? 13 * *)",
        "cron(0 2 ? * 8 *)",
        "cron(0 2 ? * MON-FRI 1969)",
        "cron(0 2 ? * MON-FRI 2200)",
        "cron(0 2 ? * FUNDAY *)",
        "cron(? 2 * * ? *)",
        "rate(0 minutes)",
        "rate(5 hour)",
        "rate(1 hours)",
        "rate(5 weeks)",
        "rate(-1 days)",
        "at(2026-02-30T00:00:00)",
        "at(2026-01-01 00:00:00)",
        "every day",
        "0 2 * * *",
    ]
)


def _two_steps(scope: Any, id: str, prefixes: tuple[str, str]) -> MlPipeline:
    first = ProcessingDefinition(Stack.of(scope), f"{id}A", role=_role(scope), code=SCRIPT, name_prefix=prefixes[0])
    second = ProcessingDefinition(Stack.of(scope), f"{id}B", role=_role(scope), code=SCRIPT, name_prefix=prefixes[1])
    return MlPipeline(scope, id, preprocessing=[first, second], alarms=False)


def _fan_out(scope: Any, id: str, **kw: Any) -> MlPipeline:
    job = ProcessingDefinition(Stack.of(scope), f"{id}Job", role=_role(scope), code=SCRIPT)
    fan = FanOut(job, _bucket(scope).bucket, **{"prefix": "raw/", **kw})
    return MlPipeline(scope, id, preprocessing=[fan], alarms=False)


PIPELINE_MISTAKE_FIELDS = [
    Field(
        "schedule",
        BAD_SCHEDULES,
        lambda s, i, v: pipeline(s, i, schedule=scheduler.ScheduleExpression.expression(v)),
        ("schedule",),
    ),
    Field(
        "schedule cron()",
        st.sampled_from([{"hour": "25"}, {"minute": "61"}, {"day": "0"}, {"month": "13"}, {"year": "1900"}]),
        lambda s, i, v: pipeline(s, i, schedule=scheduler.ScheduleExpression.cron(**v)),
        ("schedule",),
        shown=lambda v: next(iter(v.values())),
    ),
    Field(
        "add_schedule(expression)",
        BAD_SCHEDULES,
        lambda s, i, v: _fan_out(s, i).add_schedule(scheduler.ScheduleExpression.expression(v)),
        ("add_schedule(expression)",),
    ),
    Field(
        "inputs.default",
        BAD_DEFAULTS,
        lambda s, i, v: pipeline(s, i, inputs=[InputField("field", kind=v[0], default=v[1])]),
        ("inputs[0].default",),
        shown=lambda v: repr(v[1]),
    ),
    Field(
        "name_prefix shared",
        st.sampled_from(["prep", "churn", "a1", "x-y"]).flatmap(
            lambda p: st.sampled_from([(p, p), (p, f"{p}-2"), (f"{p}-2", p)])
        ),
        _two_steps,
        ("name_prefix",),
        shown=lambda v: repr(max(v, key=len)),
        user="preprocessing",
    ),
    Field(
        "FanOut.max_concurrency",
        st.integers(-100, 0) | st.integers(10_001, 20_000),
        lambda s, i, v: _fan_out(s, i, max_concurrency=v),
        ("preprocessing[0].max_concurrency",),
        user="preprocessing",
    ),
    Field(
        "FanOut.tolerated_failure_percentage",
        st.integers(-100, -1) | st.integers(101, 1000),
        lambda s, i, v: _fan_out(s, i, tolerated_failure_percentage=v),
        ("preprocessing[0].tolerated_failure_percentage",),
        user="preprocessing",
    ),
    Field(
        "FanOut.prefix",
        st.sampled_from(["/raw/", "s3://bucket-a/raw/", "raw/*", "*"]),
        lambda s, i, v: _fan_out(s, i, prefix=v),
        ("preprocessing[0].prefix",),
        user="preprocessing",
    ),
    Field(
        "s3_trigger.prefix",
        st.sampled_from(["/raw/", "s3://bucket-a/raw/", "raw/*", "*"]),
        lambda s, i, v: pipeline(s, i, s3_trigger=S3Trigger(_bucket(s), v)),
        ("s3_trigger.prefix",),
    ),
    Field(
        "s3_trigger.input_field",
        BAD_MEMBER,
        lambda s, i, v: pipeline(s, i, s3_trigger=S3Trigger(_bucket(s), "raw/", input_field=v)),
        ("s3_trigger.input_field",),
    ),
]


def test_pipeline_mistakes_that_used_to_synthesize() -> None:
    run_cases("MlPipeline", PIPELINE_MISTAKE_FIELDS, examples=70, minimum=45)


#: Control characters bash cannot take in a lifecycle script (C0 except tab and newline, and DEL).
CONTROL_SCRIPTS = st.sampled_from([c for c in map(chr, [*range(0, 32), 127]) if c not in "\t\n"]).map(
    lambda c: f"#!/bin/bash\necho hi{c}\n"
)

NOTEBOOK_MISTAKE_FIELDS = [
    Field(
        "on_create control",
        CONTROL_SCRIPTS,
        lambda s, i, v: notebook(s, i, on_create=LifecycleScript.from_inline(v)),
        ("on_create",),
    ),
    Field(
        "on_start control",
        CONTROL_SCRIPTS,
        lambda s, i, v: notebook(s, i, on_start=LifecycleScript.from_inline(v)),
        ("on_start",),
    ),
    Field(
        "https_egress_to",
        st.sampled_from(["0.0.0.0/0", ["0.0.0.0/0"], 443, [None], b"x"]),
        lambda s, i, v: notebook(s, i, https_egress_to=v),
        ("https_egress_to",),
    ),
]


def test_notebook_mistakes_that_used_to_synthesize() -> None:
    run_cases("NotebookInstance", NOTEBOOK_MISTAKE_FIELDS, examples=40, minimum=30)


def test_bucket_durations_that_used_to_fail_in_jsii() -> None:
    fields = [
        Field(
            "noncurrent_version_expiration hours",
            st.integers(1, 10_000).filter(lambda h: h % 24 != 0),
            lambda s, i, v: MlDataBucket(s, i, noncurrent_version_expiration=Duration.hours(v)),
            ("noncurrent_version_expiration",),
            shown=lambda v: Duration.hours(v).to_human_string(),
        )
    ]
    run_cases("MlDataBucket", fields, examples=20, minimum=15)


#: None, empty and malformed names, for every ``from_*`` import.
BAD_IMPORTED_NAMES = st.sampled_from([None, "", 3, b"name", "bad_name", "-x", "x" * 64, "a b", "$.input.name"])
IMPORTS = [
    ("ImportedModel", "model_name", lambda s, i, v: ModelDefinition.from_model_name(s, i, v)),
    ("ImportedEndpointConfig", "config_name", lambda s, i, v: EndpointConfigDefinition.from_config_name(s, i, v)),
    ("ImportedEndpoint", "endpoint_name", lambda s, i, v: EndpointDeployment.from_endpoint_name(s, i, v)),
    ("ImportedModelPackageGroup", "group_name", lambda s, i, v: ModelPackageGroup.from_group_name(s, i, v)),
]


@pytest.mark.parametrize(("kind", "prop", "build"), IMPORTS, ids=[k for k, _, _ in IMPORTS])
def test_imports_refuse_none_and_bad_names(kind: str, prop: str, build: Callable[[Any, str, Any], Any]) -> None:
    run_cases(kind, [Field(prop, BAD_IMPORTED_NAMES, build, (prop,))], examples=25, minimum=8)


# ---- the measure: errors in the user's words ------------------------------------------------------


def test_errors_name_the_prop_first() -> None:
    """At least 98 % of the distinct generated bad prop sets get an error that names the prop as
    the user wrote it (``cluster.volume_size_gb=0``), its value, the rule and, for values checked in
    the rendered request, the request field (``(ProcessingResources.ClusterConfig.VolumeSizeInGB)``).
    Runs the generated tests of this module that have not run yet."""
    for name, test in list(globals().items()):
        if not name.startswith("test_") or name == "test_errors_name_the_prop_first" or name in RAN:
            continue
        if name == "test_imports_refuse_none_and_bad_names":
            for args in IMPORTS:
                test(*args)
        else:
            test()
    named = sum(n for n, _ in NAMED.values())
    total = sum(t for _, t in NAMED.values())
    share = named / total
    print(f"errors naming the prop first: {named}/{total} = {share:.1%}")
    for test, (n, t) in sorted(NAMED.items()):
        print(f"  {test}: {n}/{t}")
    examples = [text for texts in UNNAMED.values() for text in texts[:3]]
    assert share >= 0.98, "\n\n".join(examples)
