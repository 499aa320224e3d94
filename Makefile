# The front door: `make demo` runs the service, `make test` proves it. See README.md.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
DEMO_PORT ?= 8000
# The local Pro Santé Connect provider of the demo and the tests (tools/psc-sandbox/, Node.js).
PSC_SANDBOX_PORT ?= 8099
HAVE_NODE := $(shell command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && echo yes)

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

.PHONY: install demo test fuzz lint format browser-deps clean
install: $(BIN)/.installed tools/psc-sandbox/node_modules/.installed

# npm ci: exactly the versions of package-lock.json (skipped, with a word, without Node.js).
tools/psc-sandbox/node_modules/.installed: tools/psc-sandbox/package-lock.json
ifeq ($(HAVE_NODE),yes)
	cd tools/psc-sandbox && npm ci --no-audit --no-fund --loglevel=error
	touch $@
else
	@echo "Node.js 20 not found: the Pro Santé Connect sandbox (demo, PSC tests) is not installed."
endif

## web + worker + beat as three processes (honcho), on SQLite and a filesystem broker by default
demo: export DEBUG ?= True
demo: $(BIN)/.installed tools/psc-sandbox/node_modules/.installed
	mkdir -p var/celery-spool/queue var/celery-spool/processed var/celery-spool/control var/media
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py load_demo
	@echo ""
	@echo "  CPTS Liaison: http://127.0.0.1:$(DEMO_PORT)/  (API docs: http://127.0.0.1:$(DEMO_PORT)/api/docs/)"
	@echo "  Logins (password: $${DEMO_PASSWORD:-demo}): dr.martin dr.leroy dr.bernard ide.petit"
	@echo "    pharma.durand hop.cardio hop.cardio2 dr.derm hop.urgences as.moreau coord"
	@echo "  Ctrl-C stops the web server, the worker and beat."
	@echo ""
	@if [ "$(HAVE_NODE)" = yes ]; then echo "  Pro Santé Connect (local sandbox): the button on the login page; choose Claire Martin."; echo ""; fi
	DEMO_PORT=$(DEMO_PORT) PATH="$(CURDIR)/$(BIN):$$PATH" \
	PSC_SANDBOX_PORT=$(PSC_SANDBOX_PORT) \
	PSC_SANDBOX_REDIRECT_URIS=http://127.0.0.1:$(DEMO_PORT)/connexion/psc/retour/,http://localhost:$(DEMO_PORT)/connexion/psc/retour/ \
	PSC_SANDBOX_POST_LOGOUT_URIS=http://127.0.0.1:$(DEMO_PORT)/connexion/,http://localhost:$(DEMO_PORT)/connexion/ \
	$(if $(HAVE_NODE),PSC_DISCOVERY_URL=$${PSC_DISCOVERY_URL:-http://127.0.0.1:$(PSC_SANDBOX_PORT)/.well-known/wallet-openid-configuration} \
	PSC_CLIENT_ID=$${PSC_CLIENT_ID:-cpts-liaison-sandbox} PSC_CLIENT_SECRET=$${PSC_CLIENT_SECRET:-cpts-liaison-sandbox-secret},) \
	$(BIN)/honcho -f Procfile.demo start

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
# `make lint` runs beside the suite (its output, in var/lint.log, is shown at the end): the
# target fails if either fails. mypy is incremental (.mypy_cache).
TEST_WORKERS ?= auto
test: $(BIN)/.installed tools/psc-sandbox/node_modules/.installed browser-deps
	mkdir -p var
	@$(MAKE) --no-print-directory lint >var/lint.log 2>&1 & lint=$$!; \
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal --durations=10; suite=$$?; \
	wait $$lint; linted=$$?; cat var/lint.log; \
	if [ $$linted -ne 0 ]; then echo "make test: make lint failed (above)" >&2; fi; \
	test $$suite -eq 0 && test $$linted -eq 0

## The deep API fuzzing (nightly): every coverage case of the schema, valid and invalid, nested
## documents included, and FUZZ_EXAMPLES generated cases per operation (`make test` runs 12
## and the coverage phase's invalid cases).
FUZZ_EXAMPLES ?= 100
fuzz: $(BIN)/.installed
	mkdir -p var
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal tests/api/test_schema_fuzzing.py

clean:
	rm -rf $(VENV) .mypy_cache var/test-db.sqlite3 var/test-worker.log
