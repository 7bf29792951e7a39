"""Local substitute for Model Monitor's analyzer image in a *baselining* processing job.

SageMaker's ``sagemaker-model-monitor-analyzer`` image (a Spark/Deequ application) cannot run on
this machine. A processing job on that image without its own ``ContainerEntrypoint`` is run by this
module instead, with the image's contract (SageMaker Python SDK ``model_monitor/model_monitoring.py``):
the environment variables ``dataset_source`` (a directory of CSV or JSON files), ``dataset_format``
(``{"csv": {"header": bool, "output_columns_position": "START"}}`` or ``{"json": {"lines": bool}}``) and
``output_path``, where it writes ``statistics.json`` and ``constraints.json`` in the documented
formats (SageMaker Developer Guide, "Schema for Statistics (statistics.json file)" and "Schema for
Constraints (constraints.json file)"):

* features are the columns, named ``_c0``, ``_c1`` ... for CSV without a header (as Spark names
  them); ``inferred_type`` is ``Integral``, ``Fractional`` or ``String``;
* numerical features: ``common`` (present / missing), mean, sum, std_dev (population), min, max, a KLL
  distribution of 10 equal-width buckets between min and max (the page: "we materialize the
  distribution in 10 buckets"), and a sketch whose single level holds the values (exact up to
  ``k`` = 2048 values; above that, 2048 evenly spaced order statistics);
* string features: ``common``, ``distinct_count`` and categorical buckets;
* constraints: ``completeness`` (present / total), ``num_constraints.is_non_negative`` (min ≥ 0),
  ``string_constraints.domains`` for up to 20 distinct values, and ``monitoring_config`` with
  constraints evaluated and metrics emitted, distribution comparison ``Robust`` with
  ``comparison_threshold`` 0.1.

The statistics are computed exactly; the real analyzer computes them with Deequ and approximate
sketches, so values may differ in the last digits and the sketch compaction differs. Monitoring
*executions* (comparing captured data with a baseline) are not substituted: a job that asks for
one fails with a message saying so.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

__all__ = ["baseline", "main"]

_K = 2048
_BUCKETS = 10
_DOMAIN_MAX = 20


def _rows(source: Path, dataset_format: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    files = sorted(p for p in source.rglob("*") if p.is_file())
    if not files:
        raise SystemExit(f"no dataset files under {source}")
    if "csv" in dataset_format:
        header = bool(dataset_format["csv"].get("header", False))
        names: list[str] = []
        rows: list[list[Any]] = []
        for path in files:
            with path.open(newline="") as f:
                reader = csv.reader(f)
                first = True
                for row in reader:
                    if not row:
                        continue
                    if header and first:
                        names = names or [c.strip() for c in row]
                        first = False
                        continue
                    first = False
                    rows.append(row)
        width = max((len(r) for r in rows), default=len(names))
        if not names:
            names = [f"_c{i}" for i in range(width)]
        return names, [[r[i] if i < len(r) else None for i in range(len(names))] for r in rows]
    if "json" in dataset_format:
        records: list[dict[str, Any]] = []
        for path in files:
            text = path.read_text()
            if dataset_format["json"].get("lines", True):
                records.extend(json.loads(line) for line in text.splitlines() if line.strip())
            else:
                loaded = json.loads(text)
                records.extend(loaded if isinstance(loaded, list) else [loaded])
        keys: list[str] = []
        for record in records:
            keys.extend(k for k in record if k not in keys)
        return keys, [[r.get(k) for k in keys] for r in records]
    raise SystemExit(f"dataset_format {json.dumps(dataset_format)}: expected csv or json")


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _feature(name: str, values: list[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    present = [v for v in values if not _missing(v)]
    common = {"num_present": len(present), "num_missing": len(values) - len(present)}
    numbers = [_number(v) for v in present]
    completeness = len(present) / len(values) if values else 0.0
    if present and all(n is not None for n in numbers):
        xs = sorted(n for n in numbers if n is not None)
        integral = all(float(x).is_integer() and "." not in str(v) for x, v in zip(xs, present, strict=False))
        mean = sum(xs) / len(xs)
        lo, hi = xs[0], xs[-1]
        width = (hi - lo) / _BUCKETS or 1.0
        counts = [0] * _BUCKETS
        for x in xs:
            counts[min(int((x - lo) / width), _BUCKETS - 1)] += 1
        sketch = xs if len(xs) <= _K else [xs[round(i * (len(xs) - 1) / (_K - 1))] for i in range(_K)]
        kind = "Integral" if integral else "Fractional"
        stats = {
            "name": name,
            "inferred_type": kind,
            "numerical_statistics": {
                "common": common,
                "mean": mean,
                "sum": sum(xs),
                "std_dev": math.sqrt(sum((x - mean) ** 2 for x in xs) / len(xs)),
                "min": lo,
                "max": hi,
                "distribution": {
                    "kll": {
                        "buckets": [
                            {"lower_bound": lo + i * width, "upper_bound": lo + (i + 1) * width, "count": counts[i]}
                            for i in range(_BUCKETS)
                        ],
                        "sketch": {"parameters": {"c": 0.64, "k": float(_K)}, "data": [sketch]},
                    }
                },
            },
        }
        constraint = {
            "name": name,
            "inferred_type": kind,
            "completeness": completeness,
            "num_constraints": {"is_non_negative": lo >= 0},
        }
        return stats, constraint
    text = Counter(str(v) for v in present)
    stats = {
        "name": name,
        "inferred_type": "String" if present else "Unknown",
        "string_statistics": {
            "common": common,
            "distinct_count": len(text),
            "distribution": {"categorical": {"buckets": [{"value": k, "count": c} for k, c in sorted(text.items())]}},
        },
    }
    constraint = {"name": name, "inferred_type": stats["inferred_type"], "completeness": completeness}
    if 0 < len(text) <= _DOMAIN_MAX:
        constraint["string_constraints"] = {"domains": sorted(text)}
    return stats, constraint


def baseline(source: Path, output: Path, dataset_format: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Statistics and suggested constraints of the dataset under ``source``, written to ``output``."""
    names, rows = _rows(source, dataset_format)
    features = [_feature(name, [row[i] for row in rows]) for i, name in enumerate(names)]
    statistics = {"version": 0.0, "dataset": {"item_count": len(rows)}, "features": [s for s, _ in features]}
    constraints = {
        "version": 0.0,
        "features": [c for _, c in features],
        "monitoring_config": {
            "evaluate_constraints": "Enabled",
            "emit_metrics": "Enabled",
            "datatype_check_threshold": 1.0,
            "domain_content_threshold": 1.0,
            "distribution_constraints": {
                "perform_comparison": "Enabled",
                "comparison_threshold": 0.1,
                "comparison_method": "Robust",
            },
        },
    }
    output.mkdir(parents=True, exist_ok=True)
    (output / "statistics.json").write_text(json.dumps(statistics, indent=1))
    (output / "constraints.json").write_text(json.dumps(constraints, indent=1))
    return statistics, constraints


def main() -> int:
    env = os.environ
    if "baseline_constraints" in env or "baseline_statistics" in env:
        print(
            "The local emulator substitutes Model Monitor's analyzer for baselining only; monitoring "
            "executions (comparing captured data with a baseline) do not run here.",
            file=sys.stderr,
        )
        return 2
    missing = [k for k in ("dataset_source", "dataset_format", "output_path") if k not in env]
    if missing:
        print(f"Model Monitor baselining needs the environment variables {', '.join(missing)}", file=sys.stderr)
        return 2
    statistics, _ = baseline(Path(env["dataset_source"]), Path(env["output_path"]), json.loads(env["dataset_format"]))
    print(f"baseline of {statistics['dataset']['item_count']} records, {len(statistics['features'])} features")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
