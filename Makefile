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
# The fake Telegram Bot API server the gateway's end-to-end tests talk to (npm).
FAKE_TELEGRAM := tests/e2e/fake_telegram
# Browser libraries the console serves itself (npm, pinned by the lock file): Chart.js's UMD build.
CONSOLE_ASSETS := backend/console/assets
CHART_JS := backend/console/static/vendor/chart.umd.min.js

.PHONY: setup browser run test lint bench bench-chat bench-outreach chat lock clean help train nlu-test actions-test tune-fallback

help:
	@echo "make run     start everything on the embedded default (SQLite under var/) with demo data"
	@echo "make test    lint, types and every test (PostgreSQL at TEST_DATABASE_URL too)"
	@echo "make setup   create .venv (Python 3.11) and .venv-rasa (Python 3.10) from the lock files"
	@echo "make train   train the Rasa model if its data or config changed"
	@echo "make chat    chat with the running assistant in this terminal (after make run)"
	@echo "make bench   portfolio benchmark: 100,000 loans on SQLite and PostgreSQL"
	@echo "make bench-chat  concurrent borrowers through the web chat of the running stack"
	@echo "make bench-outreach  reminders: plan 1,000,000 loans on PostgreSQL, deliver 300 via the gateway"
	@echo "make lock    re-resolve requirements/*.in into the pinned requirements/*.txt"

setup: $(VENV)/.installed $(RASA_VENV)/.installed $(FAKE_TELEGRAM)/node_modules/.installed $(CHART_JS)

# Chromium and CJK fonts for the console's browser tests (apt-get when root; else a hint).
browser:
	@scripts/install-browser

$(FAKE_TELEGRAM)/node_modules/.installed: $(FAKE_TELEGRAM)/package-lock.json
	@command -v npm >/dev/null || { echo "Node.js and npm are needed for the Telegram tests: install them (Debian: apt-get install nodejs npm)"; exit 1; }
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

run: setup train
	@$(PY) -m bot urls
	@$(VENV)/bin/honcho start -f Procfile

chat: $(VENV)/.installed
	@$(PY) -m bot chat

train: setup
	@cd nlu && $(RASA_PY) train.py

# NLU scored on the held-out split (thresholds in nlu/score.py), data validated, dialogue stories.
nlu-test: train
	cd nlu && $(RASA_PY) -m rasa data validate --domain domain --data data --config config.yml --fail-on-warnings
	cd nlu && $(RASA_PY) score.py
	cd nlu && mkdir -p results && $(RASA_PY) -m rasa test core --model "$$($(RASA_PY) train.py --path)" --stories tests/stories.yml \
	  --fail-on-prediction-errors --out results/core > results/core.log 2>&1 || { tail -40 results/core.log; exit 1; }

# The action server's tests run in the Rasa virtualenv against a real backend.
actions-test: setup
	.venv-rasa/bin/python -m pytest -q tests/actions

# Choose the fallback thresholds by cross-validation (slow: trains once per fold).
tune-fallback: setup
	cd nlu && $(RASA_PY) tune_fallback.py

test: setup browser train
	$(VENV)/bin/ruff check backend bot actions tests bench
	$(VENV)/bin/ruff format --check backend bot actions tests bench
	$(VENV)/bin/mypy backend bot
	$(VENV)/bin/pytest
	$(MAKE) --no-print-directory actions-test
	$(MAKE) --no-print-directory nlu-test

bench: setup
	$(PY) -m bench.portfolio

# Needs the stack running (make run in another terminal).
bench-chat: $(VENV)/.installed
	$(PY) -m bench.chat_load

# PostgreSQL at BENCH_DATABASE_URL (a throwaway schema); starts its own backend, gateway and
# fake Telegram server.
bench-outreach: $(VENV)/.installed $(FAKE_TELEGRAM)/node_modules/.installed
	$(PY) -m bench.outreach

lock:
	@rm -rf .lock-venv && $(PYTHON311) -m venv .lock-venv
	@.lock-venv/bin/pip install -q -r requirements/app.in && { echo "# Locked from requirements/app.in by \`make lock\`; install this file, edit the .in file."; .lock-venv/bin/pip freeze --exclude pip; } > requirements/app.txt
	@.lock-venv/bin/pip install -q -r requirements/dev.in && { echo "# Locked from requirements/dev.in by \`make lock\`; install this file, edit the .in file."; .lock-venv/bin/pip freeze --exclude pip; } > requirements/dev.txt
	@rm -rf .lock-venv && $$(scripts/find-python310) -m venv .lock-venv
	@.lock-venv/bin/pip install -q -r requirements/rasa.in && { echo "# Locked from requirements/rasa.in by \`make lock\`; install this file, edit the .in file."; .lock-venv/bin/pip freeze --exclude pip; } > requirements/rasa.txt
	@rm -rf .lock-venv

clean:
	rm -rf $(VENV) $(RASA_VENV) $(FAKE_TELEGRAM)/node_modules $(CONSOLE_ASSETS)/node_modules $(dir $(CHART_JS)) var .mypy_cache .ruff_cache .pytest_cache .hypothesis
