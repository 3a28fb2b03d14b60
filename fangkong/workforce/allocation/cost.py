"""The cost of putting a worker on a seat: the one definition the solver, the greedy
baseline, the command and the app all use.

    cost = great-circle distance in km from the worker to the seat
         + 3 if the seat names a preferred skill the worker lacks
         + 0.01 × the worker's hours worked in the last 7 days

Distances are haversine distances on a sphere of radius 6371.0088 km (the mean Earth
radius, IUGG). Every function here takes floats or numpy arrays alike.
"""

import numpy as np

EARTH_RADIUS_KM = 6371.0088
PREFERRED_SKILL_PENALTY = 3.0
HOURS_WEIGHT = 0.01

# The flow solver works in integers: a cost is multiplied by SCALE and rounded to the
# nearest integer (1 unit = 0.001 cost = one metre of distance). See docs/allocation.md.
SCALE = 1000


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km between points given in degrees."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi = phi2 - phi1
    dlmb = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def cost(distance_km, lacks_preferred, hours_7d):
    """The cost terms, summed. `lacks_preferred` is a bool (or array of bools)."""
    return (
        distance_km
        + PREFERRED_SKILL_PENALTY * np.asarray(lacks_preferred, dtype=float)
        + HOURS_WEIGHT * np.asarray(hours_7d, dtype=float)
    )


def pair_cost(worker, seat) -> float:
    """The cost of one worker on one seat (objects with the fields of `Worker`, `Seat`)."""
    distance = haversine_km(worker.lat, worker.lon, seat.lat, seat.lon)
    lacks = bool(seat.preferred_skill) and seat.preferred_skill not in worker.skills
    return float(cost(distance, lacks, worker.hours_7d))


def scaled(costs) -> np.ndarray:
    """Costs as the solver's integers (nearest integer of cost × SCALE)."""
    return np.rint(np.asarray(costs, dtype=float) * SCALE).astype(np.int64)


def unit_vectors(lat, lon) -> np.ndarray:
    """Points on the unit sphere (n × 3), where chord length grows with arc length."""
    phi, lmb = np.radians(np.asarray(lat, dtype=float)), np.radians(np.asarray(lon, dtype=float))
    return np.column_stack((np.cos(phi) * np.cos(lmb), np.cos(phi) * np.sin(lmb), np.sin(phi)))


def chord_for_km(km):
    """The chord between two points on the unit sphere that are `km` apart."""
    theta = np.minimum(np.asarray(km, dtype=float) / EARTH_RADIUS_KM, np.pi)
    return 2 * np.sin(theta / 2)
