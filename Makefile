# The two commands of the README's Quick start. Each one creates .venv if it is
# missing and re-installs when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test venv bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# The CPU build of torch first and pinned: an unpinned one pulls GBs of CUDA.
	$(BIN)/pip install --disable-pip-version-check -q torch==2.13.0
	$(BIN)/pip install --disable-pip-version-check -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/jobbridge demo --host 127.0.0.1 --port 8000

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) instance .pytest_cache
