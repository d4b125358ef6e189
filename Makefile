# The README's commands. `make run` and `make test` work on a fresh clone: they set up first.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec

PYTHON311 ?= python3.11
VENV := .venv
RASA_VENV := .venv-rasa
PY := $(VENV)/bin/python
# pip's quiet mode still lists index locations it skips; keep the log readable.
PIP_FILTER := grep -v "is ignored: it is neither" || true

RASA_PY := ../.venv-rasa/bin/python
# The fake Telegram Bot API server the gateway's end-to-end tests and bench-outreach talk to (npm).
FAKE_TELEGRAM := tools/fake_telegram
# Browser libraries the console serves itself (npm, pinned by the lock file): Chart.js's UMD build.
CONSOLE_ASSETS := backend/console/assets
CHART_JS := backend/console/static/vendor/chart.umd.min.js

.PHONY: setup browser run run-prod prod-deps test test-prod lint test-python test-e2e bench bench-rasa compliance-check bench-chat bench-calls bench-snapshots bench-risk bench-outreach fault-matrix capacity profile chat lock clean help train nlu-test actions-test tune-fallback

help:
	@echo "make run     start everything on the embedded default (SQLite under var/) with demo data"
	@echo "make run-prod  docker-compose.yml's production topology as local processes: PostgreSQL,"
	@echo "             Redis, two of each service, nginx in front (state under var/prod)"
	@echo "make test    lint, types and every test (PostgreSQL at TEST_DATABASE_URL too)"
	@echo "make test-prod  make run-prod's topology: journeys through nginx, replicas, faults (CI runs it)"
	@echo "make setup   create .venv (Python 3.11) and .venv-rasa (Python 3.10) from the lock files"
	@echo "make train   train the Rasa model if its data or config changed"
	@echo "make chat    chat with the running assistant in this terminal (after make run)"
	@echo "make tune-fallback  choose the fallback thresholds by cross-validation (SMALL=1: a quick check)"
	@echo "make bench   portfolio benchmark: 100,000 loans on SQLite and PostgreSQL (LOANS=N for another size)"
	@echo "make bench-chat  concurrent borrowers through the web chat of the running stack (BORROWERS=5 TURNS=3 smaller)"
	@echo "make bench-calls  with make run running: the backend's CPU per call of a borrower message (BACKENDS=url,url to compare, AT_ONCE=n in flight)"
	@echo "make profile  with make run running: where one part's time goes, a flame graph (PART=rasa|gateway|backend|actions)"
	@echo "make compliance-check  the reminder rules against 100,000 random cases (CASES=N): 0 violations"
	@echo "make bench-snapshots  the daily portfolio snapshot of 1,000,000 loans on PostgreSQL (LOANS=N DAYS=N)"
	@echo "make bench-risk SCHEMA=name  month-end snapshots, training and scoring on bench-snapshots' kept schema"
	@echo "make bench-outreach  reminders: plan 1,000,000 loans on PostgreSQL, deliver 300 via the gateway"
	@echo "             (LOANS=N DELIVER=N for other sizes)"
	@echo "make fault-matrix  make run-prod's topology under load, one fault at a time (replicas killed,"
	@echo "             PostgreSQL restarted, Redis down, slow actions, Telegram failing): a table of"
	@echo "             messages sent, answered, late and lost (CASES=redis,rasa SHORT=1: fewer, shorter)"
	@echo "make capacity  with make run-prod running: CPU per borrower message by part, and the cores"
	@echo "             and replicas 1,000,000 borrowers and 200,000 messages a day need"
	@echo "make lock    re-resolve requirements/*.in into the pinned requirements/*.txt"

setup: $(VENV)/.installed $(RASA_VENV)/.installed $(FAKE_TELEGRAM)/node_modules/.installed $(CHART_JS)

# Chromium and CJK fonts for the console's browser tests (apt-get when root; else a hint).
browser:
	@scripts/install-browser

$(FAKE_TELEGRAM)/node_modules/.installed: $(FAKE_TELEGRAM)/package-lock.json
	@command -v npm >/dev/null || { echo "Node.js and npm are needed for the Telegram tests: install them (Debian: apt-get install nodejs npm)"; exit 1; }
	@node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 18 ? 1 : 0)' || { echo "Node.js 18 or newer is needed for the fake Telegram server (tools/fake_telegram): this is $$(node --version)"; exit 1; }
	@echo "installing the fake Telegram Bot API server (npm ci)"
	@npm ci --prefix $(FAKE_TELEGRAM) --no-audit --no-fund --loglevel=error >/dev/null
	@touch $@

