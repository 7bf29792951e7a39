import pytest
from hypothesis import given
from hypothesis import strategies as st

from sm_constructs._validation import ConstructValidationError, Problems


def test_single_problem_names_kind_path_field_value_and_rule():
    p = Problems("NotebookInstance", "Stack/Nb")
    p.int_range("volume_size_gb", 2, 5, 16384, " GB")
    with pytest.raises(ConstructValidationError) as e:
        p.raise_if_any()
    assert str(e.value) == "NotebookInstance 'Stack/Nb': volume_size_gb=2 is invalid: must be between 5 and 16384 GB"


def test_all_problems_are_reported_at_once():
    p = Problems("X", "S/X")
    p.instance_type("instance_type", "m5.xlarge")
    p.name("job_name_prefix", "a" * 60, max_len=63, reserve=13, what="job name prefix")
    p.conflict(["existing_bucket", "bucket_props"], "give one or the other")
    with pytest.raises(ConstructValidationError) as e:
        p.raise_if_any()
    assert len(e.value.problems) == 3
    assert "use at most 50" in str(e.value)
    assert "existing_bucket and bucket_props conflict" in str(e.value)


def test_no_problem_no_error():
    p = Problems("X", "S/X")
    p.instance_type("instance_type", "ml.m5.xlarge")
    p.int_range("n", 5, 5, 10)
    p.raise_if_any()


@given(st.text(max_size=30))
def test_instance_type_rule_accepts_only_ml_types(value):
    p = Problems("X", "S/X")
    p.instance_type("instance_type", value)
    ok = not p
    parts = value.split(".")
    looks_ml = (
        len(parts) == 3
        and parts[0] == "ml"
        and all(parts[1:])
        and all(c.islower() or c.isdigit() or c == "-" for c in "".join(parts[1:]))
        and all(c.isascii() for c in value)
        and not parts[1].startswith("-")
        and "-" not in parts[2]
    )
    assert ok == looks_ml
