"""The built-in XGBoost algorithm's hyperparameter table, as its container checks it.

One data file, ``data/xgboost_hyperparameters.json``, holds the table the container validates
against (``hyperparameter_validation.py`` of aws/sagemaker-xgboost-container; the SageMaker
Developer Guide's "XGBoost hyperparameters" page documents the same names:
https://docs.aws.amazon.com/sagemaker/latest/dg/xgboost_hyperparameters.html). Two readers use
it, so the rules cannot drift apart:

* the library at synth (:class:`~sm_constructs.jobs.training.TrainingDefinition` in algorithm
  mode and :class:`~sm_constructs.jobs.tuning.TuningDefinition`'s ranges), which names the
  nearest valid values;
* the emulator's XGBoost substitute at train time, which fails with the container's own message
  (``sagemaker_algorithm_toolkit.hyperparameter_validation.Hyperparameters.validate``).

This module imports nothing from aws-cdk, so the substitute's job process stays light.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["AlgorithmError", "Hyperparameter", "xgboost_hyperparameters"]


class AlgorithmError(ValueError):
    """A hyperparameter the container refuses; the message is the container's."""


@dataclass(frozen=True)
class _Interval:
    min_open: float | None = None
    min_closed: float | None = None
    max_open: float | None = None
    max_closed: float | None = None

    def __contains__(self, value: float) -> bool:
        return not (
            (self.min_open is not None and value <= self.min_open)
            or (self.min_closed is not None and value < self.min_closed)
            or (self.max_open is not None and value >= self.max_open)
            or (self.max_closed is not None and value > self.max_closed)
        )

    def __str__(self) -> str:  # the toolkit's Interval.__str__: "[1, +inf)", "(0, 1]"
        low = _bound(self.min_open, "({}, ", self.min_closed, "[{}, ", "(-inf, ")
        high = _bound(self.max_open, "{})", self.max_closed, "{}]", "+inf)")
        return low + high


def _bound(open_value: float | None, open_form: str, closed_value: float | None, closed_form: str, none: str) -> str:
    """One end of an interval as the toolkit writes it: open, closed, or unbounded."""
    if open_value is not None:
        return open_form.format(_num(open_value))
    if closed_value is not None:
        return closed_form.format(_num(closed_value))
    return none


def _num(value: float | None) -> str:
    return str(value)  # as the toolkit formats the bound it was declared with: 1, 0.5, 1.0


@dataclass(frozen=True)
class Hyperparameter:
    """One row of the table: ``kind`` is Integer, Continuous, Categorical, CommaSeparatedList,
    Tuple, NestedList or FreeText (the toolkit's hyperparameter classes)."""

    name: str
    kind: str
    required: bool = False
    values: tuple[Any, ...] = ()
    interval: _Interval | None = None
    thresholds: tuple[str, ...] = field(default=())

    @property
    def numeric(self) -> bool:
        return self.kind in ("Integer", "Continuous")

    def parse(self, text: str) -> Any:
        """The value as the container parses the string SageMaker passes (ValueError when it cannot)."""
        if self.kind == "Integer":
            return int(text)
        if self.kind == "Continuous":
            return float(text)
        if self.kind == "CommaSeparatedList":
            return text.split(",")
        if self.kind in ("Tuple", "NestedList"):
            try:
                parsed = ast.literal_eval(text)
            except (SyntaxError, ValueError) as error:
                raise ValueError(str(error)) from None
            if not isinstance(parsed, list | tuple) or (
                self.kind == "NestedList" and not all(isinstance(i, list | tuple) for i in parsed)
            ):
                raise ValueError(f"{text!r} is not a {self.kind.lower()}")
            return parsed
        return text

    def _item_ok(self, item: Any) -> bool:
        if self.name == "eval_metric" and "@" in str(item):
            name, _, threshold = str(item).partition("@")
            try:
                float(threshold)
            except ValueError:
                return False
            return name.strip() in self.thresholds
        return item in self.values

    def range_text(self) -> str:
        """The range as the container's message shows it."""
        if self.interval is not None:
            return str(self.interval)
        return str(list(self.values))

    def check(self, text: str) -> None:
        """Raise :class:`AlgorithmError` with the container's message when ``text`` is refused."""
        try:
            value = self.parse(text)
        except ValueError:
            raise AlgorithmError(f"Hyperparameter {self.name}: could not parse value (caused by ValueError)") from None
        if self.numeric:
            assert self.interval is not None
            if value not in self.interval:
                raise AlgorithmError(f"Hyperparameter {self.name}: {value} is not in {self.interval}")
        elif self.kind == "Categorical":
            if value not in self.values:
                raise AlgorithmError(f"Hyperparameter {self.name}: {value} is not in {self.range_text()}")
        elif self.kind in ("CommaSeparatedList", "Tuple"):
            if not all(self._item_ok(v) for v in value):
                raise AlgorithmError(f"Hyperparameter {self.name}: value {value} not in range {self.range_text()}")
        elif self.kind == "NestedList":
            assert self.interval is not None
            if not all(isinstance(v, int | float) and v in self.interval for outer in value for v in outer):
                raise AlgorithmError(f"Hyperparameter {self.name}: value {value} not in range {self.interval}")

    def options(self) -> list[str]:
        """The valid values as strings (categorical and list kinds), for nearest-match hints."""
        return [str(v) for v in self.values]


