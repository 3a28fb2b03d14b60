"""The testing rules the command centre changes while an outbreak runs."""

import pydantic
from django.utils.translation import gettext_noop

from fangkong.core.policies import policy

MAX_POOL = 50  # a tube holds no more swabs than this, whatever a policy says


class PoolSizes(pydantic.BaseModel):
    """People per tube by the zone in force where they live (10混1, 20混1, 单管)."""

    sealed: int = pydantic.Field(
        ge=1, le=MAX_POOL, title=gettext_noop("People per tube in sealed zones")
    )
    controlled: int = pydantic.Field(
        ge=1, le=MAX_POOL, title=gettext_noop("People per tube in controlled zones")
    )
    prevention: int = pydantic.Field(
        ge=1,
        le=MAX_POOL,
        title=gettext_noop("People per tube in prevention zones and elsewhere"),
    )


POOL_SIZES = policy(
    "testing.pool_sizes",
    PoolSizes,
    default={"sealed": 1, "controlled": 10, "prevention": 20},
    description=gettext_noop(
        "Pool sizes by zone for new testing rounds: a round takes the version in force "
        "where and when it is launched, keeps it, and may override it at launch or later."
    ),
)


class HomeTaskDeadline(pydantic.BaseModel):
    """How long a door-to-door team has for a task made now (never past the round's end)."""

    hours: int = pydantic.Field(
        ge=1, le=24 * 7, title=gettext_noop("Hours to do a door-to-door task")
    )


HOME_TASK_DEADLINE = policy(
    "testing.home_task_deadline",
    HomeTaskDeadline,
    default={"hours": 6},
    description=gettext_noop(
        "A door-to-door task made now is due this many hours later, or at the round's "
        "deadline if that comes first; a planner may set another when assigning."
    ),
)
