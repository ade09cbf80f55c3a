# Two commands for a new user: `make run` and `make test`. Nothing else needs installing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test install install-test worker beat lint migrate bench bench-smoke clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: requirements.lock | $(BIN)/python
	$(BIN)/pip install -q -r requirements.lock
	touch $@

$(VENV)/.installed-test: requirements-test.lock | $(BIN)/python
	$(BIN)/pip install -q -r requirements-test.lock
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## make run: the dashboard on http://127.0.0.1:8000 (SQLite, in-process tasks, local files unless DATABASE_URL/REDIS_URL are set)
run: install
	@mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver_beat 127.0.0.1:8000

## make test: the whole suite (PostgreSQL and Redis when they answer; see README)
test: install-test
	@bash scripts/ensure_chromium.sh
	$(BIN)/python scripts/run_tests.py

## make bench-smoke: every benchmark in bench/ at a smoke size (seconds each; CI runs it after the suite)
bench-smoke: install-test
	$(BIN)/python bench/smoke.py

worker: install
	$(BIN)/celery -A config worker -l info --concurrency 4

beat: install
	$(BIN)/celery -A config beat -l info

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run

migrate: install
	$(BIN)/python manage.py migrate --noinput

clean:
	rm -rf $(VENV) var .pytest_cache
