"""Data flow one way: contract -> warehouse -> features -> models -> scores -> serving.

What answers (``serving``) and what plans and forecasts for it (``handover``, ``forecasts``) read only the
published week; proven on the import graph of every module in those folders, so that no
import, however deep in a function, reaches back into the contract tables or the generator.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ANSWERING = ("serving", "handover", "forecasts")
UPSTREAM = ("continuity.features", "continuity.synth")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth of the file (top level, functions, conditionals)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_the_import_scan_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from continuity.features.snapshots import snapshot_at\n")
    assert "continuity.features.snapshots" in imported_modules(module)


@pytest.mark.parametrize("folder", ANSWERING)
def test_answers_never_import_the_features_or_the_generator(folder):
    offending = {
        str(path.relative_to(ROOT)): sorted(m for m in imported_modules(path) if m.startswith(UPSTREAM))
        for path in sorted((ROOT / folder).rglob("*.py"))
    }
    assert {path: modules for path, modules in offending.items() if modules} == {}
