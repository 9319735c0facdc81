# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 5000
PYTEST_ARGS ?= -n 2
FLASK := $(BIN)/flask --app app

.PHONY: install run serve test lint typecheck bench bench-quick translations clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Compiled message catalogues are build products: made from the .po files in the repo.
MO_FILES := $(patsubst %.po,%.mo,$(wildcard app/translations/*/LC_MESSAGES/messages.po))
%.mo: %.po $(STAMP)
	$(BIN)/pybabel -q compile -i $< -o $@ -l $(word 3,$(subst /, ,$<))

install: $(STAMP) $(MO_FILES)

## Serve the app with demo data on http://127.0.0.1:$(PORT), the scheduler beside it.
run: install
	$(FLASK) db upgrade
	$(FLASK) facilities sync
	$(FLASK) demo load
	$(BIN)/python -m app.devserver --port $(PORT)

## Production: migrate, then gunicorn (the scheduler runs as its own process: see README).
serve: install
	$(FLASK) db upgrade
	$(BIN)/gunicorn -c gunicorn.conf.py

## Run every test (PostgreSQL too when TEST_DATABASE_URL is set).
test: install node_modules/.package-lock.json
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Mozilla's ical.js (Thunderbird's parser) checks the feeds in the tests.
node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check app scheduler bench tests

typecheck: install
	$(BIN)/mypy scheduler

bench: install
	$(BIN)/python -m bench.solver

bench-quick: install
	$(BIN)/python -m bench.solver --quick

## Re-extract the English source strings, merge them into the catalogues and compile them.
## New strings arrive untranslated (never fuzzy-guessed): tests/test_translations.py fails
## until app/translations/zh/LC_MESSAGES/messages.po has them.
translations: install
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --project=Pilotslot \
		--msgid-bugs-address= --sort-by-file -o app/translations/messages.pot .
	test -f app/translations/zh/LC_MESSAGES/messages.po || \
		$(BIN)/pybabel -q init -i app/translations/messages.pot -d app/translations -l zh
	$(BIN)/pybabel -q update -i app/translations/messages.pot -d app/translations \
		--no-fuzzy-matching --ignore-obsolete
	$(MAKE) --no-print-directory $(patsubst %.po,%.mo,$(wildcard app/translations/*/LC_MESSAGES/messages.po))

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
