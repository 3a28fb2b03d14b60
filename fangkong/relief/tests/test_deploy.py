"""The relief watch runs every minute in a deployment: deploy/systemd holds a timer and
a service that run `fangkong relief_watch`, and docs/operations.md says so."""

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[3]
UNITS = ROOT / "deploy" / "systemd"
EVERY_MINUTE = {"minutely", "*:*:00", "*-*-* *:*:00"}


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd's keys are case-sensitive
    parser.read_string((UNITS / name).read_text())
    return parser


def test_a_timer_starts_the_relief_watch_every_minute():
    timer = unit("fangkong-relief-watch.timer")
    assert timer["Timer"]["OnCalendar"] in EVERY_MINUTE
    assert timer["Timer"]["Unit"] == "fangkong-relief-watch.service"
    assert timer["Install"]["WantedBy"] == "timers.target"
    service = unit("fangkong-relief-watch.service")["Service"]
    assert service["Type"] == "oneshot"  # never a second pass while one runs
    program, command = service["ExecStart"].split()
    assert program.endswith("/fangkong") and command == "relief_watch"
    assert command in get_commands()
    assert service["WorkingDirectory"] == str(Path(program).parent.parent.parent)


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="no systemd-analyze")
def test_systemd_reads_the_every_minute_calendar():
    spec = unit("fangkong-relief-watch.timer")["Timer"]["OnCalendar"]
    out = subprocess.run(
        ["systemd-analyze", "calendar", spec], capture_output=True, text=True, check=True
    ).stdout
    assert "Normalized form: *-*-* *:*:00" in out


def test_the_operations_guide_names_the_units():
    guide = (ROOT / "docs" / "operations.md").read_text()
    assert "fangkong relief_watch" in guide
    assert "deploy/systemd/fangkong-relief-watch.timer" in guide
