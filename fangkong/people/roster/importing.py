"""Roster import: the services that check a file, keep it as an `ImportJob` and write it.

A roster is written in chunks of `CHUNK_ROWS`, each in its own transaction: one query
fetches the chunk's known residents by ID hash, new households are made with one
bulk_create, new residents with one COPY (PostgreSQL; bulk_create elsewhere) and changed
ones saved with bulk_update. Building statistics are recounted once, at the end, for the
buildings touched. A chunk's progress is committed with it, so the page and the CLI show
how far an import has got.
"""

import base64
import contextlib
import dataclasses
import hashlib
import io
import json
import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from fangkong.areas.models import Area, Household, Level
from fangkong.areas.services import building_get_or_create
from fangkong.core import pii, spreadsheets
from fangkong.core.actors import user_of
from fangkong.core.audit import audit_record
from fangkong.core.errors import DomainError, PermissionDenied
from fangkong.core.streams import batched, read_ahead
from fangkong.people.permissions import can_import_roster

from ..models import (
    ImportJob,
    ImportRejection,
    ImportStatus,
    ImportUpload,
    ImportWarning,
    Resident,
    Tag,
    id_hash,
)
from ..services import COMPARED, Outcome, building_stats_refresh, resident_apply
from . import columns
from .columns import Col
from .parsing import Header, Rejection, Roster, RosterFileError, RosterRow, open_roster

logger = logging.getLogger(__name__)

CHUNK_ROWS = 1000
ALL_TAGS = int(sum(Tag))
IMPORTABLE_LEVELS = (Level.COMMUNITY, Level.COMPOUND)
# Saved for a changed resident (bulk_update leaves auto_now alone, so updated_at is set).
UPDATE_FIELDS = [
    "name",
    "name_pinyin",
    "name_initials",
    "sex",
    "birth_date",
    "household",
    "area_code",
    "residency",
    "tags",
    "language",
    "treatment",
    "note",
    "phone_cipher",
    "phone_hash",
    "phone_tail",
    "phone_masked",
    "updated_at",
]
INTERNAL_ERROR = (
    "导入中断（系统内部错误），已导入的行保留；请联系管理员",
    "the import stopped on an internal error (rows already imported are kept); "
    "please tell the administrator",
)
OUTSIDE_JURISDICTION = (
    "此人已登记在您辖区外的住户，须由其所在社区或上级办理迁移",
    "this person is registered outside your jurisdiction; their community or a higher "
    "office must move them",
)

Progress = Callable[[ImportJob], None]


def importable_areas(user):
    """The communities and compounds a user may import a roster into."""
    return Area.objects.for_user(user).filter(level__in=IMPORTABLE_LEVELS).order_by("code")


def _check_may_import(actor, area: Area) -> None:
    """`actor` None is the system (the CLI): no scope limit, but still one area."""
    if area.level not in IMPORTABLE_LEVELS:
        raise DomainError(
            "花名册只能导入到社区或小区", "a roster is imported into a community or a compound"
        )
    if actor is None:
        return
    if not can_import_roster(actor):
        raise PermissionDenied("您的角色不能导入花名册", "your role may not import rosters")
    if not actor.may_see_area(area.code):
        raise PermissionDenied(
            "该区域不在您的辖区内", "this area is outside your jurisdiction", field="area"
        )


def _check_header(area: Area, header: Header) -> None:
    if (
        area.level == Level.COMMUNITY
        and not header.has(Col.COMPOUND)
        and Area.objects.filter(parent=area, level=Level.COMPOUND).count() != 1
    ):
        raise RosterFileError(
            f"导入到社区（{area.name}）时，花名册须有“小区”列",
            f"a roster imported into a community ({area.name}) needs a 小区 (compound) column",
        )


def _inspect(stream: BinaryIO, area: Area) -> int | None:
    """Check that the file is a roster for `area`; how many rows it has, if it says."""
    with open_roster(stream) as roster:
        _check_header(area, roster.header)
        size = roster.size
    stream.seek(0)
    return size


