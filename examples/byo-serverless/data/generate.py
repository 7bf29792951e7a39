"""Writes train/houses.csv and validation/houses.csv: made-up house prices (seeded; CC0, like everything here)."""

import csv
import random
from pathlib import Path

rng = random.Random(5)
for split, rows in (("train", 120), ("validation", 40)):
    (Path(__file__).parent / split).mkdir(exist_ok=True)
    with (Path(__file__).parent / split / "houses.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["area_m2", "rooms", "age_years", "price"])
        for _ in range(rows):
            area, rooms, age = rng.uniform(40, 200), rng.randint(1, 6), rng.uniform(0, 80)
            price = 2.1 * area + 9 * rooms - 0.6 * age + 40 + rng.gauss(0, 12)
            writer.writerow([round(area, 1), rooms, round(age, 1), round(price, 1)])
