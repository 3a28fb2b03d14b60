"""Import 1,000,000 tube results with 0.1 % positives and raise all recalls, on PostgreSQL.

    .venv/bin/python bench/results.py [--tubes 1000000] [--database-url URL] [--retry]

Target: under 60 s for the import (reading the CSV, checking every row, storing every
result, raising every recall, the tallies), through the same path as the labs' upload
page: `files.checked_rows` (`read_table`, `clean_row`) → `services.results_import` →
`services.upload_finish`.

What it builds first (not timed), in its own database (dropped and made anew):
a district of 10 communities × 10 compounds × 10 buildings, one sampling site with one
channel per compound, one round, and N sealed 10-person tubes spread over the sites.
The 0.1 % of tubes that will be positive hold their full membership: 10 residents each,
real `Sample` rows, so every recall is a real one (N/100 recalls). The other tubes carry
`sample_count = 10` but no sample rows: a negative result reads no samples, so the rows
would only cost set-up time (10 million of them), not import time.
"""

import argparse
import datetime as dt
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_probe  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/fk_results"
TARGET_S = 60
POSITIVE_EVERY = 1000  # 0.1 %


def machine() -> str:
    model = platform.processor() or "?"
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    return f"{model}, {os.cpu_count()} cores"


def backend_cpu() -> float:
    """CPU seconds of this connection's PostgreSQL backend so far (from /proc)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def fresh_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def build(tubes: int):
    """The district, sites, round, tubes and the positive tubes' members. Returns the lab."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from fangkong.accounts.models import Role, User
    from fangkong.areas.models import Area, Household, Level
    from fangkong.people.models import Resident
    from fangkong.testing.models import Channel, RoundArea, Sample, SamplingSite, TestingRound, Tube

    call_command("migrate", verbosity=0)
    now = dt.datetime.now(dt.UTC)
    with transaction.atomic():
        district = Area.objects.create(code="431102", name="零陵区", level=Level.DISTRICT)
        street = Area.objects.create(
            code="431102001", name="街道", level=Level.STREET, parent=district
        )
        buildings, sites = [], []
        for c in range(10):
            community = Area.objects.create(
                code=f"{street.code}{c + 1:03d}",
                name=f"社区{c}",
                level=Level.COMMUNITY,
                parent=street,
            )
            for p in range(10):
                compound = Area.objects.create(
                    code=f"{community.code}{p + 1:03d}",
                    name=f"小区{p}",
                    level=Level.COMPOUND,
                    parent=community,
                )
                site = SamplingSite.objects.create(area=compound, name=f"采样点{c}-{p}")
                sites.append((site, Channel.objects.create(site=site, name="1号")))
                for b in range(10):
                    buildings.append(
                        Area(
                            code=f"{compound.code}{b + 1:03d}",
                            name=f"{b + 1}号楼",
                            level=Level.BUILDING,
                            parent=compound,
                        )
                    )
        Area.objects.bulk_create(buildings)
        households = Household.objects.bulk_create(
            [Household(building=b, area_code=b.code, unit="1", room="101") for b in buildings]
        )
        rnd = TestingRound.objects.create(
            name="基准轮次",
            starts_at=now - dt.timedelta(hours=20),
            deadline=now + dt.timedelta(hours=4),
        )
        RoundArea.objects.create(round=rnd, area=district, area_code=district.code)
        lab = User.objects.create_user(
            "bench_lab", password="pw", role=Role.LAB, display_name="基准检测机构"
        )
        lab.areas.set([district])

    # Tubes: one INSERT … SELECT generate_series; columns from the model, so a column the
    # testing app adds later gets its default.
    sealed = now - dt.timedelta(hours=6)
    site_ids = [(s.pk, ch.pk, s.area_code) for s, ch in sites]
    given = {
        "barcode": "'B' || lpad(i::text, 9, '0')",
        "round_id": str(rnd.pk),
        "site_id": f"(ARRAY{[s for s, _, _ in site_ids]}::bigint[])[1 + i %% {len(site_ids)}]",
        "channel_id": f"(ARRAY{[c for _, c, _ in site_ids]}::bigint[])[1 + i %% {len(site_ids)}]",
        "area_code": f"(ARRAY{[a for _, _, a in site_ids]}::text[])[1 + i %% {len(site_ids)}]",
        "pool_size": "10",
        "sample_count": "10",
        "opened_at": "%(opened)s",
        "sealed_at": "%(sealed)s",
        "created_at": "%(opened)s",
    }
    columns, exprs, params = [], [], {"opened": sealed - dt.timedelta(minutes=10), "sealed": sealed}
    for field in Tube._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.column in given:
            exprs.append(given[field.column])
        elif field.null:
            exprs.append("NULL")
        else:
            name = f"d_{field.column}"
            params[name] = field.get_db_prep_save(field.get_default(), connection)
            exprs.append(f"%({name})s")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Tube._meta.db_table} ({', '.join(columns)}) "
            f"SELECT {', '.join(exprs)} FROM generate_series(0, {tubes - 1}) AS i",
            params,
        )
    # The positive tubes' members: 10 residents each, one household per tube.
    positive = list(
        Tube.objects.filter(barcode__in=[f"B{i:09d}" for i in range(0, tubes, POSITIVE_EVERY)])
        .order_by("id")
        .values_list("id", "site_id", "channel_id")
    )
    with transaction.atomic():
        residents = []
        for n, _ in enumerate(positive):
            home = households[n % len(households)]
            for m in range(10):
                k = n * 10 + m
                residents.append(
                    Resident(
                        name=f"居民{k}",
                        name_pinyin="jumin",
                        name_initials="jm",
                        id_cipher=b"",
                        id_hash=f"bench{k}",
                        id_tail=f"{k % 10000:04d}",
                        id_masked="4311**********0000",
                        household=home,
                        area_code=home.area_code,
                    )
                )
        residents = Resident.objects.bulk_create(residents, batch_size=5000)
        samples = []
        for n, (tube_id, site_id, channel_id) in enumerate(positive):
            for m in range(10):
                person = residents[n * 10 + m]
                samples.append(
                    Sample(
                        client_id=f"bench-{tube_id}-{m}",
                        round=rnd,
                        tube_id=tube_id,
                        resident=person,
                        area_code=person.area_code,
                        at=sealed - dt.timedelta(minutes=5),
                        site_id=site_id,
                        channel_id=channel_id,
                    )
                )
        Sample.objects.bulk_create(samples, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        # The set-up's writes are flushed now, not during the timed import.
        cursor.execute("CHECKPOINT")
    return lab


def write_csv(path: Path, tubes: int) -> None:
    start = dt.datetime.now() - dt.timedelta(hours=2)
    with path.open("w", encoding="utf-8") as f:
        f.write("试管条码,检测结果,检测时间,检测机构\n")
        for i in range(tubes):
            result = "阳性" if i % POSITIVE_EVERY == 0 else "阴性"
            tested = (start + dt.timedelta(seconds=i % 3600)).strftime("%Y-%m-%d %H:%M:%S")
            f.write(f"B{i:09d},{result},{tested},基准检测机构\n")


def import_file(lab, path: Path):
    from django.utils import timezone

    from fangkong.labs import services
    from fangkong.labs.files import checked_rows
    from fangkong.labs.models import ResultUpload

    data = path.read_bytes()
    upload = ResultUpload.objects.create(lab=lab, source="file", file_name=path.name)
    names, now = services.lab_names(lab), timezone.now()
    rows = checked_rows(data, path.name, lab_names=names, now=now)
    outcome = services.results_import(actor=lab, rows=rows, upload=upload)
    services.upload_finish(actor=lab, upload=upload, outcome=outcome)
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tubes", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_RESULTS_URL", DEFAULT_URL))
    parser.add_argument("--retry", action="store_true", help="then import the same file again")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    fresh_database(args.database_url)
    setup_django(args.database_url)
    started = time.perf_counter()
    lab = build(args.tubes)
    path = OUT / f"results-{args.tubes}.csv"
    write_csv(path, args.tubes)
    print(f"set-up: {args.tubes:,} tubes, {time.perf_counter() - started:.1f} s (not timed)")

    from fangkong.labs.models import Recall

    probe, load = cpu_probe(), os.getloadavg()[0]
    cpu_py, cpu_pg = own_cpu(), backend_cpu()
    started = time.perf_counter()
    outcome = import_file(lab, path)
    seconds = time.perf_counter() - started
    cpu_py, cpu_pg = own_cpu() - cpu_py, backend_cpu() - cpu_pg
    recalls = Recall.objects.count()
    print(
        f"import: {outcome.rows:,} rows, {outcome.created:,} stored, {outcome.rejected:,} refused, "
        f"{outcome.recalls:,} recalls raised ({recalls:,} in the table) in {seconds:.1f} s "
        f"({outcome.rows / seconds:,.0f} rows/s); target {TARGET_S} s: "
        f"{'met' if seconds < TARGET_S else 'MISSED'}; CPU: {cpu_py:.1f} s in this process "
        f"(reading, checking, its threads), {cpu_pg:.1f} s in the PostgreSQL backend"
    )
    if args.retry:
        started = time.perf_counter()
        again = import_file(lab, path)
        print(
            f"retry of the same file: {again.unchanged:,} unchanged, {again.created:,} stored, "
            f"{again.recalls:,} recalls in {time.perf_counter() - started:.1f} s"
        )
    print(
        f"machine: {machine()}; {dt.date.today().isoformat()}; before the import: load average "
        f"{load:.1f}, CPU probe {probe:.2f} s, after: load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
