"""The emulator's serializer shortcut (local/serialization.py) renders every dict result as moto's own
serializer does: the same bytes, for real operations' shapes, with the keys moto's pickers accept
(member names, snake_case names, shape-name aliases), keys no member has, ``None`` values and dates."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto.core.serialize import AttributePicker, ResponseSerializer, XFormedAttributePicker, get_serializer_class
from moto.core.utils import get_service_model

from sm_constructs.local import patches, serialization

#: (service, operation): dict results the emulator serves often (run histories, job descriptions, lists)
OPERATIONS = [
    ("stepfunctions", "GetExecutionHistory"),
    ("sagemaker", "DescribeTrainingJob"),
    ("sagemaker", "ListModelPackages"),
]


def _spellings(name: str, member: Any) -> list[str]:
    """Keys a dict may use for a member: its name, its snake_case form, its shape's name."""
    from botocore import xform_name

    return list(dict.fromkeys([name, xform_name(name), member.name]))


def _value(shape: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    kind = shape.type_name
    if kind == "structure":
        if depth >= 4 or not shape.members:
            return st.just({})
        entries = [
            st.tuples(st.sampled_from(_spellings(name, member)), st.one_of(st.none(), _value(member, depth + 1)))
            for name, member in shape.members.items()
        ]
        junk = st.tuples(st.sampled_from(["NotAMember", "dict_key", "Arn"]), st.text(max_size=3))
        return st.lists(st.one_of(*entries, junk), max_size=8).map(dict)
    if kind == "list":
        return st.just([]) if depth >= 4 else st.lists(_value(shape.member, depth + 1), max_size=3)
    if kind == "map":
        return st.dictionaries(st.text(max_size=3), _value(shape.value, depth + 1), max_size=2)
    if kind == "timestamp":
        return st.datetimes(
            min_value=datetime.datetime(2020, 1, 1),
            max_value=datetime.datetime(2030, 1, 1),
            timezones=st.just(datetime.UTC),
        )
    if kind in ("integer", "long"):
        return st.integers(0, 10**6)
    if kind in ("double", "float"):
        return st.floats(0, 1e6, allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "blob":
        return st.binary(max_size=4)
    return st.text(max_size=5)


def _render(service: str, operation: str, result: Any, picker: Any, member: Any = None) -> Any:
    """The response body; with ``member``, the serializer's per-member step is that function."""
    model = get_service_model(service).operation_model(operation)
    serializer_cls = get_serializer_class(service, "json")
    if member is not None:
        serializer_cls = type("MotoOwn", (serializer_cls,), {"_serialize_structure_member": member})
    return serializer_cls(operation_model=model, value_picker=picker).serialize(result)["body"]


@pytest.fixture(scope="module")
def moto_own():
    """moto's own per-member step, then the emulator's shortcut installed for the module."""
    original = ResponseSerializer.__dict__["_serialize_structure_member"]
    serialization.install()
    assert ResponseSerializer.__dict__["_serialize_structure_member"] is not original
    yield original
    patches.restore()


@pytest.mark.parametrize(("service", "operation"), OPERATIONS)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_dict_result_renders_as_moto_renders_it(service, operation, data, moto_own):
    result = data.draw(_value(get_service_model(service).operation_model(operation).output_shape))
    for picker in (XFormedAttributePicker(), AttributePicker()):
        assert _render(service, operation, result, picker) == _render(service, operation, result, picker, moto_own)