# The copied file is the stamp: a new lock file copies it again. The backend needs no node to run.
$(CHART_JS): $(CONSOLE_ASSETS)/package-lock.json
	@command -v npm >/dev/null || { echo "Node.js and npm are needed for the console's charts: install them (Debian: apt-get install nodejs npm)"; exit 1; }
	@echo "installing the console's Chart.js (npm ci)"
	@npm ci --prefix $(CONSOLE_ASSETS) --no-audit --no-fund --loglevel=error >/dev/null
	@mkdir -p $(@D) && cp $(CONSOLE_ASSETS)/node_modules/chart.js/dist/chart.umd.min.js $@

$(VENV)/.installed: requirements/dev.txt requirements/app.txt
	@command -v $(PYTHON311) >/dev/null || { echo "Python 3.11 is needed: install python3.11 (or set PYTHON311=/path/to/python3.11)"; exit 1; }
	@test -x $(PY) || $(PYTHON311) -m venv $(VENV)
	@echo "installing .venv from requirements/dev.txt"
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements/dev.txt 2>&1 | $(PIP_FILTER)
	@touch $@

$(RASA_VENV)/.installed: requirements/rasa.txt
	@py310=$$(scripts/find-python310) || { \
	  echo "Rasa 3.6 needs Python 3.10, and none was found."; \
	  echo "Install it (for example 'pyenv install 3.10' or your system's python3.10 package),"; \
	  echo "or point PYTHON310 at it: make setup PYTHON310=/path/to/python3.10"; exit 1; }; \
	test -x $(RASA_VENV)/bin/python || $$py310 -m venv $(RASA_VENV)
	@echo "installing .venv-rasa from requirements/rasa.txt (Rasa, TensorFlow: a few minutes the first time)"
	@$(RASA_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements/rasa.txt 2>&1 | $(PIP_FILTER)
	@touch $@

# Migrate and seed before any process starts (none of them touches a half-made schema), then
# every Procfile process under scripts/run_stack.py (restarts a crashed one; Ctrl-C stops all).
run: setup train
	@$(PY) -m backend seed-demo
	@$(PY) scripts/run_stack.py Procfile

# docker-compose.yml's topology without Docker (scripts/run_prod.py): its own PostgreSQL and
# Redis, two of each service, nginx on 8000 and 8080. PORTS_FROM=N moves the published ports.
run-prod: setup train prod-deps
	@$(PY) scripts/run_prod.py $(if $(PORTS_FROM),--ports-from $(PORTS_FROM))

# nginx, redis-server and PostgreSQL's programs (apt-get when root; else what to install).
prod-deps:
	@scripts/install-prod-deps

chat: $(VENV)/.installed
	@$(PY) -m bot chat $(ARGS)

train: setup
	@cd nlu && $(RASA_PY) train.py

# Data validated, NLU scored on the held-out split (thresholds in nlu/check.py), dialogue test
# stories: one process, one model load.
nlu-test: train
	cd nlu && $(RASA_PY) check.py

# The action server's tests run in the Rasa virtualenv against a real backend; tests/rasa reads
# the shipped Rasa files with Rasa's own code.
actions-test: setup
	.venv-rasa/bin/python -m pytest -q tests/actions
	.venv-rasa/bin/python -m pytest -q tests/rasa

# Choose the fallback thresholds by cross-validation (slow: trains once per fold). SMALL=1: two
# folds on a sample, a short training; it checks that the steps run and chooses nothing.
tune-fallback: setup
	cd nlu && $(RASA_PY) tune_fallback.py $(if $(SMALL),--small)

# Every phase timed, a table of them at the end (scripts/test_phases.py). Phases joined by + run
# at the same time: the training keeps both cores busy while the tests that need no model run,
# and the end-to-end tests wait on processes while the Rasa-side suites run.
test:
	@$(PYTHON311) scripts/test_phases.py setup browser train+lint+test-python test-e2e+actions-test+nlu-test

lint: setup
	$(VENV)/bin/ruff check backend bot actions tests bench scripts
	$(VENV)/bin/ruff format --check backend bot actions tests bench scripts
	$(VENV)/bin/mypy -p backend -p bot -m scripts.run_stack -m scripts.run_prod -m scripts.compose_plan

# Unit, API, integration (SQLite and PostgreSQL) and process tests, on both cores.
test-python: setup
	$(VENV)/bin/pytest -n 2 --dist loadfile --durations=15 --ignore=tests/e2e --ignore=tests/prod

# The running processes: the shared stack on one worker; `make run` from a fresh copy, the
# dashboard and the backend process on the other (xdist groups in each file).
test-e2e: setup browser train
	$(VENV)/bin/pytest -n 2 --dist loadgroup --durations=10 tests/e2e

# make run-prod's topology (tests/prod): borrowers through nginx, the replicas, the faults.
# Not part of make test (it takes minutes of its own); .ci/run runs it after make test.
test-prod: setup browser train prod-deps
	$(VENV)/bin/pytest -q tests/prod

bench: setup
	$(PY) -m bench.portfolio $(if $(LOANS),--loans $(LOANS))

# The reminder rules (window, days, holidays, quiet periods, caps, holds, preferences, limits by
# days past due) against random cases in many time zones, checked by an oracle of their own.
compliance-check: $(VENV)/.installed
	$(PY) -m backend compliance check $(if $(CASES),--cases $(CASES)) $(if $(SEED),--seed $(SEED))

# Needs the stack running (make run in another terminal). BORROWERS=5 TURNS=3 for a small run.
bench-chat: $(VENV)/.installed
	$(PY) -m bench.chat_load $(if $(BORROWERS),--borrowers $(BORROWERS)) $(if $(TURNS),--turns $(TURNS)) $(if $(ROUNDS),--rounds $(ROUNDS)) $(if $(MIN_MESSAGES),--min-messages $(MIN_MESSAGES)) $(if $(CHANNEL),--channel)

# With make run running: the backend's CPU and wall time per /inbound and per turn call;
# BACKENDS=url,url takes turns between backends (another checkout's on another port).
bench-calls: $(VENV)/.installed
	$(PY) -m bench.message_calls $(if $(BACKENDS),--backends $(BACKENDS)) $(if $(CALLS),--calls $(CALLS)) $(if $(ROUNDS),--rounds $(ROUNDS)) $(if $(AT_ONCE),--at-once $(AT_ONCE))

# PostgreSQL at BENCH_DATABASE_URL (a throwaway schema; SCHEMA=name keeps it and resumes).
bench-snapshots: $(VENV)/.installed
	$(PY) -m bench.snapshots $(if $(LOANS),--loans $(LOANS)) $(if $(DAYS),--days $(DAYS)) $(if $(SCHEMA),--schema $(SCHEMA))

# On the schema bench-snapshots kept (SCHEMA=name, required); MONTHS=N month ends (4).
bench-risk: $(VENV)/.installed
	$(PY) -m bench.risk --schema $(SCHEMA) $(if $(MONTHS),--months $(MONTHS))

# PostgreSQL at BENCH_DATABASE_URL (a throwaway schema); starts its own backend, gateway and
# fake Telegram server.
bench-outreach: $(VENV)/.installed $(FAKE_TELEGRAM)/node_modules/.installed
	$(PY) -m bench.outreach $(if $(LOANS),--loans $(LOANS)) $(if $(DELIVER),--deliver $(DELIVER))

# Starts its own topology (as make run-prod, on free ports, in a new folder) and the fake
# Telegram server; about 15 minutes for every case.
fault-matrix: setup train prod-deps
	$(PY) -m bench.fault_matrix $(if $(CASES),--cases $(CASES)) $(if $(SHORT),--short)

# What nlu/serve.py's changes to Rasa save, in one process on the trained model (EACH=1: each
# change priced alone too); needs no running stack.
bench-rasa: setup train
	cd nlu && $(RASA_PY) ../bench/rasa_changes.py $(if $(ROUNDS),--rounds $(ROUNDS)) $(if $(EACH),--each)

# Needs make run running (another terminal): a flame graph and a summary of where one part's
# time goes while borrowers chat (PART=rasa, gateway, backend or actions; DURATION seconds).
profile: $(VENV)/.installed
	$(PY) -m bench.profile $(or $(PART),rasa) $(if $(DURATION),--seconds $(DURATION))

# Needs make run-prod running (another terminal): CPU per message by part, then the sizing.
capacity: $(VENV)/.installed
	$(PY) -m bench.capacity $(if $(BORROWERS),--borrowers $(BORROWERS)) $(if $(TURNS),--turns $(TURNS))

lock:
	@rm -rf .lock-venv && $(PYTHON311) -m venv .lock-venv
	@.lock-venv/bin/pip install -q -r requirements/app.in && { echo "# Locked from requirements/app.in by \`make lock\`; install this file, edit the .in file."; .lock-venv/bin/pip freeze --exclude pip; } > requirements/app.txt
	@.lock-venv/bin/pip install -q -r requirements/dev.in && { echo "# Locked from requirements/dev.in by \`make lock\`; install this file, edit the .in file."; .lock-venv/bin/pip freeze --exclude pip; } > requirements/dev.txt
	@rm -rf .lock-venv && $$(scripts/find-python310) -m venv .lock-venv
	@.lock-venv/bin/pip install -q -r requirements/rasa.in && { echo "# Locked from requirements/rasa.in by \`make lock\`; install this file, edit the .in file."; .lock-venv/bin/pip freeze --exclude pip; } > requirements/rasa.txt
	@rm -rf .lock-venv

clean:
	rm -rf $(VENV) $(RASA_VENV) $(FAKE_TELEGRAM)/node_modules $(CONSOLE_ASSETS)/node_modules $(dir $(CHART_JS)) var .mypy_cache .ruff_cache .pytest_cache .hypothesis
