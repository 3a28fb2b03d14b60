"""Every periodic job has a systemd timer and a oneshot service in deploy/systemd, made
like the relief watch's pair, and docs/operations.md names each: a job whose command
says "run it every minute / every few minutes / nightly" is never left to memory."""

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class

ROOT = Path(__file__).resolve().parents[3]
UNITS = ROOT / "deploy" / "systemd"
# Command -> the calendar its help text asks for.
PERIODIC = {
    "relief_watch": "*-*-* *:*:00",
    "labs_refresh": "*-*-* *:*:00",
    "screening_watch": "*-*-* *:*:00",
    "workforce_watch": "*-*-* *:*:00",
    "roster_reap": "*-*-* *:00/5:00",
    "refresh_stats": "*-*-* 02:30:00",
    "prune_counters": "*-*-* 03:10:00",
}


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd's keys are case-sensitive
    parser.read_string((UNITS / name).read_text())
    return parser


def _name(command: str) -> str:
    return "fangkong-" + command.replace("_", "-")


def test_every_command_that_asks_to_be_run_periodically_has_a_timer():
    asks = set()
    for command, app in get_commands().items():
        if not app.startswith("fangkong"):
            continue
        try:
            text = load_command_class(app, command).help
        except (ImportError, AttributeError):
            continue
        if re.search(r"[Rr]un it (every|nightly)", text or ""):
            asks.add(command)
    assert asks == set(PERIODIC)


@pytest.mark.parametrize(("command", "calendar"), sorted(PERIODIC.items()))
def test_a_timer_and_a_oneshot_service_run_each_periodic_job(command, calendar):
    name = _name(command)
    timer = unit(f"{name}.timer")
    assert timer["Timer"]["OnCalendar"] == calendar
    assert timer["Timer"]["Unit"] == f"{name}.service"
    assert timer["Install"]["WantedBy"] == "timers.target"
    service = unit(f"{name}.service")["Service"]
    assert service["Type"] == "oneshot"  # never a second pass while one runs
    program, *args = service["ExecStart"].split()
    assert program == "/opt/fangkong/.venv/bin/fangkong" and args == [command]
    assert command in get_commands()
    assert service["WorkingDirectory"] == "/opt/fangkong"
    assert (service["User"], service["TimeoutStartSec"]) != ("root", "")


def test_no_unit_in_deploy_is_left_without_its_pair():
    names = {p.stem for p in UNITS.glob("*.timer")}
    assert names == {p.stem for p in UNITS.glob("*.service")}
    assert names == {_name(c) for c in PERIODIC}


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="no systemd-analyze")
def test_systemd_reads_every_calendar():
    for calendar in set(PERIODIC.values()):
        out = subprocess.run(
            ["systemd-analyze", "calendar", calendar], capture_output=True, text=True, check=True
        ).stdout
        assert f"Normalized form: {calendar}" in out


def test_the_operations_guide_names_every_timer():
    guide = (ROOT / "docs" / "operations.md").read_text()
    for command in PERIODIC:
        assert f"fangkong {command}" in guide
        assert f"deploy/systemd/{_name(command)}.timer" in guide
