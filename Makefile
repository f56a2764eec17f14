# Every target bootstraps what it needs from nothing: a Python >= 3.11, Java 17
# and Maven on PATH are the only prerequisites (see README.md).
.DEFAULT_GOAL := help
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
KAFKA_LIBS := .cache/kafka/libs/.fetched

# The suite, the stack and the demo start many Python processes, and each one compiles
# every module it imports unless bytecode is cached: with PYTHONDONTWRITEBYTECODE set (as
# on our CI machines) that was a third of `make test-fast`. Cache it (__pycache__ is
# ignored by git; the venv's own is compiled by scripts/bootstrap.sh).
export PYTHONDONTWRITEBYTECODE :=

.PHONY: help venv kafka-jars test test-fast lint demo bench chaos up down docs screenshots conformance clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

venv: ## create .venv from uv.lock (pinned)
	@scripts/bootstrap.sh

kafka-jars: ## fetch the pinned Apache Kafka jars from Maven Central into .cache/kafka
	@deploy/kafka/fetch.sh

# pytest-xdist workers. The suite mostly waits (sockets, Kafka, child processes), so more
# workers than the 2 cores it was sized on pay off, up to the cost of each worker's own
# start (imports and collection, ~3 s of CPU with bytecode cached) and Kafka. Measured on
# 2 cores (make test-fast's selection, bytecode cached): 2 workers 42 s, 4 workers 37 s.
# Each worker has its own Kafka and PostgreSQL (tests/conftest.py); `loadgroup` keeps an
# end-to-end module, whose tests share one stack, on one worker.
TEST_WORKERS ?= 4

test: venv kafka-jars ## run the whole test suite in parallel (starts Kafka and PostgreSQL when needed)
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadgroup

# No Kafka, no PostgreSQL server, no child Python processes (their SQLite twins do run),
# no end-to-end stack. `worksteal` evens out the uneven tail. 40 s from a fresh clone here.
test-fast: venv ## the tests that need no broker, server or child process, in parallel: under a minute
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist worksteal -m "not kafka and not e2e and not process and not postgres"

lint: venv ## ruff and mypy (strict)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy services schemas sandboxes mlc tests benchmarks devstack chaos

demo: venv kafka-jars ## every built flow end to end (FLOW=<flow> for one): stack up, connect, link, play, stack down
	$(PY) -m devstack.demo $(if $(FLOW),--flow $(FLOW))

bench: venv kafka-jars ## run the benchmarks and write docs/benchmarks.md
	$(PY) -m benchmarks

chaos: venv kafka-jars ## the fault suite on the stack of every built flow; writes docs/reliability.md
	$(PY) -m chaos

up: venv kafka-jars ## start the local stack, connected and linked, in the background (.run/stack.json)
	@$(PY) -m devstack.stack up

down: ## stop what `make up` started
	@if [ -x $(PY) ]; then $(PY) -m devstack.stack down; fi

docs: venv ## regenerate docs/schemas/*.json and docs/asyncapi.yaml from the code
	$(PY) -m schemas.export docs/schemas
	$(PY) -m services.asyncapi docs/asyncapi.yaml

screenshots: venv kafka-jars ## the console's pages as PNGs in docs/console/ (headless Chromium on flows 1 and 5)
	$(PY) -m devstack.console_screenshots

conformance: venv ## replay ../shared/reference recordings against the sandboxes (optional)
	$(PY) -m sandboxes.conformance

clean: down ## remove caches, the virtualenv and local state
	rm -rf $(VENV) .cache .run
