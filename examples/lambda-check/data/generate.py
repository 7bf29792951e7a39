"""Writes orders.csv: 200 made-up orders, some with a missing field or a zero quantity (seeded; CC0)."""

import csv
import random
from pathlib import Path

rng = random.Random(3)
with (Path(__file__).parent / "orders.csv").open("w", newline="") as out:
    writer = csv.writer(out)
    writer.writerow(["order_id", "product", "quantity", "unit_price"])
    for i in range(200):
        product = rng.choice(["apple", "pear", "plum", "fig", ""])
        quantity = rng.choice([0, 1, 2, 3, 5, 8])
        writer.writerow([1000 + i, product, quantity, round(rng.uniform(0.2, 4.0), 2)])
