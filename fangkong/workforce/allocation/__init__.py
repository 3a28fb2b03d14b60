"""Allocating workers to seats: the optimal assignment, the greedy baseline, the cost."""

from .cost import EARTH_RADIUS_KM, SCALE, cost, haversine_km, pair_cost
from .greedy import allocate_greedy
from .model import Allocation, Seat, Unfilled, UnfilledSeat, Worker
from .solver import allocate

__all__ = [
    "EARTH_RADIUS_KM",
    "SCALE",
    "Allocation",
    "Seat",
    "Unfilled",
    "UnfilledSeat",
    "Worker",
    "allocate",
    "allocate_greedy",
    "cost",
    "haversine_km",
    "pair_cost",
]
