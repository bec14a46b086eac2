# Serverless webhook receiver: developer commands. `make help` lists them.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

export SAM_CLI_TELEMETRY := 0
export AWS_SAM_CLI_DISABLE_TELEMETRY := 1

# The Lambda runtime is python3.13; the suite also runs on any python3 >= 3.11.
PYTHON ?= $(shell scripts/find-python 3.13 --or-python3)
PYTHON313 = $(shell scripts/find-python 3.13)
VENV := .venv
BIN := $(VENV)/bin
PIP_INSTALL = pip install --quiet --disable-pip-version-check --require-hashes --no-deps

.PHONY: help
help: ## List the commands
	@grep -hE '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

$(BIN)/.installed: requirements/dev.txt layers/core/requirements.txt pyproject.toml
	@test -n "$(PYTHON)" || { echo "python3 (3.11 or newer) not found" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m $(PIP_INSTALL) -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --editable .
	touch $@

.PHONY: install
install: $(BIN)/.installed ## Create .venv with the locked development dependencies

.venv-sam/.installed: requirements/sam.txt
	@test -n "$(PYTHON313)" || { echo "sam build needs python3.13 (pyenv: install 3.13)" >&2; exit 1; }
	$(PYTHON313) -m venv .venv-sam
	.venv-sam/bin/python -m $(PIP_INSTALL) -r requirements/sam.txt
	touch $@

.venv-checkov/.installed: requirements/checkov.txt
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m $(PIP_INSTALL) -r requirements/checkov.txt
	touch $@

.PHONY: dev
dev: install ## Run the whole pipeline locally (no Docker, no AWS account); ARGS="--port 3001" to change
	$(BIN)/webhooks dev $(ARGS)

.PHONY: test
test: lint pytest template ## The full test suite: lint, types, tests, template checks, sam build, checkov

.PHONY: lint
lint: install ## ruff (check and format) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

.PHONY: pytest
pytest: install ## Every pytest test in parallel: unit, integration, e2e, browser, conformance
	$(BIN)/pytest -n auto --dist loadscope

.PHONY: unit
unit: install ## Unit tests only (network blocked)
	$(BIN)/pytest tests/unit

.PHONY: template
template: install .venv-sam/.installed .venv-checkov/.installed ## cfn-lint, sam validate --lint, sam build, checkov
	$(BIN)/cfn-lint template.yaml
	.venv-sam/bin/sam validate --lint --template-file template.yaml
	$(MAKE) --no-print-directory build
	.venv-checkov/bin/checkov --quiet --compact --framework cloudformation --file template.yaml --config-file .checkov.yaml

.PHONY: build
build: .venv-sam/.installed ## sam build (python3.13 must resolve on PATH)
	PATH="$(dir $(PYTHON313)):$$PATH" .venv-sam/bin/sam build --template-file template.yaml

# `sam local` against `webhooks dev --aws-only` (README: `sam local`). SAM gets the emulator's
# dummy credentials and region, so no real AWS credentials ever reach a container.
SAM_ENV ?= env.local.json
FUNCTION ?= ReceiverFunction
EVENT ?= events/receiver-stripe.json
SAM_LOCAL = env -u AWS_PROFILE -u AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \
	.venv-sam/bin/sam local
define sam_local_checks
	@test -f "$(SAM_ENV)" || { echo "$(SAM_ENV) not found: start .venv/bin/webhooks dev --aws-only first (README: sam local)" >&2; exit 1; }
	@if [ "$$(uname -s)/$$(uname -m)" = Linux/x86_64 ] && [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then \
	  echo "note: the functions are arm64 and no arm64 emulation is registered on this x86_64 host; with Docker Engine run once:" >&2; \
	  echo "  docker run --privileged --rm tonistiigi/binfmt --install arm64" >&2; fi
endef

.PHONY: sam-local-invoke
sam-local-invoke: build ## sam local invoke FUNCTION (ReceiverFunction) with EVENT (events/receiver-stripe.json)
	$(sam_local_checks)
	@test -f "$(EVENT)" || { echo "$(EVENT) not found: .venv/bin/webhooks sam-events writes events/receiver-<source>.json" >&2; exit 1; }
	$(SAM_LOCAL) invoke $(FUNCTION) --event $(EVENT) --env-vars $(SAM_ENV) --region us-east-1 $(ARGS)

.PHONY: sam-local-api
sam-local-api: build ## sam local start-api on http://127.0.0.1:3000 (then: .venv/bin/webhooks send stripe)
	$(sam_local_checks)
	$(SAM_LOCAL) start-api --env-vars $(SAM_ENV) --region us-east-1 $(ARGS)

.PHONY: test-py311
test-py311: ## Run the tests on a plain python3.11 in .venv-3.11
	$(MAKE) --no-print-directory pytest VENV=.venv-3.11 PYTHON="$$(scripts/find-python 3.11)"

.PHONY: openapi
openapi: install ## Regenerate the committed OpenAPI document from the receiver's routes
	PYTHONPATH=layers/core $(BIN)/python -m functions.receiver.openapi > openapi.json

.PHONY: soak
soak: install ## Soak the local stack: 10,000 deliveries, duplicates, injected faults, flaky and poison handlers
	PYTHONPATH=layers/core $(BIN)/python -m benchmarks.soak --deliveries 10000

.PHONY: vectors
vectors: install ## Regenerate the conformance vectors (tests/conformance/vectors) from the providers' libraries
	PYTHONPATH=layers/core $(BIN)/python -m tests.conformance.generate

.PHONY: bench
bench: install ## Benchmarks: receiver cold init and warm CPU (ratios to baselines), local pipeline throughput
	PYTHONPATH=layers/core $(BIN)/python -m benchmarks.receiver
	PYTHONPATH=layers/core $(BIN)/python -m benchmarks.pipeline

.PHONY: deploy
deploy: build ## sam deploy (guided the first time: make deploy ARGS=--guided)
	.venv-sam/bin/sam deploy $(ARGS)

.PHONY: lock
lock: ## Re-lock every requirements file with hashes (needs uv)
	cd requirements && for spec in layer:../layers/core/requirements.txt dev:dev.txt checkov:checkov.txt; do \
	  uv pip compile --universal --python-version 3.11 --generate-hashes --no-header -q "$${spec%%:*}.in" -o "$${spec#*:}"; done
	cd requirements && uv pip compile --python-version 3.13 --generate-hashes --no-header -q sam.in -o sam.txt

.PHONY: clean
clean: ## Remove build output and virtual environments
	rm -rf .aws-sam .venv .venv-3.11 .venv-sam .venv-checkov .pytest_cache .mypy_cache .ruff_cache
