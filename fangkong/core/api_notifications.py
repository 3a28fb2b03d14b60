"""The caller's notifications over JSON: for phone pages and devices that poll."""

import datetime as dt

from ninja import Field, Query, Router, Schema

from . import notifications
from .api import errors

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    kind: str
    text: str
    url: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class After(Schema):
    after: int = Field(0, ge=0, description="only notifications with a larger id")


class ReadIn(Schema):
    ids: list[int] | None = Field(None, max_length=1000, description="none: all of mine")


class ReadOut(Schema):
    marked: int


@router.get("/", response={200: list[NotificationOut], **errors(422)})
def notification_list(request, query: Query[After]):
    """My notifications after `after` (up to 50, oldest first); poll with the last id."""
    return notifications.newer_than(request.auth, query.after)


@router.post("/read", response={200: ReadOut, **errors(422)})
def notification_read(request, payload: ReadIn):
    """Mark my notifications read: those named, or all of them."""
    return {"marked": notifications.mark_read(user=request.auth, ids=payload.ids)}
