"""The RouteGuide rules written down once in Python: validation, lookups, distances.

Both the test-only Python server and the client cases' expectations use these
functions, written from the guarantees in README.md ("What the server guarantees"), not
from the Rust code.
"""

import json
import math
import random

MAX_LATITUDE = 900_000_000
MAX_LONGITUDE = 1_800_000_000
EARTH_RADIUS_METRES = 6_371_000.0
E7_PER_DEGREE = 10_000_000.0
INT32_MAX = 2_147_483_647
DEFAULT_MAX_NOTE_BYTES = 4096
DEFAULT_NOTES_PER_LOCATION = 1000

TUTORIAL_LO = (400_000_000, -750_000_000)
TUTORIAL_HI = (420_000_000, -730_000_000)
BERKSHIRE = (409_146_138, -746_188_906)
BERKSHIRE_NAME = "Berkshire Valley Management Area Trail, Jefferson, NJ, USA"
TUTORIAL_NOTES = [
    ("First message", 0, 0),
    ("Second message", 0, 1),
    ("Third message", 1, 0),
    ("Fourth message", 0, 0),
    ("Fifth message", 1, 0),
]


def point_error(latitude, longitude):
    """Returns why (latitude, longitude) is not a valid E7 point, or None."""
    if not -MAX_LATITUDE <= latitude <= MAX_LATITUDE:
        return f"latitude {latitude} is out of range [-{MAX_LATITUDE}, {MAX_LATITUDE}]"
    if not -MAX_LONGITUDE <= longitude <= MAX_LONGITUDE:
        return f"longitude {longitude} is out of range [-{MAX_LONGITUDE}, {MAX_LONGITUDE}]"
    return None


def haversine_term(a, b):
    """Returns the haversine formula's h = sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2), capped
    at 1 (rounding can push exact antipodes a hair above it)."""
    lat1 = math.radians(a[0] / E7_PER_DEGREE)
    lat2 = math.radians(b[0] / E7_PER_DEGREE)
    delta_lat = lat2 - lat1
    delta_lon = math.radians(b[1] / E7_PER_DEGREE - a[1] / E7_PER_DEGREE)
    sin_lat = math.sin(delta_lat / 2)
    sin_lon = math.sin(delta_lon / 2)
    h = sin_lat * sin_lat + math.cos(lat1) * math.cos(lat2) * (sin_lon * sin_lon)
    return min(h, 1.0)


def haversine_metres(a, b):
    """Returns the great-circle distance in metres between two E7 (lat, lon) pairs."""
    return metres_of_term(haversine_term(a, b))


def metres_of_term(h):
    """Returns the great-circle distance in metres whose haversine term is h."""
    return EARTH_RADIUS_METRES * 2 * math.atan2(math.sqrt(h), math.sqrt(1 - h))


def route_total_and_slack(points):
    """Returns the f64 haversine sum and how far another correct f64 sum may lie from it.

    Implementations of sin and asin differ in the last bits (libm here, the server's
    four-lane kernels there): a few parts in 10^16 of a hop, plus, near antipodes,
    where the formula is ill-conditioned, what one unit in the last place of h moves
    the angle (up to ~0.13 m at exact antipodes)."""
    total = slack = 0.0
    for previous, current in zip(points, points[1:]):
        h = haversine_term(previous, current)
        hop = metres_of_term(h)
        total += hop
        slack += hop * 1e-12 + EARTH_RADIUS_METRES * 8 * 2.0**-53 / math.sqrt(max(1 - h, 2.0**-51))
    return total, slack


def route_distances_allowed(points):
    """Returns the distances a correct server may report for the route (the truncated sum,
    and a neighbouring whole metre only when the sum lies within the slack of it), and
    the sum itself."""
    total, slack = route_total_and_slack(points)
    return {min(int(t), INT32_MAX) for t in (total - slack, total, total + slack)}, total


class FeatureDb:
    """An immutable feature list in file order with an exact-location index."""

    def __init__(self, features):
        # features: list of (latitude, longitude, name) in file order.
        self.features = list(features)
        self.first_at = {}
        for latitude, longitude, name in self.features:
            self.first_at.setdefault((latitude, longitude), name)

    @classmethod
    def load(cls, path):
        """Returns the database in the canonical JSON array format at path."""
        with open(path, encoding="utf-8") as file:
            items = json.load(file)
        features = []
        for item in items:
            location = item.get("location", {})
            features.append((int(location.get("latitude", 0)), int(location.get("longitude", 0)),
                             item.get("name", "")))
        return cls(features)

    def name_at(self, latitude, longitude):
        """Returns the first feature's name at the point ("" too when there is none)."""
        return self.first_at.get((latitude, longitude), "")

    def has_feature(self, latitude, longitude):
        """Says whether any feature, named or not, is at the point."""
        return (latitude, longitude) in self.first_at

    def inside(self, corner_a, corner_b):
        """Returns the features in the rectangle (inclusive, corners normalised), file order."""
        lat_lo, lat_hi = sorted((corner_a[0], corner_b[0]))
        lon_lo, lon_hi = sorted((corner_a[1], corner_b[1]))
        return [f for f in self.features
                if lat_lo <= f[0] <= lat_hi and lon_lo <= f[1] <= lon_hi]


def write_generated_db(path, count, seed=20240611):
    """Writes `count` pseudo-random features (every 3rd unnamed, some sharing a location)."""
    rng = random.Random(seed)
    features = []
    for index in range(count):
        if index % 50 == 49:
            latitude, longitude, _ = features[rng.randrange(len(features))]
        else:
            latitude = rng.randint(-MAX_LATITUDE, MAX_LATITUDE)
            longitude = rng.randint(-MAX_LONGITUDE, MAX_LONGITUDE)
        name = "" if index % 3 == 2 else f"generated feature {index} \u00e9\u6771"
        features.append((latitude, longitude, name))
    with open(path, "w", encoding="utf-8") as file:
        json.dump([{"location": {"latitude": la, "longitude": lo}, "name": n}
                   for la, lo, n in features], file)
    return FeatureDb(features)
