# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typing docs tox bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,dev,works-with]"
	touch $(STAMP)

## Serve testproject/ with devrun (creates the virtualenv and migrates the SQLite database).
run: $(STAMP)
	cd testproject && ../$(BIN)/python manage.py migrate --noinput
	cd testproject && ../$(BIN)/python manage.py devrun $(ARGS)

## Run the test suite.
test: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typing: $(STAMP)
	$(BIN)/mypy

## Build the documentation strictly (a broken link fails), as CI does.
docs: $(STAMP)
	$(BIN)/tox -e docs

## Every supported Python × Django combination, lint and typing.
tox: $(STAMP)
	$(BIN)/tox

## devrun against runserver, side by side (needs wrk: apt-get install wrk).
bench: $(STAMP)
	$(BIN)/python -m benchmarks $(ARGS)

clean:
	rm -rf $(VENV) .tox build *.egg-info
