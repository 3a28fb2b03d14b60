"""`fangkong match_run CASE [--pings FILE] [--now]`: exposure matching for a confirmed
case over the stored scans, its contacts made into trace tasks, with the case's
time-space companions from a location-ping file on this machine (docs/screening.md)."""

import datetime as dt
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from fangkong.core.actors import command_line
from fangkong.core.errors import DomainError
from fangkong.screening import services
from fangkong.screening.models import MatchRun

# Bad ping rows listed on stderr (all are counted).
SHOWN_PROBLEMS = 50


def _when(text: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"not an ISO 8601 time: {text}") from None
    if when.tzinfo is None:
        raise CommandError(f"a time needs its offset (+08:00): {text}")
    return when


class Command(BaseCommand):
    help = (
        "Run exposure matching for a confirmed case (its id in the labs app) over the "
        "stored venue scans; its contacts become trace tasks. --pings FILE (CSV or "
        "Parquet: person_id,lat,lon,at, person ids being person keys) finds the case's "
        "time-space companions too, by the companion rule in force; the file is copied "
        "beside the scans in blocks, however large. Queued for the worker unless --now. "
        "Bad ping rows are listed on stderr by row and field. Prints the run as JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("case", type=int, help="the case's id")
        parser.add_argument("--pings", type=Path, default=None, help="a location-ping file")
        parser.add_argument("--window-start", type=_when, default=None)
        parser.add_argument("--window-end", type=_when, default=None)
        parser.add_argument(
            "--onset", type=_when, default=None, help="onset of symptoms (window from before it)"
        )
        parser.add_argument(
            "--now", action="store_true", help="run it in this process, not on the worker"
        )

    def handle(self, *args, case, pings, window_start, window_end, onset, now, **options):
        try:
            run = services.match_run_start(
                actor=command_line(),
                case_id=case,
                window_start=window_start,
                window_end=window_end,
                onset=onset,
                pings=pings,
                enqueue=not now,
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        if now:
            services.match_run_execute(run_id=run.pk)
        run = MatchRun.objects.get(pk=run.pk)
        for p in run.pings_problems[:SHOWN_PROBLEMS]:  # named by the file the user gave
            self.stderr.write(f"{pings.name} row {p['row']} {p['field']}: {p['zh']} / {p['en']}")
        self.stdout.write(
            json.dumps(
                {
                    "run": run.pk,
                    "case": run.case_id,
                    "status": run.status,
                    "contacts": run.contacts,
                    "companions": run.companions,
                    "tasks_created": run.tasks_created,
                    "tasks_merged": run.tasks_merged,
                    "registered": run.registered,
                    "unidentified": run.unknown,
                    "pings_read": run.pings_rows,
                    "pings_refused": run.pings_refused,
                    "error": run.error,
                },
                ensure_ascii=False,
            )
        )
        if run.status == "failed":
            raise CommandError(f"the match run failed: {run.error}")
