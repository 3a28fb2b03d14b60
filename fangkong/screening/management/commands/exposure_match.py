"""`fangkong exposure-match --scans S --cases C --out contacts.csv`: venue contacts of
cases from an epidemiologist's own files (docs/exposure.md)."""

import csv
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from fangkong.core.errors import DomainError
from fangkong.screening.analytics.conf import engine_name
from fangkong.screening.analytics.matching import MatchResult, match_files
from fangkong.screening.analytics.query import CompanionRule

CONTACT_HEADER = [
    "case_id",
    "person_id",
    "venue_code",
    "case_scanned_at",
    "contact_scanned_at",
    "minutes_apart",
]
SECOND_DEGREE_HEADER = ["degree", "via_person_id"]
COMPANION_HEADER = [
    "case_id",
    "person_id",
    "overlap_minutes",
    "first_together_at",
    "last_together_at",
]
# Bad rows listed on stderr; the rest are counted.
SHOWN_PROBLEMS = 50


class Command(BaseCommand):
    help = (
        "Find the venue contacts of cases: people who scanned in at a venue within the "
        "margin of a scan of the case there inside the case's window. Scans: "
        "person_id,venue_code,scanned_at (.csv or .parquet); cases: "
        "case_id,person_id,window_start,window_end (.csv). Bad rows are reported on "
        "stderr (file, row, field, reason) and left out; the rest are matched. The last "
        'line on stdout is {"cases": N, "contacts": N, "pairs": N, "seconds": S, '
        '"engine": "duckdb"}.'
    )

    def add_arguments(self, parser):
        parser.add_argument("--scans", type=Path, required=True, help="scans, .csv or .parquet")
        parser.add_argument("--cases", type=Path, required=True, help="cases, .csv or .parquet")
        parser.add_argument("--out", type=Path, required=True, help="contacts.csv to write")
        parser.add_argument(
            "--margin-minutes",
            type=_margin,
            default=Decimal(30),
            help="how far apart two scans at a venue may be, inclusive (default 30)",
        )
        parser.add_argument(
            "--engine",
            type=_engine,
            default=None,
            help="duckdb, spark (local mode on every core) or a Spark master URL such as "
            "local[2]; default: FANGKONG_ANALYTICS, else duckdb",
        )
        parser.add_argument(
            "--second-degree",
            action="store_true",
            help="also contacts of contacts; adds the columns degree,via_person_id",
        )
        parser.add_argument(
            "--pings", type=Path, help="location pings person_id,lat,lon,at for companions"
        )
        parser.add_argument(
            "--companions-out", type=Path, help="companions.csv to write (needs --pings)"
        )
        parser.add_argument("--cell-metres", type=int, default=800)
        parser.add_argument("--min-overlap-minutes", type=int, default=10)
        parser.add_argument("--look-back-days", type=int, default=14)

    def handle(self, *args, **o):
        if (o["pings"] is None) != (o["companions_out"] is None):
            raise CommandError("--pings and --companions-out go together")
        try:
            rule = CompanionRule(
                cell_metres=o["cell_metres"],
                min_overlap_minutes=o["min_overlap_minutes"],
                look_back_days=o["look_back_days"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        try:
            result = match_files(
                scans=o["scans"],
                cases=o["cases"],
                pings=o["pings"],
                margin_minutes=o["margin_minutes"],
                second_degree=o["second_degree"],
                companion_rule=rule,
                engine=o["engine"],
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        self._report(result)
        write_contacts(result, o["out"], second_degree=o["second_degree"])
        if o["companions_out"] is not None:
            write_companions(result, o["companions_out"])
            self.stdout.write(f"companions: {len(result.companions)} → {o['companions_out']}")
        summary = {
            "cases": result.cases,
            "contacts": result.people,
            "pairs": len(result.contacts),
            "seconds": round(result.seconds, 3),
            "engine": result.engine.split(":")[0],
        }
        self.stdout.write(json.dumps(summary))

    def _report(self, result: MatchResult) -> None:
        shown = 0
        for loaded in result.inputs:
            for problem in loaded.problems:
                if shown < SHOWN_PROBLEMS:
                    self.stderr.write(str(problem))
                shown += 1
        skipped = sum(loaded.bad_rows for loaded in result.inputs)
        if shown > SHOWN_PROBLEMS:
            self.stderr.write(
                f"… 另有 {skipped - SHOWN_PROBLEMS} 行 / … and {skipped - SHOWN_PROBLEMS} more rows"
            )
        read = ", ".join(
            f"{x.file}: {x.rows} rows read, {x.bad_rows} left out" for x in result.inputs
        )
        self.stdout.write(read)


def write_contacts(result: MatchResult, path: Path, *, second_degree: bool = False) -> None:
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CONTACT_HEADER + (SECOND_DEGREE_HEADER if second_degree else []))
        for c in result.contacts:
            row: list[object] = [
                c.case_id,
                c.person_id,
                c.venue_code,
                c.case_scanned_at.isoformat(),
                c.contact_scanned_at.isoformat(),
                str(c.minutes_apart),
            ]
            if second_degree:
                row += [c.degree, c.via_person_id or ""]
            writer.writerow(row)


def write_companions(result: MatchResult, path: Path) -> None:
    from fangkong.screening.analytics.engines import utc_from_us

    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COMPANION_HEADER)
        for c in result.companions:
            writer.writerow(
                [
                    c.case_id,
                    c.person_id,
                    str(c.overlap_minutes),
                    utc_from_us(c.first_us).isoformat(),
                    utc_from_us(c.last_us).isoformat(),
                ]
            )


def _margin(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite() or not 0 <= value <= 7 * 24 * 60:
        raise ValueError(text)
    return value


def _engine(text: str) -> str:
    from django.core.exceptions import ImproperlyConfigured

    try:
        return engine_name(text)
    except ImproperlyConfigured as exc:
        raise ValueError(str(exc)) from None
