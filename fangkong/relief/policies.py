"""The relief app's rules the command centre changes while an outbreak runs.

- `relief.sla`: how long a need may wait, by urgency (critical 1 h, urgent 4 h, normal
  24 h), whether the night counts for an urgency, and whom an overdue need escalates to.
- `relief.care`: check-ins with the vulnerable, per roster tag (a call every N days, a
  visit every M days), and how late a check-in may be before it counts as missed.
- `relief.stock`: when a supply point's stock counts as low (per item, or the default).

A request keeps the SLA version it was registered under; a schedule keeps the care version.
"""

import datetime as dt

from pydantic import BaseModel, Field, model_validator

from fangkong.core.policies import policy

URGENCIES = ("critical", "urgent", "normal")
LEVELS = ("community", "street", "command")


class SlaRule(BaseModel):
    # Minutes a need of each urgency may wait before it is overdue.
    critical: int = Field(ge=5, le=7 * 24 * 60)
    urgent: int = Field(ge=5, le=7 * 24 * 60)
    normal: int = Field(ge=5, le=14 * 24 * 60)
    # Urgencies whose clock stops at night (e.g. ["normal"]: groceries are not counted
    # overdue for the night hours); the night runs from night_start to night_end, local.
    paused_at_night: list[str] = Field(default_factory=list)
    night_start: dt.time = dt.time(22, 0)
    night_end: dt.time = dt.time(7, 0)
    # Who is told, by urgency, when a need is overdue: community, street, command.
    escalate_to: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "critical": ["street", "command"],
            "urgent": ["community", "street"],
            "normal": ["community"],
        }
    )

    @model_validator(mode="after")
    def _known_names(self):
        for name in self.paused_at_night:
            if name not in URGENCIES:
                raise ValueError(f"unknown urgency {name!r} in paused_at_night")
        for urgency, levels in self.escalate_to.items():
            if urgency not in URGENCIES:
                raise ValueError(f"unknown urgency {urgency!r} in escalate_to")
            for level in levels:
                if level not in LEVELS:
                    raise ValueError(f"unknown level {level!r} in escalate_to")
        return self

    def minutes(self, urgency: str) -> int:
        return getattr(self, urgency)


SLA = policy(
    "relief.sla",
    SlaRule,
    default={"critical": 60, "urgent": 240, "normal": 1440},
    description="Deadlines of residents' needs by urgency (minutes), night pauses, and "
    "whom an overdue need escalates to.",
)


# The tags proactive care follows, read from the roster (fangkong.people.selectors).
CARE_TAGS = (
    "aged_alone",
    "disabled",
    "bedridden",
    "regular_treatment",
    "pregnant",
    "infant",
    "no_smartphone",
)


class CareEvery(BaseModel):
    # Days between calls / visits; 0: none of that kind for this tag.
    call_days: int = Field(0, ge=0, le=60)
    visit_days: int = Field(0, ge=0, le=60)


class CareRule(BaseModel):
    tags: dict[str, CareEvery]
    # How late a check-in may be before it counts as missed (and raises a task).
    grace_hours: int = Field(4, ge=0, le=72)
    # Local hour of the day by which a day's check-in is due.
    due_hour: int = Field(18, ge=0, le=23)

    @model_validator(mode="after")
    def _known_tags(self):
        for tag in self.tags:
            if tag not in CARE_TAGS:
                raise ValueError(f"unknown tag {tag!r}")
        return self


CARE = policy(
    "relief.care",
    CareRule,
    default={
        "tags": {
            "aged_alone": {"call_days": 1, "visit_days": 3},
            "disabled": {"call_days": 1, "visit_days": 7},
            "bedridden": {"call_days": 1, "visit_days": 2},
            "regular_treatment": {"call_days": 1, "visit_days": 7},
            "pregnant": {"call_days": 2, "visit_days": 0},
            "infant": {"call_days": 2, "visit_days": 0},
            "no_smartphone": {"call_days": 0, "visit_days": 3},
        },
        "grace_hours": 4,
        "due_hour": 18,
    },
    description="Check-ins with the vulnerable by roster tag: a call every N days, a visit "
    "every M days; how many hours late counts as missed; the hour a day's check-in is due.",
)


class StockRule(BaseModel):
    default_low: int = Field(10, ge=0, le=1_000_000)
    # Item name -> quantity at or below which it is low.
    items: dict[str, int] = Field(default_factory=dict)

    def low_at(self, item: str) -> int:
        return self.items.get(item, self.default_low)


STOCK = policy(
    "relief.stock",
    StockRule,
    default={"default_low": 10, "items": {}},
    description="Supply points: the quantity at or below which an item's stock is low and "
    "its keeper is warned (per item name, or the default).",
)
