"""Venue scans stored for analytics: append-only Parquet, partitioned by day.

Layout under `FANGKONG_ANALYTICS_DIR` (analytics_conf().scans_dir):

    scans/day=2026-11-20/b-<batch>-0.parquet   person_key, venue_code, scanned_at
    scans/_batches/<ab>/<batch>.json           one manifest per batch, by client id
    scans/_staging/<batch>/                    a batch being written (never read)

- `person_key` is the keyed hash of the person's identity document, the same value as
  `Resident.id_hash` (`pii.lookup_hash("ID:<type>", number)`): 40 hex characters. A
  plain ID number is never stored: rows that arrive with one are hashed on the way in,
  and a `person_key` that is not 40 hex characters is refused.
- `scanned_at` is a UTC timestamp (microseconds); the partition `day` is its UTC date.
- Names, phone numbers and document numbers never go to the store. A row may carry a
  person's details (`name`, `phone`, with the `id_number` its key is made from) for
  someone who may be on no roster: they are checked by the roster's rules and handed
  back as `Identity` rows (`Checked.identities`, or the `identities` callback of a file
  import) for the screening app to keep encrypted (`ScanIdentity`).
- Each file is sorted by venue and time, so a reader skips row groups by their
  statistics.
- A batch is idempotent by its client id: `<batch>` is a hash of the client id, its
  files carry it in their names, and its manifest is written last. Replaying a batch
  whose manifest exists changes nothing (the same content answers with the first
  outcome; different content under the same client id is a `Conflict`). A batch that
  crashed before its manifest is written again in full on retry, over the same names.
"""

import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa
from django.utils import timezone

from fangkong.core import idnumbers, pii
from fangkong.core.errors import Conflict, DomainError
from fangkong.core.phones import mask_phone, normalize_phone
from fangkong.core.text import clean_name

from .conf import AnalyticsConf, analytics_conf
from .engines import DuckDBEngine, us_from_datetime
from .files import MAX_PROBLEMS, Loaded, RowProblem, columns_of, load_scans_for_store

KEY = re.compile(r"^[0-9a-f]{40}$")
MAX_CLIENT_ID = 200
MAX_NAME = 100
# Said after a problem with a row's details: the scan itself was stored.
DETAILS_LEFT_OUT = ("（扫码已保存，身份信息未保存）", " (the scan is stored, its details are not)")


def person_key(id_type: str, id_number: str) -> str:
    """The stored key of a person: the keyed hash of their checked ID number. Raises
    `idnumbers.IdNumberError` (bilingual) for a number that fails its checks."""
    doc = idnumbers.parse(id_type, id_number)
    return pii.lookup_hash(f"ID:{doc.type}", doc.number)


@dataclass
class BatchOutcome:
    client_id: str
    rows: int
    bad_rows: int
    days: list[str]
    replayed: bool = False
    problems: list[RowProblem] = field(default_factory=list)


@dataclass(frozen=True)
class ScanIn:
    """One scan as the place-code system sends it: a person key, or an ID number to
    hash (id_type defaults to the mainland card); with an ID number, optionally the
    person's name and phone, for someone who may be on no roster."""

    venue_code: str
    scanned_at: dt.datetime | None  # None: the row is refused (a time with its zone)
    person_key: str = ""
    id_number: str = ""
    id_type: str = idnumbers.IdType.MAINLAND
    name: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Identity:
    """A person's details as one scan row gave them, checked: the document (normalised
    number), the name, the phone ('' if none), and where and when they scanned in."""

    row: int
    person_key: str
    id_type: str
    id_number: str
    name: str
    phone: str
    venue_code: str
    at_us: int

    @property
    def id_masked(self) -> str:
        return idnumbers.mask(self.id_number)

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone) if self.phone else ""

    @property
    def details_hash(self) -> str:
        """A keyed hash of the details: equal for a replay, not for new details."""
        return pii.lookup_hash("scan-details", f"{self.name}|{self.phone}|{self.person_key}")


@dataclass
class Checked:
    """A batch checked row by row: the good rows (person key, venue, UTC microseconds)
    in a canonical order, their JSON (`payload`, what a staged batch keeps) and its
    digest (what tells a replay from another batch under the same client id), the
    days they fall on, the bad rows by number and field, and the details of people that
    rows carried (never in the payload)."""

    rows: list[tuple[str, str, int]]
    payload: bytes
    digest: str
    days: list[str]
    bad_rows: int
    problems: list[RowProblem]
    identities: list[Identity] = field(default_factory=list)


