"""Generate reference/data/churn.csv: a small synthetic customer-churn table (CC0, no real people).

    .venv/bin/python reference/data/generate.py

Deterministic (fixed seed). Churn depends on contract, tenure, charges and support calls, so a
model can learn it (AUC well above 0.5); a few missing values and duplicate rows are left in on
purpose for the preprocessing step to clean.
"""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path

ROWS = 400
OUT = Path(__file__).with_name("churn.csv")


def main() -> None:
    rng = random.Random(20261124)
    rows = []
    for i in range(ROWS):
        contract = rng.choices(["month-to-month", "one-year", "two-year"], weights=[5, 3, 2])[0]
        internet = rng.choices(["fiber", "dsl", "none"], weights=[4, 4, 2])[0]
        tenure = rng.randint(1, 72)
        monthly = round(rng.uniform(20, 40) + (45 if internet == "fiber" else 20 if internet == "dsl" else 0), 2)
        calls = min(9, int(rng.expovariate(0.6)))
        score = (
            -1.2
            + (1.6 if contract == "month-to-month" else -0.4 if contract == "one-year" else -1.4)
            - 0.04 * tenure
            + 0.025 * (monthly - 55)
            + 0.45 * calls
            + (0.5 if internet == "fiber" else 0.0)
        )
        churn = int(rng.random() < 1 / (1 + math.exp(-score)))
        total = round(tenure * monthly * rng.uniform(0.95, 1.05), 2)
        rows.append(
            {
                "customer_id": f"C{i:04d}",
                "tenure_months": tenure,
                "contract": contract,
                "internet": internet,
                "monthly_charges": monthly,
                "total_charges": "" if rng.random() < 0.02 else total,
                "support_calls": calls,
                "churn": churn,
            }
        )
    rows += [rows[3], rows[17]]  # duplicates to clean
    with OUT.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {OUT} ({len(rows)} rows, churn rate {sum(r['churn'] for r in rows) / len(rows):.2f})")


if __name__ == "__main__":
    main()
