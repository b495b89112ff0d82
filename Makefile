# radlab: two commands for everyone.
#   make lab   - create .venv if needed, install the kit, open JupyterLab on notebook 00
#   make test  - create/update the same .venv and run the whole suite (unit tests +
#                every notebook under nbval in quick mode)
# Needs only Python 3.10+ and make. Override the interpreter with `make PYTHON=python3.12 ...`.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.radlab-installed
PORT   ?= 8888
PYTEST_ARGS ?=
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: help install lab test test-unit test-notebooks bench student-copies hooks clean

help:
	@echo "make lab    - install (first time) and start JupyterLab on notebooks/00_start_here.ipynb"
	@echo "make test   - install/update and run unit tests + all notebooks in quick mode"
	@echo "make bench  - run the benchmarks in bench/ (prints JSON)"
	@echo "make student-copies - notebooks without solution cells, in build/student/"
	@echo "make hooks  - install nbstripout so committed notebooks stay output-free"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "radlab needs Python 3.10 or newer; found " + sys.version.split()[0] + ". Run e.g. make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install whenever the dependency list changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --progress-bar off -e '.[test]'
	@touch $@

install: $(STAMP)

lab: $(STAMP)
	@$(BIN)/radlab doctor --brief || true
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(PORT) $(ROOT_FLAG) \
		--ServerApp.root_dir=$(CURDIR) notebooks/00_start_here.ipynb

# Quick mode keeps every notebook to seconds; RADLAB_STRICT turns a failed exercise check
# into an error, so a broken solution fails the build.
TEST_ENV := RADLAB_QUICK=1 RADLAB_STRICT=1 TF_CPP_MIN_LOG_LEVEL=2 MPLBACKEND=Agg PYTHONHASHSEED=0

test: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest tests notebooks --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=600 -p no:cacheprovider $(PYTEST_ARGS)

test-unit: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest tests $(PYTEST_ARGS)

test-notebooks: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest notebooks --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=600 $(PYTEST_ARGS)

bench: $(STAMP)
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

student-copies: $(STAMP)
	$(BIN)/radlab student-copies --out build/student

hooks: $(STAMP)
	$(BIN)/nbstripout --install --attributes .gitattributes

clean:
	rm -rf build .pytest_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
