"""The screening app's rules as data (fangkong/core/policies.py): versioned and
effective-dated, set by the command centre while an outbreak runs. A trace task keeps
the versions it was raised under; a control status the version it was started under.

The defaults follow the national rules of June 2022 (the ninth edition: close contacts
7 days of centralised isolation and 3 of home health monitoring, secondary contacts
traced); November 2022's change (5 + 3, secondary contacts no longer traced) is one
`policy_set` away, from its date on.
"""

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fangkong.core.policies import policy

# Statuses a measure may prescribe (models.ControlKind's values without none/released).
MeasureKind = Literal[
    "health_monitoring", "home_monitoring", "home_isolation", "centralised_isolation", "hospital"
]


class Measure(BaseModel):
    """What a person of a category is put under: `first` for `first_days`, then `then`
    for `then_days` (optional)."""

    model_config = ConfigDict(extra="forbid")

    first: MeasureKind
    first_days: int = Field(ge=0, le=60)
    then: MeasureKind | None = None
    then_days: int = Field(0, ge=0, le=60)

    @model_validator(mode="after")
    def _then_needs_days(self):
        if self.then is None and self.then_days:
            raise ValueError("then_days needs a then")
        return self


class ContactRules(BaseModel):
    """Contact categories and their control measures; whether secondary contacts are
    traced at all."""

    model_config = ConfigDict(extra="forbid")

    close: Measure
    secondary: Measure
    companion: Measure
    risk_area: Measure
    symptoms: Measure
    trace_secondary: bool = True


class TraceDeadlines(BaseModel):
    """ "2+6": a task raised by day is due in `day_hours`, by night in `night_hours`.
    Day is [day_starts, day_ends) on the deployment's clock (Asia/Shanghai)."""

    model_config = ConfigDict(extra="forbid")

    day_hours: float = Field(gt=0, le=72)
    night_hours: float = Field(gt=0, le=72)
    day_starts: dt.time
    day_ends: dt.time

    @model_validator(mode="after")
    def _day_is_a_span(self):
        if self.day_starts == self.day_ends:
            raise ValueError("day_starts and day_ends must differ")
        return self


class CompanionRule(BaseModel):
    """Time-space companionship (时空伴随): the same cell of `cell_metres` square as a
    case for more than `min_overlap_minutes` within `look_back_days`."""

    model_config = ConfigDict(extra="forbid")

    cell_metres: int = Field(ge=1, le=100_000)
    min_overlap_minutes: int = Field(ge=0, le=1440)
    look_back_days: int = Field(ge=1, le=60)


class MatchRule(BaseModel):
    """A case's window (from `days_before` days before sampling to when the case was
    confirmed) and the margin around a case's scan within which a scan is a contact."""

    model_config = ConfigDict(extra="forbid")

    days_before: int = Field(ge=0, le=30)
    margin_minutes: int = Field(ge=0, le=1440)


CONTACTS = policy(
    "screening.contacts",
    ContactRules,
    default={
        "close": {
            "first": "centralised_isolation",
            "first_days": 7,
            "then": "home_monitoring",
            "then_days": 3,
        },
        "secondary": {"first": "home_isolation", "first_days": 7},
        "companion": {"first": "health_monitoring", "first_days": 3},
        "risk_area": {"first": "home_isolation", "first_days": 7},
        "symptoms": {"first": "health_monitoring", "first_days": 3},
        "trace_secondary": True,
    },
    description="Contact categories and their control measures (7+3, 5+3 …); "
    "whether secondary contacts are traced.",
)
DEADLINES = policy(
    "screening.deadlines",
    TraceDeadlines,
    default={"day_hours": 2, "night_hours": 6, "day_starts": "08:00", "day_ends": "22:00"},
    description='"2+6": hours to reach and control a key person, by day and by night, '
    "and the day's hours.",
)
COMPANION = policy(
    "screening.companion",
    CompanionRule,
    default={"cell_metres": 800, "min_overlap_minutes": 10, "look_back_days": 14},
    description="Time-space companionship: cell size, minimum overlap, look-back days.",
)
MATCHING = policy(
    "screening.matching",
    MatchRule,
    default={"days_before": 2, "margin_minutes": 30},
    description="A case's infectious window (days before sampling) and the venue-scan "
    "margin in minutes.",
)
