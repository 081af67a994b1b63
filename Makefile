# Gridbase developer commands. `make demo` and `make test` set everything up themselves.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup browser servers test test-pg test-floors demo lint bench

# A second virtualenv with the LOWEST version of every dependency that pyproject.toml allows
# (uv's lowest-direct resolution), so each floor there is a version the tests have run on.
FLOORS ?= .venv-floors
SMOKE ?= tests/engine/test_records.py tests/engine/test_bulk.py tests/test_schemas.py \
	tests/views/test_pages.py tests/views/test_forms.py tests/views/test_auth.py tests/views/test_files.py \
	tests/views/test_dashboards.py tests/automations/test_actions.py tests/api/test_pyairtable.py tests/gridbase

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

# Debian's chromium for the browser tests (Playwright drives it by its executable path).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; }

# The other programs the tests start or drive, from Debian's packages: PostgreSQL (a throwaway
# server per test run, tests/pg_server.py), Node with npm (Airtable's JavaScript client) and Dovecot
# (the IMAP server the mailbox tests start, tests/automations/mail_server.py).
servers:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
	  && test -x /usr/sbin/dovecot || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql nodejs npm dovecot-imapd; }

test: setup browser servers
	$(PY) -m pytest -q $(PYTEST_ARGS)
	$(MAKE) test-pg
	$(MAKE) test-floors

# The tests marked `stores` once more, on PostgreSQL.
test-pg: setup servers
	GRIDBASE_TEST_DATABASE=postgresql $(PY) -m pytest -q -p no:cacheprovider -m stores tests

$(FLOORS)/.installed: pyproject.toml
	python3 -m venv $(FLOORS)
	$(FLOORS)/bin/pip install -q uv
	$(FLOORS)/bin/uv pip install -q --python $(FLOORS)/bin/python --resolution lowest-direct -e '.[test]'
	touch $@

test-floors: setup $(FLOORS)/.installed
	$(FLOORS)/bin/python -m pytest -q -p no:cacheprovider $(SMOKE)

HOST ?= 127.0.0.1
PORT ?= 8000
demo: setup
	$(VENV)/bin/gridbase demo examples/dalian_dental --host $(HOST) --port $(PORT)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy engine
