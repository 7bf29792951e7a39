"""Writes events.csv: a made-up shop's clickstream (seeded; CC0, like everything here).

Each visitor comes back a few times over two days; a visit is a burst of page views a few minutes
apart, and visits are hours apart. A visit that puts products in the cart often ends at checkout.
"""

import csv
import random
from datetime import datetime, timedelta
from pathlib import Path

rng = random.Random(25)
start = datetime(2026, 3, 2, 8, 0, 0)
rows = []
for visitor in range(1, 61):
    at = start + timedelta(minutes=rng.uniform(0, 600))
    for _visit in range(rng.randint(2, 5)):
        carts, views = 0, rng.randint(1, 9)
        for _ in range(views):
            page = rng.choices(["home", "search", "product", "cart"], [2, 2, 5, 1 + carts])[0]
            carts += page == "cart"
            rows.append((f"v{visitor:03d}", at.isoformat(timespec="seconds"), page))
            # a visit's pages are 1-8 minutes apart, but a slow reader lingers 12-20 minutes now and then
            at += timedelta(minutes=rng.uniform(12, 20) if rng.random() < 0.15 else rng.uniform(1, 8))
        if rng.random() < 0.1 + 0.3 * carts:
            rows.append((f"v{visitor:03d}", at.isoformat(timespec="seconds"), "checkout"))
        at += timedelta(hours=rng.uniform(2, 12))
rows.sort(key=lambda row: row[1])
with (Path(__file__).parent / "events.csv").open("w", newline="") as out:
    writer = csv.writer(out)
    writer.writerow(["visitor", "time", "page"])
    writer.writerows(rows)
print(f"{len(rows)} events")
