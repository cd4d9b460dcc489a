# ganlab: `make` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ARGS   ?=

.DEFAULT_GOAL := help
.PHONY: help install train test test-fast bench lint format clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install:  ## create .venv and install ganlab (editable) with its dev tools
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --editable '.[dev]'

train:  ## train the default experiment (DCGAN, JS loss, MNIST); extra overrides: make train ARGS="loss=ls"
	$(BIN)/ganlab-train $(ARGS)

test:  ## the whole test suite, slow tests included (what CI runs)
	$(BIN)/pytest -q

test-fast:  ## the tests not marked slow
	$(BIN)/pytest -q -m "not slow"

bench:  ## speed benchmarks (not part of make test): results in benchmarks/results/
	$(BIN)/python -m benchmarks.data_pipeline $(ARGS)
	$(BIN)/python -m benchmarks.train_step
	$(BIN)/python -m benchmarks.evaluation
	@if $(BIN)/python -c "import sys, torch; sys.exit(not torch.cuda.is_available())"; then \
		$(BIN)/python -m benchmarks.gpu_options; \
	else echo "benchmarks.gpu_options: no CUDA GPU here, skipped"; fi

lint:  ## ruff checks and formatting check
	$(BIN)/ruff check ganlab tests benchmarks
	$(BIN)/ruff format --check ganlab tests benchmarks

format:  ## format the code with ruff
	$(BIN)/ruff check --fix ganlab tests benchmarks
	$(BIN)/ruff format ganlab tests benchmarks

clean:  ## remove run outputs and caches (not .venv, not data/)
	rm -rf outputs multirun .pytest_cache .ruff_cache
