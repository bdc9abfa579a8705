# Two commands for a newcomer: `make demo` and `make test`. Both install what they
# need (uv in a private tool folder, then the locked environment in .venv).
.PHONY: setup demo test clean

PYTHON ?= python3
UV := .tools/bin/uv
VENV := .venv

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==0.13.9

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	UV_PYTHON_DOWNLOADS=never $(UV) sync --frozen --python 3.11
	touch $@

setup: $(VENV)/.synced

demo: setup
	$(VENV)/bin/continuity demo

test: setup
	$(VENV)/bin/python -m pytest

clean:
	rm -rf var .pytest_cache
