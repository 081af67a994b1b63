# Gridbase developer commands. `make demo` and `make test` set everything up themselves.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
PG_ARGS ?=
FLOORS_ARGS ?=

# Python keeps its compiled modules (__pycache__, git-ignored) even where the environment says
# not to (PYTHONDONTWRITEBYTECODE=1, as in many CI images): without them every pytest process
# and every `gridbase` the tests start compiles all of Gridbase again (collecting the suite took
# 25 s of CPU instead of 11 s; a `gridbase` start 1.0 s instead of 0.6 s).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: setup browser servers packages test test-pg test-floors demo lint bench

# A second virtualenv with the LOWEST version of every dependency that pyproject.toml allows
# (uv's lowest-direct resolution), so each floor there is a version the tests have run on.
FLOORS ?= .venv-floors
SMOKE ?= tests/engine/test_records.py tests/engine/test_bulk.py tests/test_schemas.py \
	tests/views/test_pages.py tests/views/test_forms.py tests/views/test_auth.py tests/views/test_files.py \
	tests/views/test_dashboards.py tests/automations/test_actions.py tests/api/test_pyairtable.py tests/gridbase

setup: $(VENV)/.installed

# uv resolves and installs in a fraction of pip's time; pip itself stays in the venv for people.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q uv
	$(VENV)/bin/uv pip install -q --python $(VENV)/bin/python -e '.[test]'
	touch $@

# Debian's chromium for the browser tests (Playwright drives it by its executable path).
browser:
	@command -v chromium >/dev/null 2>&1 || $(MAKE) --no-print-directory packages

# The other programs the tests start or drive, from Debian's packages: PostgreSQL (a throwaway
# server per test run, tests/pg_server.py), Node with npm (Airtable's JavaScript client) and Dovecot
# (the IMAP server the mailbox tests start, tests/automations/mail_server.py).
servers:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
	  && test -x /usr/sbin/dovecot || $(MAKE) --no-print-directory packages

# All of Debian's packages in one apt run (one index update instead of two).
packages:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	  chromium fonts-noto-cjk postgresql nodejs npm dovecot-imapd

# The suite waits on servers, browsers and subprocesses much of the time (one core busy on
# average), so `make test` runs five pytest processes at once on their own temp folders: on
# SQLite the tests that drive real servers and browsers (SERVED) and the rest; on PostgreSQL
# (test-pg, each process with a throwaway server of its own) the same two parts, so that the
# longest run, PostgreSQL's, is cut in two and both cores work until the end; and the smoke part
# on the lowest versions (its venv built first). Logs in .cache/, their tails printed.
SERVED ?= tests/examples tests/browser tests/security tests/reliability
NOT_SERVED := $(foreach d,$(SERVED),--ignore=$(d)) tests
test: setup browser servers
	@mkdir -p .cache; \
	( $(MAKE) --no-print-directory test-pg PG_TESTS="$(SERVED)" \
	  PG_ARGS="--basetemp=$${TMPDIR:-/tmp}/gridbase-test-pg-served --durations=15" > .cache/test-pg-served.log 2>&1; \
	  echo $$? > .cache/test-pg-served.rc ) & \
	( $(MAKE) --no-print-directory test-pg PG_TESTS="$(NOT_SERVED)" \
	  PG_ARGS="--basetemp=$${TMPDIR:-/tmp}/gridbase-test-pg --durations=15" > .cache/test-pg.log 2>&1; \
	  echo $$? > .cache/test-pg.rc ) & \
	( $(PY) -m pytest -q -p no:cacheprovider --basetemp=$${TMPDIR:-/tmp}/gridbase-test-served --durations=15 \
	  $(PYTEST_ARGS) $(SERVED) > .cache/test-served.log 2>&1; echo $$? > .cache/test-served.rc ) & \
	( $(MAKE) --no-print-directory test-floors FLOORS_ARGS="--basetemp=$${TMPDIR:-/tmp}/gridbase-test-floors" \
	  > .cache/test-floors.log 2>&1; echo $$? > .cache/test-floors.rc ) & \
	$(PY) -m pytest -q --durations=15 $(PYTEST_ARGS) $(NOT_SERVED); rc=$$?; wait; \
	echo "=== real servers and browsers ($(SERVED); whole log in .cache/test-served.log) ==="; \
	tail -n 60 .cache/test-served.log; \
	echo "=== PostgreSQL run, real servers and browsers (make test-pg PG_TESTS=\"$(SERVED)\"; whole log in .cache/test-pg-served.log) ==="; \
	tail -n 40 .cache/test-pg-served.log; \
	echo "=== PostgreSQL run, the rest (whole log in .cache/test-pg.log) ==="; tail -n 40 .cache/test-pg.log; \
	echo "=== lowest versions (make test-floors; whole log in .cache/test-floors.log) ==="; tail -n 30 .cache/test-floors.log; \
	test $$rc -eq 0 && test "$$(cat .cache/test-served.rc)" = 0 && test "$$(cat .cache/test-pg-served.rc)" = 0 \
	  && test "$$(cat .cache/test-pg.rc)" = 0 && test "$$(cat .cache/test-floors.rc)" = 0

# The suite once more, on PostgreSQL: every test that reaches the store under test (it takes the
# `database`, `make_workspace`, `session_database` or `pg_url` fixture, or is marked `stores`) and
# is not marked `sqlite_only` (tests/conftest.py), the browser tests among them (they serve their
# workspace from session_database). PG_TESTS picks the folders (`make test` runs SERVED and the
# rest as two processes); PG_ARGS="-m stores" runs only the cheap `stores` tests.
PG_TESTS ?= tests
test-pg: setup servers
	GRIDBASE_TEST_DATABASE=postgresql $(PY) -m pytest -q -p no:cacheprovider $(PG_ARGS) $(PG_TESTS)

$(FLOORS)/.installed: pyproject.toml
	python3 -m venv $(FLOORS)
	$(FLOORS)/bin/pip install -q uv
	$(FLOORS)/bin/uv pip install -q --python $(FLOORS)/bin/python --resolution lowest-direct -e '.[test]'
	touch $@

# The tutorial test runs `gridbase` from .venv/bin (the reader's command), not from the floors'
# venv: on the floors it would repeat the ordinary run's test (26 command starts) and check no floor.
test-floors: setup $(FLOORS)/.installed
	$(FLOORS)/bin/python -m pytest -q -p no:cacheprovider $(FLOORS_ARGS) --ignore=tests/gridbase/test_tutorial.py $(SMOKE)

HOST ?= 127.0.0.1
PORT ?= 8000
demo: setup
	$(VENV)/bin/gridbase demo examples/dalian_dental --host $(HOST) --port $(PORT)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy engine
