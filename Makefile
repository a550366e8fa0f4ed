# Two commands matter on a fresh machine: `make demo` and `make test` (each sets up what it needs). Each first checks
# the machine (tools/prereqs.py, about a second: as root it installs the missing Debian packages, otherwise it names
# everything missing and the one command that installs it), then builds what it runs (cached by version), then runs.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# one worker per core, each with its own sandbox; a test module stays on one worker (module fixtures, order)
PYTEST_WORKERS := -n 2 --dist loadfile
STAMP := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | sha256sum | cut -c1-12)

.PHONY: venv engine engine-path migrate-cli schema-diff node-oracles prereqs prereqs-demo test test-e2e demo lint typecheck \
	bench clean

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@$(PY) -m pip install -q --disable-pip-version-check --no-deps -e . --config-settings editable_mode=compat
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)
	@:

engine:
	@bash tools/pulumi-engine/build.sh

engine-path: venv  # prints the bin dir holding `pulumi` (builds it first when needed; progress on stderr)
	@bash tools/pulumi-engine/build.sh >&2
	@$(PY) -c 'from rollback.engine import find_engine_dir; print(find_engine_dir())'

migrate-cli:
	@bash tools/golang-migrate/build.sh

schema-diff:  # stripe/pg-schema-diff's CLI, run by the providers (components/providers/schema_diff_bin.py)
	@bash tools/pg-schema-diff/build.sh

node-oracles:
	@bash tools/node/build.sh

prereqs-demo:  # what the demo runs: the venv and the engine (not the tests' oracles, not pg-schema-diff)
	@python3 tools/prereqs.py demo
	@$(MAKE) --no-print-directory venv engine
	@$(PY) -m sandbox.prereqs demo

prereqs:  # what the tests run: also golang-migrate's CLI, pg-schema-diff and the npm oracles
	@python3 tools/prereqs.py test
	@$(MAKE) --no-print-directory venv engine migrate-cli schema-diff node-oracles
	@$(PY) -m sandbox.prereqs test

test: prereqs
	@$(PY) -m ruff check .
	@$(PY) -m mypy
	@$(PY) -m pytest $(PYTEST_WORKERS)

test-e2e: prereqs
	@$(PY) -m pytest $(PYTEST_WORKERS) -m e2e

demo: prereqs-demo
	@$(VENV)/bin/rollback demo

lint: venv
	@$(PY) -m ruff check .

typecheck: venv  # mypy --strict on components, rollback, rollback_stacks, sandbox ([tool.mypy] in pyproject.toml)
	@$(PY) -m mypy

bench: prereqs
	@$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
