"""What goes into an allocation and what comes out: plain dataclasses, no Django."""

import enum
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Worker:
    worker_id: str
    lat: float
    lon: float
    skills: frozenset[str] = frozenset()
    hours_7d: float = 0.0


@dataclass(frozen=True)
class Seat:
    """One person wanted by a request. Empty skill strings mean "none"."""

    seat_id: str
    request_id: str
    lat: float
    lon: float
    required_skill: str = ""
    preferred_skill: str = ""


class Unfilled(enum.StrEnum):
    """Why a seat was left empty."""

    # No worker has the seat's required skill.
    NO_SKILL = "no_skill"
    # Workers with the skill exist, but the app's hard constraints (availability, …)
    # rule every one of them out for this seat; also: no workers at all.
    UNAVAILABLE = "unavailable"
    # Workers could take it, and every one of them is placed on another seat: filling
    # this seat instead would leave another seat empty (the filling is maximum).
    ALL_TAKEN = "all_taken"


@dataclass(frozen=True)
class UnfilledSeat:
    seat_id: str
    reason: Unfilled
    # Workers with the required skill (all workers when the seat requires none).
    with_skill: int
    # Of those, the ones the hard constraints allow on this seat; all of them are taken
    # when the reason is ALL_TAKEN.
    candidates: int


@dataclass
class Allocation:
    """The result: seat id → worker id, the exact cost, and every unfilled seat's reason."""

    assignment: dict[str, str]
    cost: float
    unfilled: list[UnfilledSeat]
    # How the answer was reached (arcs in the graph, rounds, seconds); for benchmarks.
    stats: dict = field(default_factory=dict)

    @property
    def filled(self) -> int:
        return len(self.assignment)


# Extra hard constraint: the workers allowed on a seat (None: no restriction beyond the
# required skill). Called once per seat; return the SAME object for seats that share a
# rule (e.g. one frozenset per request), so seats are grouped and checked once.
Allowed = Callable[[Seat], Collection[str] | None]

# Extra cost: `extra(seat, worker_indices) -> array of costs ≥ 0`, one per worker index
# (indices into the workers sequence). Called with one representative seat of a group
# of identical seats (same request, place and skills), so it must not depend on seat_id.
# Must never be negative: express a bonus as a penalty for the other choices (keeping a
# team together: a penalty for sending a member elsewhere than the team's request).
ExtraCost = Callable[[Seat, np.ndarray], np.ndarray]
