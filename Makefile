# Everything a fresh machine needs: Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LINT := microweb tests examples setup.py $(wildcard benchmarks)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-failover check format bench bench-deps bench-compiled-deps bench-instr \
	wheel compiled-venv test-compiled clean

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

# The compiled build's servers (throughput.py's `compiled` columns) run in .venv-compiled:
# the servers' packages there too, at the versions .venv has, so that both builds of
# microweb run under the same uvicorn, granian, uvloop and httptools (throughput.py
# checks, and skips the compiled columns when they differ).
bench-compiled-deps: bench-deps compiled-venv
	mkdir -p build
	$(BIN)/python -m pip freeze --exclude-editable | grep -E '^[A-Za-z0-9_.-]+==' > build/bench-constraints.txt
	$(CBIN)/python -m pip install --quiet -r benchmarks/requirements.txt -c build/bench-constraints.txt

# Every row on every server, the pure and the compiled build of microweb side by side. When
# the compiled venv cannot be made, throughput.py says why and skips its columns.
# BENCH_ARGS passes options on, e.g. BENCH_ARGS='--no-compiled' or '--only hello,json'.
bench: bench-deps
	$(MAKE) --no-print-directory bench-compiled-deps || \
		echo "warning: could not make .venv-compiled (see above); throughput.py will skip the compiled columns" >&2
	$(BIN)/python benchmarks/throughput.py $(BENCH_ARGS)
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

# The compiled wheel with its [dev] extras in a venv of its own (.venv-compiled), for
# test-compiled and the benchmarks. Remade (wheel and all) when anything in microweb/,
# setup.py or pyproject.toml is newer than the last install.
CVENV := .venv-compiled
CBIN := $(CVENV)/bin
CSTAMP := $(CVENV)/.installed-stamp
MICROWEB_SOURCES := $(shell find microweb -name __pycache__ -prune -o -print 2>/dev/null)
$(CSTAMP): setup.py pyproject.toml $(MICROWEB_SOURCES)
	$(MAKE) --no-print-directory wheel
	test -x $(CBIN)/python || $(PYTHON) -m venv $(CVENV)
	$(CBIN)/python -m pip install --quiet "$$(ls dist/microweb-*-cp*.whl)[dev]"
	$(CBIN)/python -m pip install --quiet --force-reinstall --no-deps dist/microweb-*-cp*.whl
	touch $(CSTAMP)

compiled-venv: $(CSTAMP)

# The whole suite against the compiled wheel, run from a copy of the tree without
# microweb/ (build/suite), so every import of microweb, in the tests and in the servers
# they start, is the installed wheel's.
test-compiled: compiled-venv
	rm -rf build/suite && mkdir -p build/suite
	cp -r tests examples docs benchmarks README.md pyproject.toml build/suite/
	cd build/suite && MICROWEB_EXPECT_COMPILED=1 ../../$(CBIN)/pytest -p no:cacheprovider -n $(JOBS) --dist loadfile $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(CVENV) .pytest_cache .mypy_cache .ruff_cache .sessions build dist
