# Two commands for a new user: `make run` and `make test`. Nothing else needs installing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run demo-store test install install-test worker beat dispatcher lint migrate bench bench-smoke clean

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

## make demo-store: the project's Shopify fake on 127.0.0.1:8765 (DEMO_STORE_PORT) with a small catalog and a new
## order every few seconds; prints what to set before `make run` and what to type to connect it (README: first five minutes)
demo-store: install-test
	$(BIN)/python -m tests.fakes.shopify.demo

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

## make dispatcher: hands stored webhook deliveries to the workers as they commit (with REDIS_URL set; under
## plain `make run` each delivery is processed in its request instead)
dispatcher: install
	$(BIN)/python manage.py webhook_dispatcher

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run

migrate: install
	$(BIN)/python manage.py migrate --noinput

clean:
	rm -rf $(VENV) var .pytest_cache
