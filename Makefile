# Two entry points (see README.md): `make demo` runs the main job, `make test` the test suite.
# Each creates its own virtual environment from the project's files and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: demo test test-slow test-extended test-all bench docs clean

$(VENV)/.base-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

# The torch extra: the CPU build 2.13.0 is what installs quickly on our machines (a loose
# requirement can pull a multi-GB CUDA build); see the optional-dependencies in pyproject.toml.
$(VENV)/.test-installed: $(VENV)/.base-installed
	$(PIP) install --quiet "torch==2.13.0"
	$(PIP) install --quiet -e ".[test,torch,dask,docs]"
	touch $@

demo: $(VENV)/.base-installed
	$(VENV)/bin/fairerm demo

test: $(VENV)/.test-installed
	$(PY) -m pytest -m "not slow" -q

test-slow: $(VENV)/.test-installed
	$(PY) -m pytest -m "slow and not extended" -q

test-extended: $(VENV)/.test-installed
	$(PY) -m pytest -m "extended" -q

test-all: $(VENV)/.test-installed
	$(PY) -m pytest -q

docs: $(VENV)/.test-installed
	$(PY) -m sphinx -W -b html docs docs/_build/html

# The pytest-benchmark suites are benchmarks/bench_*.py (their file pattern is not pytest's test_*.py).
bench: $(VENV)/.test-installed
	$(PY) -m pytest benchmarks -o python_files="bench_*.py" -p no:cacheprovider --benchmark-enable -q

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
