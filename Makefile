# The two commands a newcomer needs: `make demo` and `make test`.
# Both create .venv on first use and install the project into it from pyproject.toml,
# so a machine with only Python 3.11 and make is enough.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Two pytest-xdist workers (this project's machines have 2 cores); each has its own temporary
# tree and its own session PostgreSQL (tests/conftest.py says which tests share one worker).
# `make test ARGS="-n 0"` runs in one process.
PYTEST_PARALLEL ?= -n 2

.PHONY: demo up test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/lbdemo demo $(ARGS)

up: $(STAMP)
	$(BIN)/lbdemo up $(ARGS)

test: $(STAMP)
	scripts/ensure-chromium
	scripts/ensure-docker
	$(BIN)/ruff check lbdemo loadtests tests
	$(BIN)/mypy
	$(BIN)/pytest -q $(PYTEST_PARALLEL) $(ARGS)

bench: $(STAMP)
	$(BIN)/lbdemo bench $(ARGS)

clean:
	rm -rf $(VENV) .lbdemo .pytest_cache .mypy_cache
