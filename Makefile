# Two commands for a newcomer: `make demo` and `make test`. Both install what they
# need (uv in a private tool folder, then the locked environment in .venv).
.PHONY: setup demo test clean

PYTHON ?= python3
# The web-page tests drive Debian's Chromium headless (no browser download at run time).
BROWSER := /usr/bin/chromium
POSTGRES := /usr/bin/pg_ctlcluster
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
UV := .tools/bin/uv
VENV := .venv

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==0.13.9

# The demo needs only the runtime (no test tools); the tests need the full set. A
# runtime-only sync removes the test tools, so it also voids the test stamp.
$(VENV)/.synced-demo: pyproject.toml uv.lock | $(UV)
	UV_PYTHON_DOWNLOADS=never $(UV) sync --frozen --no-dev --python 3.11
	rm -f $(VENV)/.synced-test
	touch $@

$(VENV)/.synced-test: pyproject.toml uv.lock | $(UV)
	UV_PYTHON_DOWNLOADS=never $(UV) sync --frozen --extra dask --extra postgres --python 3.11
	touch $@ $(VENV)/.synced-demo

$(BROWSER):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

# MLflow's PostgreSQL store is tested against a server of Debian's package (tests/test_registry_postgres.py
# starts its own cluster on a free port); pg_ctlcluster comes with every Debian PostgreSQL server.
$(POSTGRES):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql

setup: $(VENV)/.synced-demo

demo: setup
	$(VENV)/bin/continuity demo

test: $(VENV)/.synced-test $(BROWSER) $(POSTGRES)
	$(VENV)/bin/python -m pytest -n auto

clean:
	rm -rf var .pytest_cache
