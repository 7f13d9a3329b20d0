# Two commands matter: `make run` (set up, then start the workbench) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup run test test-fast bench chromium lint typecheck clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU build of torch first: an unpinned torch would pull a CUDA build of several GB.
	$(BIN)/pip install --quiet torch==2.13.0
	# llama-cpp-python compiles llama.cpp; GGML_NATIVE=OFF keeps the cached wheel usable on any x86-64.
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(STAMP)

# Debian's Chromium drives the browser tests (Playwright never downloads a browser here).
chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -q && apt-get install -y -q chromium)

run: setup
	$(BIN)/autoalign serve

test: setup chromium
	$(BIN)/pytest -q

# No model loaded, no browser: the logic, the parsers, SQLite, the CLI and the web app without models.
test-fast: setup
	$(BIN)/pytest -q -m "not slow and not browser and not model"

bench: setup
	$(BIN)/python bench/run_all.py

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: setup
	$(BIN)/mypy src/autoalign

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
