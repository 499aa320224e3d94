# The front door: `make demo` runs the service, `make test` proves it. See README.md.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
DEMO_PORT ?= 8000

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

.PHONY: install demo test fuzz lint format browser-deps clean
install: $(BIN)/.installed

## web + worker + beat as three processes (honcho), on SQLite and a filesystem broker by default
demo: export DEBUG ?= True
demo: $(BIN)/.installed
	mkdir -p var/celery-spool/queue var/celery-spool/processed var/celery-spool/control var/media
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py load_demo
	@echo ""
	@echo "  CPTS Liaison: http://127.0.0.1:$(DEMO_PORT)/  (API docs: http://127.0.0.1:$(DEMO_PORT)/api/docs/)"
	@echo "  Logins (password: $${DEMO_PASSWORD:-demo}): dr.martin dr.leroy dr.bernard ide.petit"
	@echo "    pharma.durand hop.cardio hop.cardio2 dr.derm hop.urgences as.moreau coord"
	@echo "  Ctrl-C stops the web server, the worker and beat."
	@echo ""
	DEMO_PORT=$(DEMO_PORT) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho -f Procfile.demo start

## Debian's chromium for the browser tests (Playwright drives it; it never downloads a browser)
browser-deps:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the browser tests..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "The browser tests need Debian's chromium: run 'sudo apt-get install -y chromium'."; \
		exit 1; \
	fi

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python manage.py makemigrations --check --dry-run --settings=tests.settings

format: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## ruff, mypy, the migration check and the whole suite (browser, real worker, API fuzzing)
# One pytest worker per core (pytest-xdist); TEST_WORKERS=0 runs in a single process.
TEST_WORKERS ?= auto
test: $(BIN)/.installed browser-deps lint
	mkdir -p var
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal --durations=10

## The deep API fuzzing (nightly): every coverage case of the schema, invalid ones included,
## and FUZZ_EXAMPLES generated cases per operation (`make test` runs 12 and the valid ones).
FUZZ_EXAMPLES ?= 100
fuzz: $(BIN)/.installed
	mkdir -p var
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal tests/api/test_schema_fuzzing.py

clean:
	rm -rf $(VENV) .mypy_cache var/test-db.sqlite3 var/test-worker.log
