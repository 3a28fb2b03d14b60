"""gunicorn settings for serving Fangkong in production: `make serve`, or
`gunicorn fangkong.wsgi -c deploy/gunicorn.conf.py`. Every knob from the environment.

Put a TLS-terminating proxy (nginx) in front; set FANGKONG_BEHIND_TLS_PROXY=1 and
FANGKONG_SECURE_COOKIES=1 then. Run the task worker beside it (`make worker`).
"""

import multiprocessing
import os

wsgi_app = "fangkong.wsgi:application"
bind = os.environ.get("FANGKONG_BIND", "127.0.0.1:8000")
# Pages wait on PostgreSQL more than on Python: two processes a core, a few threads each.
workers = int(os.environ.get("FANGKONG_WEB_WORKERS", 2 * multiprocessing.cpu_count()))
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
