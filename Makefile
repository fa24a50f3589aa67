# Everything a fresh machine needs: Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LINT := microweb tests examples setup.py $(wildcard benchmarks)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-failover check format bench bench-deps bench-instr wheel test-compiled clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "microweb needs Python 3.11+")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/uvicorn examples.app:app --host $(HOST) --port $(PORT)

# Two workers (pytest-xdist), a test file each at a time: files share their servers
# and fixtures. JOBS=0 runs the suite in this one process.
JOBS ?= 2
test: install
	$(BIN)/pytest -n $(JOBS) --dist loadfile

# Slow fault tests: failovers of a Redis Cluster and of Sentinel, PostgreSQL stopped,
# under load, and 200,000 anonymous requests on each session driver.
test-failover: install
	$(BIN)/pytest -m failover tests/failover tests/sessions/test_anonymous_flood.py

check: install
	$(BIN)/ruff check $(LINT)
	$(BIN)/ruff format --check $(LINT)
	$(BIN)/mypy --strict microweb
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix $(LINT)
	$(BIN)/ruff format $(LINT)

bench-deps: install
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt

bench: bench-deps
	$(BIN)/python benchmarks/throughput.py
	$(BIN)/python benchmarks/websocket.py

# Instructions per request, counted with callgrind (Debian's valgrind): a few minutes.
# INSTR_ARGS passes options on, e.g. INSTR_ARGS='--only hello,json --json'.
bench-instr: install
	command -v valgrind >/dev/null || (apt-get update -qq && apt-get install -y -qq valgrind)
	$(BIN)/python benchmarks/instructions.py --repeat 2 $(INSTR_ARGS)

# Both wheels into dist/: pure Python (any platform), then the request path compiled by
# mypyc (setup.py lists the modules) for this Python and platform. The build reuses the
# dev venv's mypy and setuptools (no isolated build env), so mypyc matches `make check`.
wheel: install
	$(BIN)/python -m pip install --quiet 'setuptools>=68' wheel
	rm -rf build dist
	$(BIN)/python -m pip wheel --quiet --no-build-isolation --no-deps -w dist .
	rm -rf build
	MICROWEB_COMPILE=1 $(BIN)/python -m pip wheel --quiet --no-build-isolation --no-deps -w dist .

# The whole suite against the compiled wheel, in its own venv (.venv-compiled), run from
# a copy of the tree without microweb/ (build/suite), so every import of microweb, in
# the tests and in the servers they start, is the installed wheel's.
CBIN := .venv-compiled/bin
test-compiled: wheel
	test -x $(CBIN)/python || $(PYTHON) -m venv .venv-compiled
	$(CBIN)/python -m pip install --quiet "$$(ls dist/microweb-*-cp*.whl)[dev]"
	$(CBIN)/python -m pip install --quiet --force-reinstall --no-deps dist/microweb-*-cp*.whl
	rm -rf build/suite && mkdir -p build/suite
	cp -r tests examples docs benchmarks README.md pyproject.toml build/suite/
	cd build/suite && MICROWEB_EXPECT_COMPILED=1 ../../$(CBIN)/pytest -p no:cacheprovider -n $(JOBS) --dist loadfile $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .venv-compiled .pytest_cache .mypy_cache .ruff_cache .sessions build dist
