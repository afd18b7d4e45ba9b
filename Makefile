# esante-report — the two set-up commands are `make report` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.esante-installed
NODE_STAMP := node_modules/.esante-installed

.PHONY: setup report test test-min test-fast lab bench clean

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

# A second environment with the LOWEST versions pyproject.toml allows (tests/constraints-min.txt), on
# Python 3.11 when it is there: the PDF-stage and batch-kernel tests run in it too (the main one has the newest).
MIN_VENV := .venv-min
MIN_STAMP := $(MIN_VENV)/.esante-installed
MIN_PYTHON ?= $(shell command -v python3.11 2>/dev/null || echo $(PYTHON))
MIN_TESTS := tests/test_dependency_ends.py tests/test_export.py tests/test_readability.py tests/test_hostile_outputs.py \
             tests/test_kernels.py tests/test_preview.py

$(MIN_STAMP): pyproject.toml tests/constraints-min.txt
	@test -x $(MIN_VENV)/bin/python || $(MIN_PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MIN_VENV)/bin/python -m pip install --quiet -e '.[test]' -c tests/constraints-min.txt
	@touch $@

test-min: $(MIN_STAMP) $(NODE_STAMP)
	ESANTE_MIN_ENV=1 $(MIN_VENV)/bin/python -m pytest -p no:cacheprovider -m "not browser" \
	  -k "not shipped_decks" $(MIN_TESTS)

report: setup
	$(BIN)/esante-report render --all

test: setup
	@.ci/system-deps test
	$(BIN)/python -m pytest tests
	$(BIN)/python -m pytest --nbval-lax -p no:cacheprovider notebooks/
	$(MAKE) test-min

# JupyterLab on the project's kernel. It serves the project root, so that jupytext finds jupytext.toml
# (it looks only inside the folder Jupyter serves) and writes each notebook's .py twin on save, and it
# opens on notebooks/. tests/test_lab.py starts Lab with LAB_FLAGS and saves a notebook through it.
# As root (containers, CI machines) Jupyter needs --allow-root.
LAB_FLAGS := --ServerApp.root_dir=. --FileContentsManager.preferred_dir=notebooks
# `make lab DECK=post_covid` also starts the live preview of that deck beside Lab (its address is printed first;
# it stops with Lab).
lab: setup
	@if [ -n "$(DECK)" ]; then $(BIN)/esante-report preview $(DECK) & trap 'kill -TERM $$! 2>/dev/null; wait $$!' EXIT; fi; \
	$(BIN)/jupyter lab $(LAB_FLAGS) $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

# Benchmarks print figures and assert nothing (see the README for the latest table)
bench: setup
	$(BIN)/python bench/bench_targets.py
	$(BIN)/python bench/bench_render.py
	$(BIN)/python bench/bench_memory.py
	$(BIN)/python bench/bench_regional.py
	$(BIN)/python bench/bench_schema.py
	$(BIN)/python bench/bench_odp.py
	$(BIN)/python bench/bench_preview.py

clean:
	rm -rf outputs/*/ outputs/index.html test-artifacts
