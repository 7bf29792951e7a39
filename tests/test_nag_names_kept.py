"""The job-name rule keeps what moto made of each name expression, so a later synth need not load moto.

What is kept must give the rule the verdict a fresh evaluation gives; a run moto did not finish in
time is not kept; a file of another moto version, or of the wrong shape, is not read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sm_constructs.nag import _names
from sm_constructs.nag._model import name_rule

UNIQUE = "States.Format('{}-{}', 'job', States.ArrayGetItem(States.StringSplit(States.UUID(), '-'), 4))"
#: The same name on a retry, and longer than SageMaker allows for an 80-character execution name.
REPEATS = "States.Format('{}-job', $$.Execution.Name)"
#: Reads the execution input: moto's execution fails, the rule cannot verify it.
FROM_INPUT = "States.Format('{}-{}', $.prefix, States.UUID())"
LIMIT, PATTERN = name_rule("CreateProcessingJob", "ProcessingJobName")

EVALUATE = """
import json, sys
from sm_constructs.nag import _names
from sm_constructs.nag._model import name_rule
limit, pattern = name_rule("CreateProcessingJob", "ProcessingJobName")
found = _names.evaluate_names(tuple(json.loads(sys.argv[1])))
print(json.dumps({
    "moto": any(m == "moto" or m.startswith("moto.") for m in sys.modules),
    "results": {e: {"error": r.error, "problems": r.problems(limit, pattern), "attempts": sorted(r.attempts)}
                for e, r in found.items()},
}))
"""


def _evaluate_in_new_process(expressions: list[str], folder: Path | str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", EVALUATE, json.dumps(expressions)],
        env={**os.environ, "SM_CONSTRUCTS_CACHE_DIR": str(folder)},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """This process's evaluations forgotten and kept in ``tmp_path``."""
    monkeypatch.setattr(_names, "_CACHE", {})
    monkeypatch.setattr(_names, "_kept_loaded", False)
    monkeypatch.setenv("SM_CONSTRUCTS_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_a_later_process_reads_the_kept_verdicts_without_loading_moto(fresh: Path) -> None:
    expressions = [UNIQUE, REPEATS, FROM_INPUT]
    evaluated = _names.evaluate_names(tuple(expressions))  # here, in moto (this process has it loaded)
    first = {
        e: {"error": r.error, "problems": r.problems(LIMIT, PATTERN), "attempts": sorted(r.attempts)}
        for e, r in evaluated.items()
    }
    assert first[UNIQUE] == {"error": "", "problems": [], "attempts": sorted(_names.EXECUTION_NAMES)}
    assert first[REPEATS]["problems"] and not first[REPEATS]["error"]
    assert first[FROM_INPUT]["error"]  # cannot be verified: the rule says Unverified

    (kept,) = fresh.glob("job-names-moto-*.json")
    assert set(json.loads(kept.read_text())) == set(expressions)
    later = _evaluate_in_new_process(expressions, fresh)
    assert not later["moto"], "every expression was kept, yet moto was loaded"
    assert later["results"] == first


def test_what_is_kept_is_what_moto_made_of_it(fresh: Path) -> None:
    evaluated = _names.evaluate_names((UNIQUE, REPEATS))
    (kept,) = fresh.glob("job-names-moto-*.json")
    written = json.loads(kept.read_text())
    for expression, evaluation in evaluated.items():
        assert written[expression] == {
            "attempts": {e: list(names) for e, names in evaluation.attempts.items()},
            "error": "",
        }


def test_an_unfinished_evaluation_is_not_kept_and_a_refused_one_is(
    fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def run(expressions: tuple[str, ...]) -> dict[str, _names.NameEvaluation]:
        return {
            "slow": _names.NameEvaluation({}, f"evaluation ended {_names._UNFINISHED}"),
            "refused": _names.NameEvaluation({}, "moto could not evaluate it: InvalidDefinition"),
        }

    monkeypatch.setattr(_names, "_run", run)
    _names.evaluate_names(("slow", "refused"))
    (kept,) = fresh.glob("job-names-moto-*.json")
    assert json.loads(kept.read_text()) == {
        "refused": {"attempts": {}, "error": "moto could not evaluate it: InvalidDefinition"}
    }


def test_another_moto_version_keeps_its_own_file(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ours = _names.kept_results_file()
    monkeypatch.setattr(_names.metadata, "version", lambda name: "5.2.99")
    other = _names.kept_results_file()
    assert ours is not None and other is not None and ours != other and "5.2.99" in other.name


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps([UNIQUE]),
        # a name too few: read as it is, the rule could pass what it never saw
        json.dumps({UNIQUE: {"attempts": {"x": ["job-1", "job-2"]}, "error": ""}}),
        json.dumps({UNIQUE: {"attempts": {e: ["job-1"] for e in _names.EXECUTION_NAMES}, "error": ""}}),
        json.dumps({UNIQUE: {"attempts": {e: ["job-1", "job-2"] for e in _names.EXECUTION_NAMES}}}),
    ],
)
def test_a_file_of_another_shape_is_not_read(fresh: Path, monkeypatch: pytest.MonkeyPatch, content: str) -> None:
    path = _names.kept_results_file()
    assert path is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    ran: list[tuple[str, ...]] = []
    real = _names._run
    monkeypatch.setattr(_names, "_run", lambda expressions: ran.append(expressions) or real(expressions))
    evaluation = _names.evaluate_name(UNIQUE)
    assert ran == [(UNIQUE,)]
    assert evaluation.error == "" and evaluation.problems(LIMIT, PATTERN) == []


def test_off_keeps_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SM_CONSTRUCTS_CACHE_DIR", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(_names, "_CACHE", {})
    monkeypatch.setattr(_names, "_kept_loaded", False)
    assert _names.kept_results_file() is None
    assert _names.evaluate_name(UNIQUE).error == ""
    assert not list(tmp_path.rglob("*"))
