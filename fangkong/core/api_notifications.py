"""The caller's notifications over JSON: for phone pages and devices that poll."""

import datetime as dt

from ninja import Field, Query, Router, Schema

from . import notifications
from .api import JsonId, errors

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
    ids: list[JsonId] = Field(min_length=1, max_length=1000)


class ReadOut(Schema):
    marked: int


@router.get("/", response={200: list[NotificationOut], **errors(422)})
def notification_list(request, query: Query[After]):
    """My notifications after `after` (up to 50, oldest first); poll with the last id."""
    return notifications.newer_than(request.auth, query.after)


@router.post("/read", response={200: ReadOut, **errors(422)})
def notification_read(request, payload: ReadIn):
    """Mark my notifications named by id read (another's are left alone)."""
    return {"marked": notifications.mark_read(user=request.auth, ids=payload.ids)}


@router.post("/read-all", response={200: ReadOut, **errors()})
def notification_read_all(request):
    """Mark every notification of mine read."""
    return {"marked": notifications.mark_read(user=request.auth)}