@transaction.atomic
def _job_create(
    *, actor, area: Area, file_name: str, sha256: str, size, upload: bytes | None
) -> ImportJob:
    job = ImportJob.objects.create(
        area=area,
        created_by=user_of(actor),
        file_name=Path(file_name).name[:255] or "roster",
        sha256=sha256,
        total_rows=size or 0,
    )
    if upload is not None:
        # pii.encrypt takes text; base64 costs a third more bytes, for a short while.
        cipher = pii.encrypt(base64.b64encode(upload).decode("ascii"))
        ImportUpload.objects.create(job=job, cipher=cipher)
    return job


def roster_import_submit(*, actor, area: Area, file_name: str, data: bytes) -> ImportJob:
    """An upload from the page: checked now; run now if small, else by the worker.

    The request never parses a file that could cost much: it runs the reader's cheap
    checks (size, type, the zip's directory: a zip bomb is refused here), and only a file
    small when unpacked (FANGKONG_SHEET_INLINE_BYTES) and of at most
    ROSTER_INLINE_MAX_ROWS rows is read now, its header checked before anything is
    stored. A bigger one is stored and read by the worker, within the reader's limits;
    a file it refuses fails the job with the reason.

    Raises DomainError (SpreadsheetError or RosterFileError for a file that cannot be a
    roster) before anything is stored.
    """
    _check_may_import(actor, area)
    found = spreadsheets.inspect(io.BytesIO(data))
    size, limit = found.rows, settings.ROSTER_INLINE_MAX_ROWS
    if found.small and (size is None or size <= limit):
        size = _inspect(io.BytesIO(data), area)  # bounded: a small file, read with limits
    inline = found.small and size is not None and size <= limit
    with transaction.atomic():
        job = _job_create(
            actor=actor,
            area=area,
            file_name=file_name,
            sha256=hashlib.sha256(data).hexdigest(),
            size=size,
            upload=data,
        )
        if not inline:
            transaction.on_commit(lambda: _enqueue(job.pk))
    if inline:
        return roster_import_run(job_id=job.pk)
    return job


def _enqueue(job_id: int) -> None:
    from ..tasks import roster_import

    roster_import.enqueue(job_id)


def roster_import_path(
    *, actor, area: Area, path: str | Path, progress: Progress | None = None
) -> ImportJob:
    """A file on disk (the CLI): imported now, in this process, however large.

    The file is opened once: the checks that come before the job is made, and the run.
    """
    _check_may_import(actor, area)
    with open(path, "rb") as stream:
        digest = hashlib.sha256()
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
        stream.seek(0)
        with open_roster(stream) as roster:
            _check_header(area, roster.header)
            job = _job_create(
                actor=actor,
                area=area,
                file_name=Path(path).name,
                sha256=digest.hexdigest(),
                size=roster.size,
                upload=None,
            )
            return _run(job.pk, lambda job: contextlib.nullcontext(roster), progress, actor=actor)


def roster_import_run(*, job_id: int, progress: Progress | None = None) -> ImportJob:
    """Run a queued import from its stored upload, as the user who submitted it.

    Safe to call twice: only the call that claims the job runs it.
    """

    def open_upload(job: ImportJob):
        if job.created_by is None:
            raise PermissionDenied("提交导入的用户已不存在", "the user who submitted it is gone")
        _check_may_import(job.created_by, job.area)
        return open_roster(io.BytesIO(_upload(job)))

    return _run(job_id, open_upload, progress)


