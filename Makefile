# hpinit-k8s. `make run EXP=quickstart` and `make test` install what is missing, then run.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXP    ?= quickstart
SPEC   := experiments/$(EXP).yaml
OUT    ?= build/manifests
PIP    := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: install run test test-fast lint bench clean render submit image image-cpu kind-up kind-load kind-down
.DEFAULT_GOAL := run

# Deterministic install: every package pinned in requirements.lock, installed without resolving
# (pip 23's resolver backtracks for many minutes on this set), then the project itself.
$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q pip==26.3 setuptools==84.2.1
	$(PIP) install -q --no-deps --only-binary=:all: -r requirements.lock
	$(PIP) install -q --no-deps --no-build-isolation -e .
	touch $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/hpinit run $(SPEC)

test: $(STAMP)
	$(BIN)/ruff check hpinit_k8s tests
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check hpinit_k8s tests

bench: $(STAMP)
	$(BIN)/python -m hpinit_k8s.bench

clean:
	rm -rf runs build report .pytest_cache
