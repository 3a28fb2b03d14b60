"""The busy path of an ask on PostgreSQL (a morning after a sealing announcement): the
retry's look-up and a new need's writes, each one prepared statement.

- `previous(actor_key, client_id)`: the need an earlier sending of this ask made or
  merged into, with what a reply shows (its household's address: the building and the
  compound), in one statement.
- `insert(need, submission, step, audit)`: the need, the submission that makes a retry
  harmless, its history step and the audit record, in ONE statement (a data-modifying
  CTE), returning the need's id and its address. A statement is atomic by itself, so
  outside a transaction it needs neither BEGIN nor COMMIT (two round trips of the old
  five); inside one (a critical need tells the community in the same transaction, or a
  caller's) it is one statement of it. A broken rule (the household's open need of the
  category, the same client id sent twice at once) fails the whole statement: nothing
  is half-written, and the caller falls back to the merge or the twin's answer.

Both statements are made from the models' own fields (`core.bulksql`), so a new column
is written here as the ORM would write it. SQLite keeps the ORM path
(services/requests.py)."""

import functools

from django.db import models

from fangkong.areas.models import Area, Household
from fangkong.core import bulksql
from fangkong.core.models import AuditEvent

from ..models import Category, ReliefRequest, RequestEvent, Submission

# What a reply shows of the address (Household.__str__): the rest is deferred.
_HOUSEHOLD = ("id", "building_id", "area_code", "unit", "room")
_BUILDING = ("id", "name", "code", "parent_id")
_COMPOUND = ("id", "name")


def _fields(model, attnames) -> list:
    return [f for f in model._meta.concrete_fields if f.attname in attnames]


def _address_columns() -> tuple[str, str]:
    """The address's columns (h: household, b: building, p: compound) and their joins."""
    columns = ", ".join(
        [f"h.{f.column}" for f in _fields(Household, _HOUSEHOLD)]
        + [f"b.{f.column}" for f in _fields(Area, _BUILDING)]
        + [f"p.{f.column}" for f in _fields(Area, _COMPOUND)]
    )
    joins = (
        f"JOIN {Area._meta.db_table} b ON b.id = h.building_id "
        f"LEFT JOIN {Area._meta.db_table} p ON p.id = b.parent_id"
    )
    return columns, joins


def _address(row) -> Household:
    """A household with its building and compound from an address's columns (the fields
    not read are deferred: read on use)."""
    h, b = len(_HOUSEHOLD), len(_BUILDING)
    household = bulksql.load(Household, _HOUSEHOLD, row[:h])
    building = bulksql.load(Area, _BUILDING, row[h : h + b])
    compound = None
    if row[h + b] is not None:
        compound = bulksql.load(Area, _COMPOUND, row[h + b :])
    building.parent = compound
    household.building = building
    return household


@functools.cache
def _previous_sql() -> str:
    need = ", ".join(f"r.{f.column}" for f in ReliefRequest._meta.concrete_fields)
    address, joins = _address_columns()
    return (
        f"SELECT {need}, {address} FROM {Submission._meta.db_table} s "  # noqa: S608
        f"JOIN {ReliefRequest._meta.db_table} r ON r.id = s.request_id "
        f"JOIN {Household._meta.db_table} h ON h.id = r.household_id {joins} "
        "WHERE s.actor_key = %s AND s.client_id = %s"
    )


def previous(actor_key: str, client_id: str, category_of) -> ReliefRequest | None:
    """The need this actor's ask of `client_id` made or merged into, with its category
    (`category_of(id)`) and address; None if it was never sent."""
    rows = bulksql.prepared(_previous_sql(), [actor_key, client_id])
    if not rows:
        return None
    row = rows[0]
    fields = ReliefRequest._meta.concrete_fields
    need = bulksql.load(ReliefRequest, [f.attname for f in fields], row[: len(fields)])
    need.household = _address(row[len(fields) :])
    need.category = category_of(need.category_id)
    return need


# The linked rows, and what of theirs comes from the new need (SQL of the CTE `need`).
_LINKED: tuple[tuple[type[models.Model], dict[str, str]], ...] = (
    (Submission, {"request_id": "need.id"}),
    (RequestEvent, {"request_id": "need.id"}),
    (AuditEvent, {"target_id": "need.id::text", "target_label": "'#' || need.id || ' ' || %s"}),
)


@functools.cache
def _insert_sql() -> str:
    fields = bulksql.insert_fields(ReliefRequest)
    parts = [
        f"WITH need AS (INSERT INTO {ReliefRequest._meta.db_table} "  # noqa: S608
        f"({', '.join(f.column for f in fields)}) "
        f"VALUES ({', '.join(bulksql.typed(f) for f in fields)}) RETURNING id, household_id)"
    ]
    for n, (model, from_need) in enumerate(_LINKED):
        own = bulksql.insert_fields(model, exclude=tuple(from_need))
        column_of = {f.attname: f.column for f in model._meta.concrete_fields}
        columns = [f.column for f in own] + [column_of[name] for name in from_need]
        values = [bulksql.typed(f) for f in own] + list(from_need.values())
        parts.append(
            f", linked{n} AS (INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
            f"SELECT {', '.join(values)} FROM need)"
        )
    address, joins = _address_columns()
    parts.append(
        f" SELECT need.id, {address} FROM need "
        f"JOIN {Household._meta.db_table} h ON h.id = need.household_id {joins}"
    )
    return "".join(parts)


def insert(
    need: ReliefRequest, submission: Submission, step: RequestEvent, audit: AuditEvent
) -> None:
    """Write `need` and the three rows that point at it in one statement (see above);
    `need` then has its id, and its household with the address."""
    params = bulksql.insert_values(need, bulksql.insert_fields(ReliefRequest))
    for obj, (model, from_need) in zip((submission, step, audit), _LINKED, strict=True):
        params += bulksql.insert_values(obj, bulksql.insert_fields(model, exclude=tuple(from_need)))
    params.append(str(need.category))  # the audit label: "#<id> <category>", as str(need)
    row = bulksql.prepared(_insert_sql(), params)[0]
    need.pk = row[0]
    need._state.adding, need._state.db = False, "default"
    need.household = _address(row[1:])


def category_getter(held: list[Category]):
    """`category_of(id)` over the categories held in memory, reading one that is not
    (an inactive one an old need still has)."""
    by_id = {c.pk: c for c in held}

    def category_of(pk: int) -> Category:
        return by_id.get(pk) or Category.objects.get(pk=pk)

    return category_of
