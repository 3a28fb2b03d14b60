import json
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from fangkong.workforce.allocation import allocate
from fangkong.workforce.allocation.files import (
    BadInput,
    RowError,
    parse_seats,
    parse_workers,
    write_assignment,
    write_unfilled,
)


class Command(BaseCommand):
    help = (
        "Allocate workers to seats from CSV files: fill as many seats as possible and, of "
        "those fillings, the one of least total cost (distance in km + 3 a missing "
        "preferred skill + 0.01 × hours worked in the last 7 days). Writes seat_id,"
        "worker_id for the filled seats; the last line printed is "
        '{"filled": N, "cost": X, "seconds": S}. See docs/allocation.md.'
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--workers",
            type=Path,
            required=True,
            help="worker_id,lat,lon,skills,hours_7d (skills separated by ;)",
        )
        parser.add_argument(
            "--seats",
            type=Path,
            required=True,
            help="seat_id,request_id,lat,lon,required_skill,preferred_skill",
        )
        parser.add_argument("--out", type=Path, required=True, help="assignment CSV to write")
        parser.add_argument(
            "--unfilled",
            type=Path,
            help="also write seat_id,reason,with_skill,candidates for each unfilled seat",
        )
        parser.add_argument(
            "--skip-bad-rows",
            action="store_true",
            help="leave bad rows out (each reported on stderr) instead of stopping",
        )

    def handle(self, *args, workers, seats, out, unfilled, skip_bad_rows, **options):
        started = time.perf_counter()
        try:
            people, wanted, skipped = _read(workers, seats, skip_bad_rows)
        except BadInput as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(str(exc)) from None
        for error in skipped:
            self.stderr.write(f"{error}（已跳过 / skipped）")

        result = allocate(people, wanted)
        writes = [(out, lambda path: write_assignment(path, wanted, result.assignment))]
        if unfilled is not None:
            writes.append((unfilled, lambda path: write_unfilled(path, result.unfilled)))
        _write_atomically(writes)
        seconds = time.perf_counter() - started

        reasons = Counter(u.reason.value for u in result.unfilled)
        self.stdout.write(
            f"{result.filled} of {len(wanted)} seats filled from {len(people)} workers; "
            f"unfilled: {dict(reasons) or 0}"
            + (f"; {len(skipped)} bad rows skipped" if skipped else "")
        )
        self.stdout.write(
            json.dumps(
                {
                    "filled": result.filled,
                    "cost": round(result.cost, 6),
                    "seconds": round(seconds, 3),
                }
            )
        )


def _read(workers: Path, seats: Path, skip_bad_rows: bool):
    parsed = []
    for path, parse in ((workers, parse_workers), (seats, parse_seats)):
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise BadInput(
                [RowError("无法读取文件", f"cannot read the file ({exc.strerror})", file=str(path))]
            ) from None
        parsed.append(parse(raw, path.name))
    errors = [e for p in parsed for e in p.errors]
    if errors and not skip_bad_rows:
        raise BadInput(errors)
    return parsed[0].items, parsed[1].items, errors


def _write_atomically(writes) -> None:
    """Write each file beside its path, then rename them all: a failure never leaves half
    a file, nor one file of two."""
    done: list[tuple[Path, Path]] = []
    try:
        for path, write in writes:
            directory = path.resolve().parent
            if not directory.is_dir():
                raise CommandError(f"目录不存在：{directory} / no such directory: {directory}")
            fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
            os.close(fd)
            done.append((Path(tmp_name), path))
            write(Path(tmp_name))
        for tmp, path in done:
            os.replace(tmp, path)
    finally:
        for tmp, _ in done:
            tmp.unlink(missing_ok=True)
