"""gunicorn settings for serving Fangkong in production: `make serve`, or
`gunicorn fangkong.wsgi -c deploy/gunicorn.conf.py`. Every knob from the environment.

Put a TLS-terminating proxy (nginx) in front; set FANGKONG_BEHIND_TLS_PROXY=1 and
FANGKONG_SECURE_COOKIES=1 then. Run the task worker beside it (`make worker`).
"""

import multiprocessing
import os

wsgi_app = "fangkong.wsgi:application"
bind = os.environ.get("FANGKONG_BIND", "127.0.0.1:8000")
# Measured, not guessed (bench/gunicorn_layout.py, docs/benchmarks.md "gunicorn layout"):
# on 2 cores, uploads of one sealed tube through 2×2, 2×4, 3×4 and 4×4: 3 processes of
# 4 threads stored the most people a second at about the least CPU a person. One
# process more than cores keeps a core busy while another process waits on PostgreSQL;
# threads overlap the waits within a process (the upload gate admits 2 at a time each).
workers = int(os.environ.get("FANGKONG_WEB_WORKERS", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("FANGKONG_WEB_THREADS", 4))
worker_class = "gthread"
timeout = int(os.environ.get("FANGKONG_WEB_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow for ever.
max_requests = int(os.environ.get("FANGKONG_WEB_MAX_REQUESTS", 5000))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("FANGKONG_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("FANGKONG_LOG_LEVEL", "warning").lower()
# Load the app before forking: workers share its memory and start faster.
preload_app = True


def when_ready(server):
    """Import every view in the master, once, before the workers fork: loading the URL
    configuration (and the API's schemas) takes seconds, which each worker's first
    request, and each recycled worker's, would otherwise pay."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018


def post_worker_init(worker):
    """Let the upload endpoint's load shedding see the requests this worker has accepted
    that no thread has picked up yet (fangkong/testing/gate.py): with a few threads a
    process, that queue is where an overload piles up."""
    from fangkong.testing.gate import gunicorn_backlog, use_server_backlog

    use_server_backlog(gunicorn_backlog(worker))
