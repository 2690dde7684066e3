# deepmanifold — the two commands: `make run` (set up, run the flagship case) and `make test`.
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
CASE    ?= $(shell test -f cases/vajont.toml && echo cases/vajont.toml || echo cases/cantilever.toml)
OUT     ?= results
PYTEST_ARGS ?=

.PHONY: run test venv bench clean help

help:
	@echo "make run    set up .venv (Python 3.12) and run $(CASE) into $(OUT)/"
	@echo "make test   set up .venv and run the test suite"
	@echo "make bench  run the benchmarks in benchmarks/ (JSON into benchmarks/out/)"

venv: $(STAMP)

$(PY):
	@PYBIN=$$(bash tools/find-python.sh) || exit 1; \
	echo "creating $(VENV) with $$PYBIN"; \
	"$$PYBIN" -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/deepmanifold run $(CASE) -o $(OUT)/$(basename $(notdir $(CASE)))

test: $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	@for b in benchmarks/*.py; do echo "== $$b"; PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) $$b || exit 1; done

clean:
	rm -rf $(OUT) benchmarks/out .pytest_cache
