"""Expected RecordRoute distances for tests/wire/record_route.rs, computed apart from the crate.

    python3 tests/wire/distances.py

Spec §3: R = 6371000 m, degrees = E7 / 1e7, rad(x) = x * (pi / 180), each hop
a = sin(rad(lat2 - lat1) / 2)**2 + cos(rad(lat1)) * cos(rad(lat2)) * sin(rad(lon2 - lon1) / 2)**2,
c = 2 * atan2(sqrt(a), sqrt(1 - a)), hop = R * c; hops summed in float, truncated once,
saturated at 2147483647. Prints each route's integer, its float sum, and how far the sum lies
from the nearest whole metre (the margin other correct libms have before they truncate differently).
"""

import json
import math
import os

DB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "route_guide_db.json")
FEATURES = [(f["location"]["latitude"], f["location"]["longitude"]) for f in json.load(open(DB))]


def rad(x):
    return x * (math.pi / 180)


def distance(route):
    total = 0.0
    for (la1, lo1), (la2, lo2) in zip(route, route[1:]):
        lat1, lon1, lat2, lon2 = la1 / 1e7, lo1 / 1e7, la2 / 1e7, lo2 / 1e7
        a = (math.sin(rad(lat2 - lat1) / 2) ** 2
             + math.cos(rad(lat1)) * math.cos(rad(lat2)) * math.sin(rad(lon2 - lon1) / 2) ** 2)
        total += 6371000 * (2 * math.atan2(math.sqrt(a), math.sqrt(1 - a)))
    return min(int(total), 2**31 - 1), total


ROUTES = {
    "first 10 features, the first again, 0,0 and 1,1": FEATURES[:10] + [FEATURES[0], (0, 0), (1, 1)],
    "first 25 features": FEATURES[:25],
    "across the antimeridian and back": [(100_000_000, 1_795_000_000), (105_000_000, -1_795_000_000),
                                         (-50_000_000, 1_799_000_000), (0, -1_800_000_000),
                                         (0, 1_800_000_000)],
    "a near-antipodal hop": [(123_456_789, 456_789_012), (-123_400_000, -1_343_200_000)],
    "5000 points: feature i % 100, one E7 unit north of it when i % 3 == 0": [
        (FEATURES[i % 100][0] + (i % 3 == 0), FEATURES[i % 100][1]) for i in range(5000)],
    "251 points between 0,0 and 0,1800000000 (saturates)": [
        (0, 0 if i % 2 == 0 else 1_800_000_000) for i in range(251)],
}

for name, route in ROUTES.items():
    metres, total = distance(route)
    print(f"{metres:>10}  sum {total!r}  margin {abs(total - round(total)):.2e}  {name}")
print(f"{int(6371000 * math.pi):>10}  R * pi, half the circumference (antipodes whose a rounds past 1)")
