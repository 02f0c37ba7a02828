# Two commands do all the set-up on a fresh machine (Python 3.11+ with venv):
#   make run    install what is needed, then run the gateway on the embedded SQLite file
#   make test   install what is needed, then lint, type-check and run the whole test suite
#   (CI also runs `make test-clock`: the date-sensitive tests under moved clocks)
#
# Installs are reproducible: every package comes from requirements/dev.txt (the Dockerfile uses
# requirements/runtime.txt), pinned with its hashes, and pip refuses anything else. After a change
# to the dependencies in pyproject.toml run `make lock`; tests/test_lockfile.py fails until then.
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --quiet

.PHONY: run test test-clock lint lock messages bench clean

$(INSTALLED): pyproject.toml requirements/dev.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

run: $(INSTALLED)
	$(BIN)/contactgate serve

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

# The date-sensitive modules again, with the clock moved (time-machine, in-process) to awkward
# moments and the test workspaces in a non-UTC zone: a test that reads the wall clock where it
# should inject time fails the day it is written, not on some month's last day.
CLOCK_TESTS := tests/gateway/test_periods.py tests/gateway/test_plan_cap.py \
  tests/store/test_reset_policy.py tests/store/test_reset_schedule.py tests/store/test_reset.py \
  tests/store/test_reset_zones.py tests/gateway/test_cli_reset.py tests/gateway/api/test_reset_api.py \
  tests/gateway/api/test_auth.py tests/gateway/test_vonage_concat.py tests/bots/test_notify.py \
  tests/bots/test_core.py tests/bots/test_owner_commands.py
CLOCKS := 2026-12-31T23:30:00-06:00@America/Mexico_City \
  2028-02-29T23:30:00-05:00@America/Guayaquil 2030-12-31T23:30:00+00:00@Asia/Tokyo

test-clock: $(INSTALLED)
	@for c in $(CLOCKS); do \
	  echo "== clock $${c%@*}, test workspaces in $${c#*@}"; \
	  CONTACTGATE_TEST_CLOCK=$${c%@*} CONTACTGATE_TEST_ZONE=$${c#*@} \
	    $(BIN)/pytest -q $(CLOCK_TESTS) || exit 1; \
	done

# Re-resolve the lock files after editing dependencies in pyproject.toml (needs the registry).
# Versions already locked are kept where they still fit; `make lock UPGRADE=1` takes new releases.
lock: $(INSTALLED)
	$(BIN)/uv pip compile $(LOCK_FLAGS) $(if $(UPGRADE),--upgrade) \
	  pyproject.toml requirements/build.in -o requirements/runtime.txt
	$(BIN)/uv pip compile $(LOCK_FLAGS) $(if $(UPGRADE),--upgrade) --extra dev \
	  pyproject.toml requirements/build.in -o requirements/dev.txt

# Bring the bots' catalogs (bots/locale/{es,en}/LC_MESSAGES/contactgate.po) up to date with the
# code: new messages come in empty (Spanish) or as their msgid (English); translate, then commit.
messages: $(INSTALLED)
	$(BIN)/python -m bots.locale

bench: $(INSTALLED)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
