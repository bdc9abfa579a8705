"""docs/ai-act.md names the tests that meet each obligation: every one of them must exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REFERENCE = re.compile(r"\b(tests/[\w/]+\.py)::(test_\w+)")
ARTICLES = ("Art. 9:", "Art. 10:", "Art. 11:", "Art. 12:", "Art. 13:", "Art. 14:", "Art. 15:", "Art. 26:",
            "Art. 27:", "Art. 72:", "Art. 86:")


def defined_tests(path: Path) -> set[str]:
    """The test functions a file defines, at module level or in a test class, as pytest collects them."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = [*tree.body, *(n for c in tree.body if isinstance(c, ast.ClassDef) for n in c.body)]
    return {n.name for n in nodes if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name.startswith("test_")}


def test_every_test_named_in_the_ai_act_map_exists():
    text = (REPO / "docs" / "ai-act.md").read_text(encoding="utf-8")
    references = REFERENCE.findall(text)
    assert len(references) >= 20, "the map names too few tests to cover its obligations"
    missing = [f"{file}::{name}" for file, name in references
               if not (REPO / file).is_file() or name not in defined_tests(REPO / file)]
    assert not missing, f"docs/ai-act.md names tests that do not exist: {missing}"


def test_the_ai_act_map_covers_every_article_the_issue_names():
    headings = [line[4:] for line in (REPO / "docs" / "ai-act.md").read_text(encoding="utf-8").splitlines()
                if line.startswith("### ")]
    missing = [article for article in ARTICLES if not any(h.startswith(article) for h in headings)]
    assert not missing, f"docs/ai-act.md has no section for {missing}"


def test_the_check_finds_a_missing_test(tmp_path):
    module = tmp_path / "test_x.py"
    module.write_text("def test_here():\n    pass\n\nclass TestGroup:\n    def test_inside(self):\n        pass\n")
    assert defined_tests(module) == {"test_here", "test_inside"}
