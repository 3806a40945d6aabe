# lineocr — the commands the README names.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SRC := src tests benchmarks

.PHONY: install system-deps test quality unit serve bench models clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# The CPU build of PyTorch first: a looser requirement would pull CUDA packages.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[train,serve,dev]'
	touch $@

install: $(STAMP)

system-deps:
	bash scripts/install-system-deps.sh

quality: install
	$(BIN)/ruff check $(SRC)
	$(BIN)/ruff format --check $(SRC)
	$(BIN)/mypy

unit: install system-deps
	$(BIN)/pytest -q

## test: everything CI runs — lint, types, the whole test suite.
test: quality unit

## serve: the main job — the HTTP API and web page with the bundled models.
serve: install system-deps
	$(BIN)/lineocr serve --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

## bench: the figure-producing runs (slow; by hand).
bench: install system-deps
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist src/*.egg-info
