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

.PHONY: help install lab test test-unit test-notebooks test-ui chromium bench student-copies hooks clean

help:
	@echo "make lab    - install (first time) and start JupyterLab on notebooks/00_start_here.ipynb"
	@echo "make test   - install/update and run unit tests + all notebooks in quick mode"
	@echo "make test-ui - run the notebooks in JupyterLab in headless Chromium (widgets, dashboard)"
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

# The browser test (tests/ui): JupyterLab from .venv, driven in headless Chromium by
# Playwright. Playwright's own browser download needs the internet, so it uses a system
# Chromium: Debian's package, installed here with apt-get when missing (as root).
CHROMIUM ?= /usr/bin/chromium
UI_NOTEBOOKS ?=
UI_ENV := RADLAB_UI=1 RADLAB_CHROMIUM=$(CHROMIUM) UI_NOTEBOOKS="$(UI_NOTEBOOKS)" PYTHONHASHSEED=0

chromium:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Chromium for the browser tests (apt-get install chromium)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "make test-ui: no Chromium at $(CHROMIUM), and apt-get needs root: the browser tests will be"; \
		echo "  skipped. Install it (sudo apt-get install chromium) or run make CHROMIUM=/path/to/chrome test-ui."; \
	fi

test-ui: $(STAMP) chromium
	$(UI_ENV) $(BIN)/python -m pytest tests/ui -p no:cacheprovider $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

student-copies: $(STAMP)
	$(BIN)/radlab student-copies --out build/student

hooks: $(STAMP)
	$(BIN)/nbstripout --install --attributes .gitattributes

clean:
	rm -rf build .pytest_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