class _Table:
    def __init__(self, data: Mapping[str, Any]) -> None:
        self.source: dict[str, str] = dict(data["source"])
        self.aliases: dict[str, str] = dict(data.get("aliases", {}))
        self.dependencies: list[dict[str, Any]] = list(data.get("dependencies", []))
        self.rows: dict[str, Hyperparameter] = {}
        for name, row in data["hyperparameters"].items():
            interval = _Interval(**row["range"]) if "range" in row else None
            self.rows[name] = Hyperparameter(
                name=name,
                kind=row["type"],
                required=bool(row.get("required", False)),
                values=tuple(row.get("values", ())),
                interval=interval,
                thresholds=tuple(row.get("thresholds", ())),
            )

    def names(self) -> list[str]:
        return [*self.rows, *self.aliases]

    def get(self, name: str) -> Hyperparameter | None:
        """The row for ``name`` or for the name it is an alias of (``learning_rate`` → ``eta``)."""
        return self.rows.get(self.aliases.get(name, name))

    def validate(self, hyperparameters: Mapping[str, str]) -> None:
        """The container's checks in its order (``Hyperparameters.validate``): required, names, values."""
        given = dict(hyperparameters)  # all of hyperparameters.json, as the container reads it
        for name, row in self.rows.items():
            if row.required and name not in given and not any(self.aliases.get(a) == name for a in given):
                raise AlgorithmError(f"Missing required hyperparameter: {name}")
        for name in given:
            if self.get(name) is None:
                raise AlgorithmError(f"Extraneous hyperparameter found: {name}")
        for name, text in given.items():
            known = self.get(name)
            assert known is not None
            known.check(str(text))
        problem = self.dependency_problem({self.aliases.get(k, k): str(v) for k, v in given.items()})
        if problem:
            raise AlgorithmError(problem[1])

    def dependency_problem(self, given: Mapping[str, str | None]) -> tuple[str, str] | None:
        """(hyperparameter, the container's message) for the first cross-hyperparameter rule ``given``
        breaks, or None. A value of None is unknown (set at run time): rules that read it are skipped."""
        for rule in self.dependencies:
            value = given.get(rule["hyperparameter"])
            if value is None:
                continue
            if rule["kind"] == "requires" and value in rule["values"] and rule["required"] not in given:
                return rule["hyperparameter"], str(rule["message"])
            other = given.get(rule.get("other", ""))
            if (
                rule["kind"] == "only_with"
                and rule["item"] in value.split(",")
                and other is not None
                and not other.startswith(tuple(rule["prefixes"]))
            ):
                return rule["hyperparameter"], str(rule["message"])
        return None


@cache
def xgboost_hyperparameters() -> _Table:
    """The built-in XGBoost algorithm's hyperparameter table (``data/xgboost_hyperparameters.json``)."""
    text = resources.files("sm_constructs.data").joinpath("xgboost_hyperparameters.json").read_text(encoding="utf-8")
    return _Table(json.loads(text))
