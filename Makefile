# Two commands do all the set-up on a fresh Debian machine with Python 3.11:
#   make run   - install, load the demo data if the warehouse is empty, serve http://127.0.0.1:8050
#                (make run PORT=8060 HOST=0.0.0.0 for another address)
#   make test  - install (with test extras and the system browser), run the whole suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test install install-test system-deps lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

install: $(STAMP)

install-test: $(TEST_STAMP) system-deps

# Chromium for the browser tests, poppler for pdftoppm,
# and the libraries WeasyPrint loads. Installed only when missing.
system-deps:
	@./scripts/system-deps.sh

HOST ?= 127.0.0.1
PORT ?= 8050

run: $(STAMP)
	$(BIN)/cpip demo --if-empty
	HOST=$(HOST) PORT=$(PORT) $(BIN)/python app.py

test: install-test
	$(BIN)/python -m pytest

lint: install-test
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: install-test
	$(BIN)/python benchmarks/etl.py
	$(BIN)/python benchmarks/dashboard.py
	$(BIN)/python benchmarks/boardpack.py
	$(BIN)/python benchmarks/spc.py
	$(BIN)/python benchmarks/children.py
	$(BIN)/python benchmarks/matrix.py
	$(BIN)/python benchmarks/pages.py
	$(BIN)/python benchmarks/concurrency.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
