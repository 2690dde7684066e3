# deepmanifold — the two commands: `make run` (set up, run the flagship case) and `make test`.
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
CASE    ?= $(shell test -f cases/vajont.toml && echo cases/vajont.toml || echo cases/cantilever.toml)
OUT     ?= results
PYTEST_ARGS ?=

.PHONY: run test test-all venv lock bench clean help

help:
	@echo "make run    set up .venv (Python 3.12) and run $(CASE) into $(OUT)/"
	@echo "make test   set up .venv and run the test suite (slow verification excluded)"
	@echo "make test-all  the whole suite, slow verification included"
	@echo "make lock   re-resolve the dependencies into requirements.lock (fresh venv, unpinned)"
	@echo "make bench  run the benchmarks in benchmarks/ (JSON into benchmarks/out/)"

venv: $(STAMP)

$(PY):
	@PYBIN=$$(bash tools/find-python.sh) || exit 1; \
	echo "creating $(VENV) with $$PYBIN"; \
	"$$PYBIN" -m venv $(VENV)

# The install is locked: requirements.lock pins the whole resolved set (PIP_CONSTRAINT also
# reaches pip's isolated build environment, so the build backend is pinned too). A user who
# wants unpinned versions runs `pip install -e .` by hand.
LOCK    := requirements.lock
$(STAMP): pyproject.toml $(LOCK) | $(PY)
	$(PY) -m pip install --quiet "$$(grep '^pip==' $(LOCK))"
	PIP_CONSTRAINT="$(CURDIR)/$(LOCK)" $(PY) -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

lock:
	@PYBIN=$$(bash tools/find-python.sh) || exit 1; \
	tmp=$$(mktemp -d); "$$PYBIN" -m venv "$$tmp/venv" && \
	"$$tmp/venv/bin/python" -m pip install --quiet --upgrade pip && \
	"$$tmp/venv/bin/python" -m pip install --quiet -e ".[test]" && \
	{ echo "# deepmanifold: the full resolved dependency set (Python 3.12, linux x86_64), used by make."; \
	  echo "# Regenerate with 'make lock' (fresh venv, unpinned install from pyproject.toml, pip freeze)."; \
	  "$$tmp/venv/bin/python" -m pip freeze --all --exclude-editable | grep -v '^deepmanifold'; } > $(LOCK).new && \
	mv $(LOCK).new $(LOCK); rm -rf "$$tmp"; echo "wrote $(LOCK)"

run: $(STAMP)
	$(VENV)/bin/deepmanifold run $(CASE) -o $(OUT)/$(basename $(notdir $(CASE)))

test: $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

test-all: $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	@for b in benchmarks/*.py; do echo "== $$b"; PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) $$b || exit 1; done

clean:
	rm -rf $(OUT) benchmarks/out .pytest_cache
