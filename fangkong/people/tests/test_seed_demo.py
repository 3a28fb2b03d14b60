"""Serving the demo: static files without DEBUG, and run_demo's two processes."""

import io
import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command

from fangkong.people.management.commands import run_demo


def test_static_files_the_pages_link_are_found_for_collectstatic(client):
    html = client.get("/accounts/login/").content.decode()
    linked = re.findall(r'(?:href|src)="/static/([^"?]+)"', html)
    assert "fangkong/app.css" in linked
    assert any("htmx" in path for path in linked)
    for path in linked:
        assert finders.find(path), path


class FakeWorker:
    pid = 4242

    def __init__(self, args, env):
        self.args = args
        self.env = env
        self.stopped = False

    def poll(self):
        return 0 if self.stopped else None

    def terminate(self):
        self.stopped = True

    def wait(self, timeout=None):
        return 0


def test_run_demo_starts_the_task_worker_and_stops_it_with_the_server(monkeypatch, settings):
    started = []

    def popen(args, env):
        started.append(FakeWorker(args, env))
        return started[-1]

    def runserver(name, *args, **options):
        if name == "collectstatic":
            return
        assert name == "runserver" and args == ("127.0.0.1:8123",)
        assert not options["use_reloader"]
        raise KeyboardInterrupt  # Ctrl-C

    monkeypatch.setattr(run_demo.subprocess, "Popen", popen)
    monkeypatch.setattr(run_demo, "call_command", runserver)
    monkeypatch.setattr(run_demo.signal, "signal", lambda *a: None)
    out = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        call_command("run_demo", port=8123, stdout=out)
    (worker,) = started
    assert worker.args[-1] == "db_worker"
    assert worker.env["DJANGO_SETTINGS_MODULE"] == settings.SETTINGS_MODULE
    assert worker.stopped
    assert "Stopped" in out.getvalue()


def test_seed_refuses_a_district_too_small_for_its_demo_users(db, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="at least 100"):
        call_command("seed", residents=50, logins_file=tmp_path / "x", stdout=io.StringIO())
    assert not (tmp_path / "x").exists()