def scans_check(scans: Sequence[ScanIn]) -> Checked:
    """Check a batch of scans (from the API). Bad rows are reported by their number in
    the batch (1 = first) and field, in Chinese and English, and left out."""
    rows, problems, identities, refused = [], [], [], set()
    for number, scan in enumerate(scans, start=1):
        found, said, identity = _check_scan(number, scan)
        problems += said
        if found is None:
            refused.add(number)
        else:
            rows.append(found)
        if identity is not None:
            identities.append(identity)
    rows.sort()
    payload = json.dumps(rows).encode()  # the digest a manifest keeps, as before
    digest = hashlib.sha256(payload)
    if identities:  # other details under the same client id are another batch
        keyed = [(i.details_hash, i.venue_code, i.at_us) for i in identities]
        digest.update(pii.lookup_hash("scan-batch", json.dumps(keyed)).encode())
    epoch = dt.date(1970, 1, 1)
    days = sorted(
        str(epoch + dt.timedelta(days=d)) for d in {at // 86_400_000_000 for *_, at in rows}
    )
    return Checked(
        rows, payload, digest.hexdigest(), days, len(refused), problems[:MAX_PROBLEMS], identities
    )


def payload_rows(payload: bytes) -> list[tuple[str, str, int]]:
    """The rows of a checked batch's payload."""
    return [tuple(r) for r in json.loads(payload)]


def scans_append(
    *, client_id: str, scans: Sequence[ScanIn], conf: AnalyticsConf | None = None
) -> BatchOutcome:
    """Store one batch of scans straight into the Parquet files (a file a batch: for
    tests and small loads; the API stages batches in the database and `scans_write`
    writes them in bulk). Bad rows are reported by their number in the batch (1 =
    first) and field, and left out; the rest are stored."""
    client_id = _client_id(client_id)
    checked = scans_check(scans)
    return _write(client_id, checked.rows, checked.digest, checked.bad_rows, checked.problems, conf)


def scans_write(
    *, name: str, rows: Sequence[tuple[str, str, int]], conf: AnalyticsConf | None = None
) -> BatchOutcome:
    """Write many checked rows (person key, venue, UTC microseconds; staged batches
    flushed together) under one batch `name`, in files by day. Idempotent by `name`:
    written again after a crash, the same name leaves the rows stored once."""
    return _write(name, rows, f"name:{name}", 0, [], conf)


def _write(client_id, rows, digest, bad, problems, conf) -> BatchOutcome:
    conf = conf or analytics_conf()
    keys, venues, times = zip(*rows, strict=True) if rows else ((), (), ())
    table = pa.table(
        {
            "person_key": pa.array(keys, pa.string()),
            "venue_code": pa.array(venues, pa.string()),
            "at_us": pa.array(times, pa.int64()),
        }
    )
    with _engine(conf) as duck:
        duck.con.register("batch_rows", table)
        duck.con.execute("CREATE OR REPLACE TEMP TABLE batch AS SELECT * FROM batch_rows")
        return _commit(duck, conf, client_id, digest, "batch", bad, problems)


IdentitySink = Callable[[list[Identity]], object]


def scans_import_file(
    *,
    path: Path,
    client_id: str | None = None,
    conf: AnalyticsConf | None = None,
    identities: IdentitySink | None = None,
) -> BatchOutcome:
    """Store a file of scans (CSV or Parquet, millions of rows): columns venue_code,
    scanned_at, and person_key or id_number (with id_type, name and phone, optional).
    Without a client id the file's content is its id, so importing the same file twice
    stores it once (and the second time reads nothing). The details of people the rows
    carry are handed to `identities` a few thousand at a time, never stored here."""
    conf = conf or analytics_conf()
    digest = _file_digest(path) if path.is_file() else ""
    client_id = _client_id(client_id or f"file:{digest}")
    done = _stored(conf, client_id, digest) if digest else None
    if done is not None:
        return done
    with _engine(conf) as duck:
        names = columns_of(duck.con, path)
        by_number = "person_key" not in names and "id_number" in names
        loaded = load_scans_for_store(duck.con, path, by_id_number=by_number, table="in_store")
        problems = list(loaded.problems)
        bad = loaded.bad_rows
        if by_number:
            keyed = _hash_ids(duck, loaded, problems, identities)
            bad += keyed
        duck.con.execute(
            "CREATE OR REPLACE TEMP TABLE batch AS "
            "SELECT person_key, venue_code, at_us FROM in_store WHERE person_key IS NOT NULL"
        )
        problems.sort(key=lambda p: p.row)
        return _commit(duck, conf, client_id, digest, "batch", bad, problems[:MAX_PROBLEMS])


def stored_days(conf: AnalyticsConf | None = None) -> list[str]:
    conf = conf or analytics_conf()
    if not conf.scans_dir.is_dir():
        return []
    return sorted(p.name.removeprefix("day=") for p in conf.scans_dir.glob("day=*") if p.is_dir())


# Inside ------------------------------------------------------------------------------


def details_checked(
    file: str, row: int, *, has_number: bool, name: object, phone: object
) -> tuple[str, str, list[RowProblem]]:
    """A row's optional details (name, phone) by the roster's rules: (name, phone, []),
    or the problems that keep them out (the scan itself still goes in). A phone needs a
    name, and details need the document number they belong to."""
    name_text, problems = clean_name(name), []

    def bad(field_name: str, zh: str, en: str):
        problems.append(
            RowProblem(
                file, row, field_name, "", zh + DETAILS_LEFT_OUT[0], en + DETAILS_LEFT_OUT[1]
            )
        )

    try:
        phone_text = normalize_phone(phone)
    except idnumbers.IdNumberError as exc:
        bad("phone", exc.zh, exc.en)
        phone_text = ""
    if not (name_text or phone_text or problems):
        return "", "", []
    if not has_number:
        bad(
            "id_number",
            "填写姓名或电话时须同时提供证件号码",
            "a name or phone needs the document number too",
        )
    if not name_text:
        bad("name", "填写电话时须同时填写姓名", "a phone needs a name too")
    elif len(name_text) > MAX_NAME:
        bad("name", f"超过 {MAX_NAME} 个字符", f"is longer than {MAX_NAME} characters")
    return name_text, phone_text, problems


def _check_scan(number: int, scan: ScanIn):
    """(row or None when refused, problems, identity or None) of one scan."""
    problems = []

    def bad(field_name: str, zh: str, en: str):
        problems.append(RowProblem("batch", number, field_name, "", zh, en))

    venue = (scan.venue_code or "").strip()
    if not venue:
        bad("venue_code", "必填，不能为空", "is required")
    elif len(venue) > 128:
        bad("venue_code", "超过 128 个字符", "is longer than 128 characters")
    when = scan.scanned_at
    if not isinstance(when, dt.datetime) or timezone.is_naive(when):
        bad("scanned_at", "须为带时区的时间", "must be a time with its zone")
    key = (scan.person_key or "").strip().lower()
    doc = None
    if scan.id_number:
        try:
            doc = idnumbers.parse(scan.id_type, scan.id_number)
            key = pii.lookup_hash(f"ID:{doc.type}", doc.number)
        except idnumbers.IdNumberError as exc:
            bad("id_number", exc.zh, exc.en)
    elif not KEY.match(key):
        bad("person_key", "须为 40 位十六进制的人员键", "must be a person key of 40 hex characters")
    if problems or when is None:  # (no time is a problem already)
        return None, problems, None
    at_us = us_from_datetime(when)
    if not (scan.name or scan.phone):
        return (key, venue, at_us), [], None
    name, phone, said = details_checked(
        "batch", number, has_number=doc is not None, name=scan.name, phone=scan.phone
    )
    if said or doc is None:
        return (key, venue, at_us), said, None
    return (
        (key, venue, at_us),
        [],
        Identity(number, key, doc.type, doc.number, name, phone, venue, at_us),
    )


def _hash_ids(
    duck: DuckDBEngine, loaded: Loaded, problems: list, identities: IdentitySink | None
) -> int:
    """Replace `id_number` by its person key, in Arrow batches; rows whose number fails
    its checks are reported and get no key. Returns how many. Rows with a name or phone
    (columns `name`, `phone`) give their checked details to `identities`, a batch at a
    time; details that fail their checks are reported and left out, the scan kept."""
    reader = duck.con.sql(
        "SELECT rec, id_type, id_number, name, phone, venue_code, at_us FROM in_store"
    ).to_arrow_reader()
    recs: list[int] = []
    keys: list[str | None] = []
    failed = 0
    for batch in reader:
        found: list[Identity] = []
        columns = (c.to_pylist() for c in batch.columns)
        for rec, id_type, number, name, phone, venue, at_us in zip(*columns, strict=True):
            try:
                doc = idnumbers.parse(id_type or idnumbers.IdType.MAINLAND, number)
                key = pii.lookup_hash(f"ID:{doc.type}", doc.number)
            except idnumbers.IdNumberError as exc:
                key = None
                failed += 1
                if len(problems) < MAX_PROBLEMS:
                    row = loaded.row_of(rec)
                    problems.append(RowProblem(loaded.file, row, "id_number", "", exc.zh, exc.en))
            keys.append(key)
            recs.append(rec)
            if key is None or not (name or phone):
                continue
            row = loaded.row_of(rec)
            name, phone, said = details_checked(
                loaded.file, row, has_number=True, name=name, phone=phone
            )
            if said:
                problems += said[: max(0, MAX_PROBLEMS - len(problems))]
            else:
                found.append(Identity(row, key, doc.type, doc.number, name, phone, venue, at_us))
        if found and identities is not None:
            identities(found)
    hashed = pa.table(
        {"rec": pa.array(recs, pa.int64()), "person_key": pa.array(keys, pa.string())}
    )
    duck.con.register("hashed", hashed)
    duck.con.execute(
        "CREATE OR REPLACE TEMP TABLE in_store AS "
        "SELECT s.*, h.person_key FROM in_store s JOIN hashed h USING (rec)"
    )
    return failed


def _manifest(conf: AnalyticsConf, client_id: str) -> tuple[str, Path]:
    batch = hashlib.sha256(client_id.encode()).hexdigest()[:32]
    return batch, conf.scans_dir / "_batches" / batch[:2] / f"{batch}.json"


def _stored(conf: AnalyticsConf, client_id: str, digest: str) -> BatchOutcome | None:
    """The first outcome of a batch stored already with this content (a replay: nothing
    need be read), or None (not stored, or other content: `_commit` decides)."""
    _batch, manifest = _manifest(conf, client_id)
    if not manifest.exists():
        return None
    done = json.loads(manifest.read_text())
    if done["digest"] != digest:
        return None
    return BatchOutcome(client_id, done["rows"], done["bad_rows"], done["days"], replayed=True)


def _commit(duck, conf, client_id, digest, table, bad, problems) -> BatchOutcome:
    batch, manifest = _manifest(conf, client_id)
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with _locked(manifest.with_suffix(".lock")):
        if manifest.exists():
            done = json.loads(manifest.read_text())
            if done["digest"] != digest:
                raise Conflict(
                    f"批次编号 {client_id} 已用于另一批扫码记录",
                    f"client id {client_id} was already used for another batch of scans",
                    field="client_id",
                )
            return BatchOutcome(
                client_id, done["rows"], done["bad_rows"], done["days"], replayed=True
            )
        staging = conf.scans_dir / "_staging" / batch
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        (rows,) = duck.con.execute(f"SELECT count(*) FROM {table}").fetchone()
        if rows:
            duck.con.execute(
                f"""
                COPY (
                  SELECT person_key, venue_code, make_timestamp(at_us)::TIMESTAMPTZ AS scanned_at,
                         CAST(make_timestamp(at_us) AS DATE) AS day
                  FROM {table} ORDER BY day, venue_code, at_us
                ) TO {_quote(str(staging))}
                (FORMAT parquet, PARTITION_BY (day), FILENAME_PATTERN 'b-{batch}-{{i}}',
                 COMPRESSION zstd)
                """
            )
        days = sorted(p.name.removeprefix("day=") for p in staging.glob("day=*"))
        for day in days:
            target = conf.scans_dir / f"day={day}"
            target.mkdir(exist_ok=True)
            for stale in target.glob(f"b-{batch}-*.parquet"):  # an earlier, crashed try
                stale.unlink()
            for part in sorted((staging / f"day={day}").glob("*.parquet")):
                os.replace(part, target / part.name)
        outcome = BatchOutcome(client_id, rows, bad, days, problems=problems)
        record = {k: v for k, v in asdict(outcome).items() if k != "problems"}
        record |= {"digest": digest, "stored_at": timezone.now().isoformat()}
        _write_atomically(manifest, json.dumps(record))
        shutil.rmtree(staging, ignore_errors=True)
        return outcome


@contextmanager
def _engine(conf: AnalyticsConf):
    duck = DuckDBEngine(conf)
    try:
        yield duck
    finally:
        duck.close()


@contextmanager
def _locked(path: Path):
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_atomically(path: Path, text: str) -> None:
    temp = path.with_suffix(".tmp")
    with open(temp, "w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, path)


def client_id_checked(value: str | None) -> str:
    """A batch's client id, stripped, or a bilingual `DomainError`."""
    return _client_id(value)


def _client_id(value: str | None) -> str:
    value = (value or "").strip()
    if not value or len(value) > MAX_CLIENT_ID:
        raise DomainError(
            f"批次编号必填，且不超过 {MAX_CLIENT_ID} 个字符",
            f"a client id is required, at most {MAX_CLIENT_ID} characters",
            field="client_id",
        )
    return value


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
