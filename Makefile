# Fangkong: `make demo` to try it, `make test` to check it.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RESIDENTS ?= 20000
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: env install demo test test-spark e2e lint format serve worker migrate messages clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Secrets for this checkout, never committed: made on first use; a key added to the
# project later is appended to an existing .env, and keys already there never change.
env:
	@$(PYTHON) scripts/make_env.py --fill .env

install: $(STAMP) env

migrate: install
	$(BIN)/fangkong migrate --noinput

# Translations: the compiled .mo files are committed, so no gettext is needed to run.
messages: install
	cd fangkong && ../$(BIN)/fangkong makemessages -l zh_Hans --no-obsolete -v 0
	cd fangkong && ../$(BIN)/fangkong compilemessages -v 0

# The demo: a district of $(RESIDENTS) residents in SQLite and every app's demo data
# (`fangkong demo` runs the steps each app declares; re-running keeps what is there), served with the task worker at http://$(HOST):$(PORT) until Ctrl-C. The random
# demo passwords are in .demo-logins (git-ignored); `fangkong demo_logins` prints them.
demo: migrate
	$(BIN)/fangkong collectstatic --noinput -v 0
	$(BIN)/fangkong demo --residents $(RESIDENTS)
	@$(BIN)/fangkong demo_logins
	$(BIN)/fangkong run_demo --host $(HOST) --port $(PORT)

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy
	$(BIN)/fangkong makemigrations --check --dry-run -v 0
	$(BIN)/pytest -q -n 2 -m "not e2e and not spark"

# Exposure matching on Apache Spark in local mode (slow: a JVM; needs Java 17). Installs the
# `spark` extra (pyspark, ~450 MB) into the same virtual environment.
test-spark: install
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	$(BIN)/pytest -q -p no:xdist -m spark fangkong

e2e: install
	$(BIN)/fangkong collectstatic --noinput -v 0
	DJANGO_ALLOW_ASYNC_UNSAFE=true $(BIN)/pytest -q -p no:xdist -m e2e fangkong $(wildcard e2e)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Production: gunicorn as deploy/gunicorn.conf.py says (FANGKONG_BIND, default
# 127.0.0.1:8000; FANGKONG_WEB_WORKERS, default two a core), behind a TLS proxy, with
# `make worker` running beside it.
serve: migrate
	$(BIN)/fangkong collectstatic --noinput -v 0
	$(BIN)/gunicorn fangkong.wsgi -c deploy/gunicorn.conf.py

worker: install
	$(BIN)/fangkong db_worker

clean:
	rm -rf $(VENV) staticfiles fangkong.sqlite3*
