import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Serve the demo the simple way: the background task worker (db_worker) and a web "
        "server on http://HOST:PORT, both stopped by Ctrl-C. Static files are served by "
        "whitenoise (collected first if they are not). For production use `make serve`."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host, port, **options):
        if not (settings.STATIC_ROOT / "fangkong" / "app.css").exists():
            call_command("collectstatic", interactive=False, verbosity=0)
        if host not in settings.ALLOWED_HOSTS and host not in ("0.0.0.0", "::"):
            self.stderr.write(
                f"Note: {host} is not in FANGKONG_ALLOWED_HOSTS; requests may get 400."
            )
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE}
        worker = subprocess.Popen([sys.executable, "-m", "fangkong", "db_worker"], env=env)
        # Ctrl-C raises KeyboardInterrupt even when started in the background (where
        # SIGINT comes ignored); a plain SIGTERM would end us without stopping the worker.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
        self.stdout.write(
            f"Fangkong demo at http://{host}:{port}/ (task worker pid {worker.pid}); "
            "`fangkong demo_logins` prints the logins. Ctrl-C stops both."
        )
        try:
            call_command("runserver", f"{host}:{port}", use_reloader=False, skip_checks=True)
        finally:
            _stop(worker)
            self.stdout.write("Stopped the web server and the task worker.")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
