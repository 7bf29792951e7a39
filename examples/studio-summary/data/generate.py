"""Writes sensors.csv: 120 rows of made-up sensor readings (seeded; CC0, like everything here)."""

import csv
import random
from pathlib import Path

rng = random.Random(7)
with (Path(__file__).parent / "sensors.csv").open("w", newline="") as out:
    writer = csv.writer(out)
    writer.writerow(["temperature", "humidity", "pressure"])
    for _ in range(120):
        writer.writerow([round(rng.gauss(21, 3), 2), round(rng.uniform(30, 70), 1), round(rng.gauss(1013, 6), 1)])
