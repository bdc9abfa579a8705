# Two commands for a newcomer: `make demo` and `make test`. Both install what they
# need (uv in a private tool folder, then the locked environment in .venv).
.PHONY: setup demo test clean

PYTHON ?= python3
# The web-page tests drive Debian's Chromium headless (no browser download at run time).
BROWSER := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
UV := .tools/bin/uv
VENV := .venv

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==0.13.9

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	UV_PYTHON_DOWNLOADS=never $(UV) sync --frozen --python 3.11
	touch $@

$(BROWSER):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

setup: $(VENV)/.synced

demo: setup
	$(VENV)/bin/continuity demo

test: setup $(BROWSER)
	$(VENV)/bin/python -m pytest -n auto

clean:
	rm -rf var .pytest_cache