def _run(job_id: int, open_source, progress: Progress | None, actor=None) -> ImportJob:
    """Claim and run a job, as `actor` (by default the user who submitted it)."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=timezone.now()
    )
    job = ImportJob.objects.select_related("area", "created_by").get(pk=job_id)
    if not claimed:
        return job
    importer = _Importer(job, actor=actor or job.created_by, progress=progress)
    try:
        with open_source(job) as roster:
            importer.run(roster)
    except DomainError as exc:
        importer.finish(error=(exc.zh, exc.en))
    except Exception:
        logger.exception("roster import %s failed", job.pk)
        importer.finish(error=INTERNAL_ERROR)
    else:
        importer.finish()
    finally:
        # The roster is not kept once read: the rejected rows hold all that is needed.
        ImportUpload.objects.filter(job_id=job.pk).delete()
    return job


STOPPED = (
    "导入中断（后台进程停止），请重新导入该文件：已导入的行不会重复",
    "the import stopped (its background worker died); import the file again: rows "
    "already imported are not duplicated",
)


def roster_jobs_reap(*, older_than) -> int:
    """Fail the imports that have been running longer than `older_than` (a timedelta):
    their worker died (a restart, the machine, memory), and without this the page would
    show them running for ever. A 100,000-row roster takes under a minute, so an hour is
    far beyond any live import. Re-importing is safe: it changes nothing already in."""
    cutoff = timezone.now() - older_than
    stale = list(
        ImportJob.objects.filter(status=ImportStatus.RUNNING, started_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )
    if not stale:
        return 0
    with transaction.atomic():
        reaped = ImportJob.objects.filter(pk__in=stale, status=ImportStatus.RUNNING).update(
            status=ImportStatus.FAILED,
            finished_at=timezone.now(),
            error_zh=STOPPED[0],
            error_en=STOPPED[1],
        )
        ImportUpload.objects.filter(job_id__in=stale).delete()
    for pk in stale:
        logger.warning("roster import %s was still running after %s: marked failed", pk, older_than)
    return reaped


def _upload(job: ImportJob) -> bytes:
    upload = ImportUpload.objects.filter(job_id=job.pk).first()
    if upload is None:
        raise RosterFileError("上传的文件已不在", "the uploaded file is no longer there")
    return base64.b64decode(pii.decrypt(upload.cipher))


@dataclasses.dataclass
class _Chunk:
    counts: Counter
    touched: set[str]
    rejections: list[Rejection]
    last_row: int
    warnings: list = dataclasses.field(default_factory=list)


class _Importer:
    """One run of one job; keeps the compounds, buildings and households it has met."""

    def __init__(self, job: ImportJob, *, actor, progress: Progress | None):
        self.job = job
        self.area = job.area
        self.actor = actor
        self.progress = progress
        self.counts: Counter = Counter()
        self.touched: set[str] = set()
        self.last_row = 0
        self.header: Header | None = None
        self.compounds = self._load_compounds()
        self.buildings: dict[int, dict[str, Area]] = {}
        self.households: dict[int, dict[tuple[str, str], Household]] = {}
        self.statistics = _PlannerStatistics()

    # The run ---------------------------------------------------------------------------

    def run(self, roster: Roster) -> None:
        _check_header(self.area, roster.header)
        self.header = roster.header
        self.job.header = list(roster.header.labels)
        ImportJob.objects.filter(pk=self.job.pk).update(header=self.job.header)
        with contextlib.closing(
            read_ahead(batched(roster.rows, CHUNK_ROWS), name="roster-reader")
        ) as chunks:
            for chunk in chunks:
                self._write_chunk(chunk)

    def _write_chunk(self, chunk: list[RosterRow | Rejection]) -> None:
        for attempt in (1, 2):
            try:
                with transaction.atomic():
                    _commit_without_waiting()
                    done = self._apply(chunk)
                    self._reject(done.rejections)
                    self._warn(done.warnings)
                    totals = self.counts + done.counts
                    ImportJob.objects.filter(pk=self.job.pk).update(
                        processed_rows=done.last_row, **_count_fields(totals)
                    )
                break
            except IntegrityError:
                # Another import wrote the same person or household meanwhile: once more,
                # with what we knew of the database forgotten.
                if attempt == 2:
                    raise
                self.buildings.clear()
                self.households.clear()
        self.counts += done.counts
        self.touched |= done.touched
        self.last_row = done.last_row
        self.statistics.grew(done.counts["created"])
        if self.progress is not None:
            self._refresh_job(processed_rows=self.last_row)
            self.progress(self.job)

    def finish(self, *, error: tuple[str, str] | None = None) -> None:
        """Recount the touched buildings, close the job and write the one audit record."""
        with transaction.atomic():
            building_stats_refresh(self.touched)
            fields = {
                "status": ImportStatus.FAILED if error else ImportStatus.DONE,
                "finished_at": timezone.now(),
                "processed_rows": self.last_row,
                **_count_fields(self.counts),
                "error_zh": error[0] if error else "",
                "error_en": error[1] if error else "",
            }
            if not error:
                fields["total_rows"] = self.last_row  # the estimate gives way to the count
            ImportJob.objects.filter(pk=self.job.pk).update(**fields)
            self._refresh_job(**fields)
            audit_record(
                actor=self.actor,
                event="people.roster_import",
                target=self.job,
                area_code=self.area.code,
                detail={
                    "file": self.job.file_name,
                    "sha256": self.job.sha256,
                    "status": fields["status"],
                    **_count_fields(self.counts),
                    **({"error": error[1]} if error else {}),
                },
            )

    def _refresh_job(self, **fields) -> None:
        for name, value in fields.items():
            setattr(self.job, name, value)
        for name, value in _count_fields(self.counts).items():
            setattr(self.job, name, value)

    # A chunk ---------------------------------------------------------------------------

    def _apply(self, chunk: list[RosterRow | Rejection]) -> _Chunk:
        done = _Chunk(Counter(), set(), [], max(item.row for item in chunk))
        placed: list[tuple[RosterRow, Area, str]] = []
        for item in chunk:
            compound = item if isinstance(item, Rejection) else self._compound(item)
            if isinstance(compound, Rejection):
                done.rejections.append(compound)
            else:
                placed.append((item, compound, id_hash(item.data.doc.type, item.data.doc.number)))
        keys = [key for _row, _compound, key in placed]
        known = {
            r.id_hash: r for r in Resident.objects.select_for_update().filter(id_hash__in=keys)
        }
        if self.actor is not None:
            placed = [p for p in placed if self._may_take(known.get(p[2]), p[0], done)]
        buildings = [self._building(compound, row.building) for row, compound, _key in placed]
        households = self._households(
            {(b, row.unit, row.room) for b, (row, _c, _k) in zip(buildings, placed, strict=True)}
        )
        now = timezone.now()
        new, changed = [], []
        for building, (row, _compound, key) in zip(buildings, placed, strict=True):
            household = households[(building.pk, row.unit, row.room)]
            resident = known.get(key)
            old_area = resident.area_code if resident else ""
            done.warnings += row.warnings
            if resident is None:
                resident = Resident()
                resident_apply(resident, row.data, household)
                new.append(resident)
                outcome = Outcome.CREATED
            elif self._update(resident, row, household, now):
                changed.append(resident)
                outcome = Outcome.UPDATED
            else:
                outcome = Outcome.UNCHANGED
            if outcome != Outcome.UNCHANGED:
                done.touched |= {household.area_code, old_area} - {""}
            done.counts[str(outcome)] += 1
        done.counts["rejected"] += len(done.rejections)
        done.counts["warned"] += len(done.warnings)
        _insert_residents(new, now)
        Resident.objects.bulk_update(changed, UPDATE_FIELDS, batch_size=500)
        return done

    def _may_take(self, resident: Resident | None, row: RosterRow, done: _Chunk) -> bool:
        """A person known outside the actor's jurisdiction is not pulled in by a roster."""
        if resident is None or self.actor.may_see_area(resident.area_code):
            return True
        label = self.header.label_of(Col.ID_NUMBER)
        done.rejections.append(Rejection(row.row, label, *OUTSIDE_JURISDICTION, row.cells))
        return False

    def _update(self, resident: Resident, row: RosterRow, household: Household, now) -> bool:
        """Apply a row to a known resident; whether anything changed (then it is to save)."""
        data = self._with_absent_kept(resident, row)
        if _unchanged(resident, data, household):
            return False
        old_note = resident.note
        fields = resident_apply(resident, data, household)
        if not fields and resident.note == old_note:
            return False
        resident.updated_at = now
        return True

    def _with_absent_kept(self, resident: Resident, row: RosterRow):
        """A column the file does not have (or a residency the row does not say) leaves
        that field of a known resident alone."""
        header, data = self.header, row.data
        kept = {}
        if not row.residency_said:
            kept["residency"] = resident.residency
        if not header.has(Col.LANGUAGE):
            kept["language"] = resident.language
        if not header.has(Col.TREATMENT):
            kept["treatment"] = data.treatment or resident.treatment
        if header.tag_mask != ALL_TAGS:
            kept["tags"] = (resident.tags & ~header.tag_mask & ALL_TAGS) | data.tags
        return dataclasses.replace(data, **kept) if kept else data

    def _reject(self, rejections: list[Rejection]) -> None:
        ImportRejection.objects.bulk_create(
            [
                ImportRejection(
                    job_id=self.job.pk,
                    row=r.row,
                    column=r.column[:200],
                    reason_zh=r.zh,
                    reason_en=r.en,
                    cells_cipher=pii.encrypt(json.dumps(r.cells, ensure_ascii=False)),
                )
                for r in rejections
            ],
            batch_size=CHUNK_ROWS,
        )

    def _warn(self, warnings: list) -> None:
        ImportWarning.objects.bulk_create(
            [
                ImportWarning(
                    job_id=self.job.pk,
                    row=w.row,
                    column=w.column[:200],
                    value=w.value[:200],
                    reason_zh=w.zh,
                    reason_en=w.en,
                )
                for w in warnings
            ],
            batch_size=CHUNK_ROWS,
        )

    # Where a row lives ------------------------------------------------------------------

    def _load_compounds(self) -> dict[str, Area]:
        """The community's compounds by every key their names are matched by."""
        if self.area.level == Level.COMPOUND:
            return {}
        compounds = Area.objects.filter(parent=self.area, level=Level.COMPOUND).order_by("code")
        self.compound_list = list(compounds)
        found: dict[str, Area] = {}
        for compound in self.compound_list:
            for k in columns.compound_keys(compound.name):
                found.setdefault(k, compound)
        return found

    def _compound(self, row: RosterRow) -> Area | Rejection:
        column = self.header.label_of(Col.COMPOUND)
        if self.area.level == Level.COMPOUND:
            ours = set(columns.compound_keys(self.area.name))
            if row.compound and not ours & set(columns.compound_keys(row.compound)):
                return Rejection(
                    row.row,
                    column,
                    f"小区“{row.compound}”不是本次导入的小区“{self.area.name}”",
                    f"compound “{row.compound}” is not the compound of this import, "
                    f"“{self.area.name}”",
                    row.cells,
                )
            return self.area
        choices = self.compound_list
        if not row.compound and len(choices) == 1:
            return choices[0]
        for k in columns.compound_keys(row.compound):
            if k in self.compounds:
                return self.compounds[k]
        names = "、".join(c.name for c in choices[:20]) or "（无）"
        if not row.compound:
            zh, en = "小区为空", "compound is empty"
        else:
            zh, en = (
                f"小区“{row.compound}”不在{self.area.name}",
                f"compound “{row.compound}” is not in {self.area.name}",
            )
        return Rejection(
            row.row,
            column,
            f"{zh}；本社区的小区有：{names}",
            f"{en}; its compounds are: {names}",
            row.cells,
        )

    def _building(self, compound: Area, label: str) -> Area:
        known = self.buildings.get(compound.pk)
        if known is None:
            known = self.buildings[compound.pk] = {}
            for building in Area.objects.filter(parent=compound, level=Level.BUILDING).order_by(
                "code"
            ):
                known.setdefault(columns.building_label(building.name), building)
        building = known.get(label)
        if building is None:
            building, _ = building_get_or_create(actor=self.actor, compound=compound, name=label)
            known[label] = building
        return building

    def _households(
        self, wanted: set[tuple[Area, str, str]]
    ) -> dict[tuple[int, str, str], Household]:
        """Households by (building id, unit, room), made in bulk where missing.

        # TODO(areas): a bulk household_get_or_create belongs in areas.services.
        """
        buildings = {b.pk: b for b, _unit, _room in wanted}
        self._load_households([b for pk, b in buildings.items() if pk not in self.households])
        missing = [
            Household(building_id=b.pk, area_code=b.code, unit=unit, room=room)
            for b, unit, room in wanted
            if (unit, room) not in self.households[b.pk]
        ]
        # Ids come back (PostgreSQL, SQLite 3.35+). Another import making the same household
        # meanwhile raises IntegrityError: the chunk is then done again from the database.
        for household in Household.objects.bulk_create(missing, batch_size=CHUNK_ROWS):
            key = (household.unit, household.room)
            self.households[household.building_id][key] = household
        return {(b.pk, unit, room): self.households[b.pk][(unit, room)] for b, unit, room in wanted}

    def _load_households(self, buildings: list[Area]) -> None:
        """Cache the households of `buildings`, keyed by unit and room as a roster says them."""
        if not buildings:
            return
        by_pk = {b.pk: b for b in buildings}
        for pk in by_pk:
            self.households[pk] = {}
        rows = Household.objects.filter(building_id__in=list(by_pk)).order_by("pk")
        for pk, building_id, unit, room in rows.values_list("pk", "building_id", "unit", "room"):
            household = Household(
                pk=pk,
                building_id=building_id,
                area_code=by_pk[building_id].code,
                unit=unit,
                room=room,
            )
            key = (columns.unit_label(unit), columns.room_label(room))
            self.households[building_id].setdefault(key, household)


