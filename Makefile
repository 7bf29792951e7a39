# Two entry points (see README): `make synth` and `make test`. Each sets up what it needs.
# The other targets are described in docs/contributing.md.
SHELL := /bin/bash
PY_BOOT ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
# The pinned Node 22 (node_modules/.bin/node) runs both the CDK CLI and the jsii kernel.
export UV_PYTHON_DOWNLOADS := never
# Every Python process of a run (pytest workers, each `python app.py` synth, each emulator, job runner and CLI
# call) reads its bytecode from one cache that the first import of a module writes. Machines that set
# PYTHONDONTWRITEBYTECODE would otherwise make each of them compile aws-cdk-lib's and moto's sources again
# (a small app's synth: 10.2 s of CPU without the cache, 6.2 s with it).
unexport PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX := $(CURDIR)/.pycache

.PHONY: setup setup-scanners synth test lint typecheck unit nag docs wheel diagram bench demo clean

$(UV):
	$(PY_BOOT) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --python $(PY_BOOT)
	touch $@

node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund
	touch $@

setup: $(VENV)/.synced node_modules/.installed

## checkov in its own virtual environment (it pins its own boto3), used by tests/test_scanners.py;
## its dependencies are locked in tools/checkov.lock.txt (uv pip compile tools/checkov.in).
CHECKOV := $(TOOLS)/checkov/.installed
$(CHECKOV): $(UV) tools/checkov.lock.txt
	rm -rf $(TOOLS)/checkov
	$(UV) venv --quiet --python $(PY_BOOT) $(TOOLS)/checkov
	$(UV) pip sync --quiet --python $(TOOLS)/checkov/bin/python tools/checkov.lock.txt
	touch $@

setup-scanners: $(CHECKOV)

## Synthesize the reference app (app.py) into cdk.out/ with the pinned CDK CLI; no AWS credentials needed.
synth: setup
	cdk synth --quiet --no-notices --no-version-reporting

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

## Three workers on two cores: most of the suite's CPU is in the processes the workers start (emulators, jsii
## kernels, the CDK CLI, jobs), which keep both cores busy; a fourth worker added its own start-up, test
## collection and jsii kernel (template validation engine included) and more contention, not speed.
## In a fresh checkout the bytecode the run imports is compiled once first (scripts/warm_bytecode.py; beside mypy),
## not by every worker, synth and emulator at once.
unit: setup setup-scanners
	$(VENV)/bin/python scripts/warm_bytecode.py
	$(VENV)/bin/pytest -n 3 --dist loadgroup --no-loadscope-reorder -q --durations=25

## Full suite: lint, then types and tests side by side (assertions, cfn-lint, cdk-nag, botocore model,
## scripts, end to end in the emulator). mypy reads only the aws-cdk-lib modules sm_constructs imports (pyproject.toml).
test: lint
	$(MAKE) --no-print-directory -j2 --output-sync=target typecheck unit

## The guides' Mermaid pictures of the reference app's state machines, from the synthesized definitions.
diagram: synth
	$(VENV)/bin/python scripts/update_diagrams.py cdk.out/SmConstructsReference.template.json

## README, the guides in docs/ and the API reference (docstrings) as one offline site: docs/site/index.html.
docs: setup
	$(VENV)/bin/python scripts/build_docs.py --out docs/site

## The wheel (dist/sm_constructs-<version>-py3-none-any.whl), as users install it: `pip install '<wheel>[local,nag]'`.
wheel: $(UV)
	$(UV) build --wheel --out-dir dist

## Synth-time benchmark against a hand-written aws-cdk-lib baseline, written to docs/performance.md (its smoke run, N=1 to 3, is in `make test`: tests/test_bench.py).
bench: setup
	$(VENV)/bin/python bench/synth.py --markdown docs/performance.md

## Deploy the reference app into the local emulator (real CDK CLI) and run its pipeline: no AWS account, no Docker.
demo: setup
	$(VENV)/bin/python -m sm_constructs.local demo

clean:
	rm -rf cdk.out .sm-local .pycache $(VENV) $(TOOLS) node_modules
