# esante-report — the two set-up commands are `make report` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.esante-installed
NODE_STAMP := node_modules/.esante-installed

.PHONY: setup report test test-fast lab bench clean

# Python environment: the package (editable), its test extras and the Jupyter kernel.
$(STAMP): pyproject.toml
	@.ci/system-deps report
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name esante-report --display-name "Python 3 (esante-report)" >/dev/null
	@touch $@

# Front-end assets embedded in the HTML decks (reveal.js), pinned by package-lock.json.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(STAMP) $(NODE_STAMP)

report: setup
	$(BIN)/esante-report render --all

test: setup
	@.ci/system-deps test
	$(BIN)/python -m pytest tests
	$(BIN)/python -m pytest --nbval-lax -p no:cacheprovider notebooks/

# JupyterLab on the project's kernel; as root (containers, CI machines) Jupyter needs --allow-root.
lab: setup
	$(BIN)/jupyter lab $$( [ "$$(id -u)" = 0 ] && echo --allow-root ) notebooks/

# Benchmarks print figures and assert nothing (see the README for the latest table)
bench: setup
	$(BIN)/python bench/bench_render.py
	$(BIN)/python bench/bench_memory.py
	$(BIN)/python bench/bench_schema.py

clean:
	rm -rf outputs/*/ outputs/index.html test-artifacts