class _PlannerStatistics:
    """On PostgreSQL, ANALYZE the tables an import grows each time it has doubled them.

    The planner takes row counts from the last ANALYZE. Into tables it believes empty (a
    new deployment, a new district), the foreign-key check of every new resident's
    household and the look-up of known residents by ID hash turn into sequential scans,
    and a 100,000-row import slows a hundredfold long before autovacuum comes round.
    Doubling keeps it to a handful of ANALYZEs (each samples at most 30,000 rows).
    """

    TABLES = (Resident._meta.db_table, Household._meta.db_table)

    def __init__(self):
        self.on = connection.vendor == "postgresql"
        self.added = 0
        self.known = self._rows() if self.on else 0

    def _rows(self) -> float:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = %s::regclass",
                [self.TABLES[0]],
            )
            return cursor.fetchone()[0]

    def grew(self, rows: int) -> None:
        self.added += rows
        if not self.on or self.added < max(1000, self.known):
            return
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {', '.join(self.TABLES)}")
        self.known, self.added = self._rows(), 0


def _commit_without_waiting() -> None:
    """On PostgreSQL, let this transaction's COMMIT return before its WAL is on disk.

    A chunk's commit otherwise waits for a flush, a hundred times for a large roster.
    Nothing is risked: a crash loses at most the last chunks of an import that is then
    left "running" and is simply run again (imports are idempotent), and the import's
    last transaction (the job done, the audit record) commits normally, which flushes
    everything before it too.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _unchanged(resident: Resident, data, household: Household) -> bool:
    """Whether `resident_apply` would find nothing to change, without running it.

    Most rows of a re-imported roster are unchanged, and resident_apply spends its time
    on pinyin and encryption that would then be thrown away. A field added to COMPARED
    that this does not know makes it answer "maybe changed", and resident_apply decides.
    """
    after = {
        "name": data.name,
        "household_id": household.pk,
        "residency": data.residency,
        "tags": data.tags,
        "language": data.language,
        "treatment": data.treatment,
        "phone_hash": pii.lookup_hash("phone", data.phone) if data.phone else resident.phone_hash,
    }
    if not after.keys() >= set(COMPARED):
        return False
    if data.note and data.note != resident.note:
        return False
    return all(getattr(resident, f) == after[f] for f in COMPARED)


def _insert_residents(residents: list[Resident], now) -> None:
    """COPY on PostgreSQL, bulk_create elsewhere.

    A 1,000-row INSERT of 25 columns spends most of its time building and parsing SQL;
    COPY streams the values as they are.
    """
    if connection.vendor != "postgresql":
        Resident.objects.bulk_create(residents, batch_size=CHUNK_ROWS)
        return
    fields = [f for f in Resident._meta.concrete_fields if not f.primary_key]
    columns_sql = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"COPY {connection.ops.quote_name(Resident._meta.db_table)} ({columns_sql}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for resident in residents:
            resident.created_at = resident.updated_at = now
            copy.write_row([getattr(resident, f.attname) for f in fields])


def _count_fields(counts: Counter) -> dict[str, int]:
    return {k: counts.get(k, 0) for k in ("created", "updated", "unchanged", "rejected", "warned")}
