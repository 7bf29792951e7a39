"""Writes fuel.csv: 150 rows of made-up vehicle trips (seeded; CC0, like everything here)."""

import csv
import random
from pathlib import Path

rng = random.Random(11)
with (Path(__file__).parent / "fuel.csv").open("w", newline="") as out:
    writer = csv.writer(out)
    writer.writerow(["distance_km", "load_t", "speed_kmh", "fuel"])
    for _ in range(150):
        distance, load, speed = rng.uniform(5, 120), rng.uniform(0, 12), rng.uniform(30, 100)
        fuel = 0.08 * distance + 0.9 * load + 0.02 * speed + rng.gauss(0, 0.8)
        writer.writerow([round(distance, 1), round(load, 2), round(speed, 1), round(fuel, 2)])
