"""Running the command line as a new user would: in a home the commands find through the environment."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from continuity.cli import app
from continuity.config import Settings


@pytest.fixture
def home(tmp_path, monkeypatch) -> Settings:
    """An empty home the commands find through the environment."""
    monkeypatch.setenv("CONTINUITY_HOME", str(tmp_path))
    return Settings()


def invoke(*args: str) -> tuple[int, str]:
    """A command as a pipe sees it: CliRunner's output is not a terminal."""
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output
