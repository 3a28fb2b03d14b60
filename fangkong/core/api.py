"""What every app's API shares (error schema, policy gate, paging) and the audit log."""

import datetime as dt
import re
from typing import Annotated, Any, Generic, TypeVar, overload

from django.utils import timezone
from ninja import Field, Query, Router, Schema
from pydantic import BeforeValidator, Strict

from .guards import require  # noqa: F401  (the API modules import it from here)
from .paging import Page, paginate
from .permissions import can_read_audit
from .selectors import audit_events

# Types for what clients send. pydantic's lax mode would take `true` for 1, "7" for 7 in
# a JSON body, and 0 for 1970-01-01; a client that sends those has a bug, and is told.
_NUMBER = re.compile(r"^\s*[+-]?\d+(\.\d*)?\s*$")


def _iso_text(value):
    if isinstance(value, bool | int | float) or (isinstance(value, str) and _NUMBER.match(value)):
        raise ValueError("must be an ISO 8601 date or time as text (2022-04-12T09:30+08:00)")
    return value


def _in_utc(value: dt.datetime) -> dt.datetime:
    """A time with an offset, as the same instant in UTC: a database need not know
    offsets beyond its own range (PostgreSQL refuses +17:22, which ISO 8601 allows)."""
    if value.tzinfo is None:
        return value  # local time: made aware where it is used (`aware`)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        # Year 1 or 9999 with an offset: left as sent, for the service's check of client
        # times (core.clock) to refuse that one event by name, not the whole request.
        return value


JsonInt = Annotated[int, Strict()]  # a JSON number without a fraction; not true, not "7"
# A row id as a client sends it: a JSON integer a database key can hold.
JsonId = Annotated[int, Strict(), Field(ge=1, le=2**63 - 1)]
# A row id in a query string or form field ("7" is fine there): one a database key can hold.
QueryId = Annotated[int, Field(ge=1, le=2**63 - 1)]
IsoDate = Annotated[dt.date, BeforeValidator(_iso_text)]
# Offsets are kept as sent; the services check and store the instant (core.clock).
IsoDateTime = Annotated[dt.datetime, BeforeValidator(_iso_text)]


# Offset paging walks rows to skip them; past this, narrow the filters instead.
MAX_PAGE = 10_000
T = TypeVar("T")


class ErrorDetail(Schema):
    code: str = Field(
        description="stable: invalid, unauthorized, forbidden, csrf_failed, not_found, "
        "conflict, method_not_allowed, too_large, unsupported_media_type, rate_limited, "
        "server_error, unavailable, busy"
    )
    message: str = Field(description="English")
    message_zh: str = Field(description="Chinese")
    field: str = Field(description="the input field at fault, or empty")
    details: list[dict[str, Any]] | None = None


class ErrorOut(Schema):
    error: ErrorDetail


def errors(*codes: int) -> dict[int, type[ErrorOut]]:
    """Document the error responses an operation may give, all in the one shape."""
    return {code: ErrorOut for code in (401, *codes)}


class PageOut(Schema, Generic[T]):
    items: list[T]
    page: int
    has_next: bool = Field(description="whether page+1 holds more; there is no total count")


def page_out(page: Page, items: list) -> dict:
    return {"items": items, "page": page.number, "has_next": page.has_next}


@overload
def aware(value: dt.datetime) -> dt.datetime: ...
@overload
def aware(value: None) -> None: ...
def aware(value: dt.datetime | None) -> dt.datetime | None:
    """A time without an offset is read in the deployment's zone (Asia/Shanghai)."""
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


router = Router(tags=["audit"])


class AuditFilters(Schema):
    event: str = Field("", max_length=50, description="event type or its prefix: `resident.`")
    actor: str = Field("", max_length=150, description="username")
    target: str = Field("", max_length=200, description="start of the target's label")
    area: str = Field("", pattern=r"^\d{0,18}$", description="area code; its subtree")
    since: IsoDate | None = Field(None, description="first day, local time")
    until: IsoDate | None = Field(None, description="last day, local time")
    page: int = Field(1, ge=1, le=MAX_PAGE)


class AuditEventOut(Schema):
    id: int
    at: dt.datetime
    actor: str = Field(alias="actor_name")
    event: str
    target_type: str
    target_id: str
    target_label: str
    area_code: str
    reason: str
    detail: dict[str, Any]


@router.get("/", response={200: PageOut[AuditEventOut], **errors(403, 422)})
def audit_list(request, filters: Query[AuditFilters]):
    """The audit log, newest first; for the command centre."""
    require(can_read_audit(request.auth))
    wanted = filters.dict(exclude={"page"})
    wanted = {k: v.isoformat() if isinstance(v, dt.date) else (v or "") for k, v in wanted.items()}
    page = paginate(audit_events(request.auth, wanted), filters.page, 50)
    return page_out(page, page.items)
