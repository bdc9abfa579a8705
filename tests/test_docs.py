"""The repository explains itself: no file sends a reader outside it, and every cited section exists.

Code comments and docstrings cite the documents in ``docs/`` as ``docs/<file>.md#<anchor>``;
the anchor is the GitHub anchor of a heading of that file. Documents outside the repository
(the product brief and the evidence notes it was built from) are not shipped with it, so no
source or document file may name them or point into the folder beside the repository. A
*data* path into that folder (the public IBM file under its ``data/``) is no document and is
allowed.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
SUFFIXES = {".py", ".md", ".html"}
SKIPPED = {".venv", ".tools", ".git", "var", "node_modules", "__pycache__"}

# Spelled so that this file does not match itself.
OUTSIDE = re.compile(r"\b(?:DESIGN|EVIDENCE)\.md\b|\.\./shared/(?!data\b)")
CITATION = re.compile(r"\bdocs/([\w.-]+\.md)(?:#([\w-]+))?")
LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def _files() -> list[Path]:
    """Tracked files and new files git does not ignore; every file but the skipped folders without git."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
        paths = [REPO / p for p in listed if p]
    except (OSError, subprocess.CalledProcessError):
        paths = [p for p in REPO.rglob("*") if not SKIPPED & set(p.relative_to(REPO).parts)]
    return sorted(p for p in paths
                  if p.suffix in SUFFIXES and p.is_file() and not SKIPPED & set(p.relative_to(REPO).parts))


FILES = _files()


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", heading)
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(document: Path) -> set[str]:
    """Every heading anchor of a Markdown file, numbered as GitHub numbers repeated ones."""
    seen: dict[str, int] = {}
    found = set()
    fenced = False
    for line in document.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else HEADING.match(line)
        if match:
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def test_the_documents_exist():
    assert (DOCS / "evidence.md").is_file()
    assert (DOCS / "definitions.md").is_file()
    assert any(p.suffix == ".py" for p in FILES), "found no source files to check"


def test_no_file_points_outside_the_repository():
    offending = [f"{path.relative_to(REPO)}:{number}: {line.strip()}"
                 for path in FILES
                 for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
                 if OUTSIDE.search(line)]
    assert not offending, "cite docs/ instead of documents outside the repository:\n" + "\n".join(offending)


def test_every_cited_document_and_section_exists():
    known: dict[str, set[str]] = {}
    broken = []
    for path in FILES:
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            for name, anchor in CITATION.findall(line):
                document = DOCS / name
                if not document.is_file():
                    broken.append(f"{path.relative_to(REPO)}:{number}: no file docs/{name}")
                    continue
                known.setdefault(name, anchors(document))
                if anchor and anchor not in known[name]:
                    broken.append(f"{path.relative_to(REPO)}:{number}: docs/{name} has no heading #{anchor}")
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("document", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_links_inside_the_documents_resolve(document: Path):
    broken = []
    for target in LINK.findall(document.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target):
            continue  # a web address
        name, _, anchor = target.partition("#")
        linked = (document.parent / name) if name else document
        if not linked.exists():
            broken.append(target)
        elif anchor and anchor not in anchors(linked):
            broken.append(target)
    assert not broken, f"{document.name}: broken links {broken}"


def test_the_readme_lists_every_document():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [p.name for p in sorted(DOCS.glob("*.md")) if f"docs/{p.name}" not in readme]
    assert not missing, f"README.md does not list {missing}"


def test_slug_follows_github():
    assert slug("Hazard ratios per driver") == "hazard-ratios-per-driver"
    assert slug("Aggregates and small-cell suppression") == "aggregates-and-small-cell-suppression"
    assert slug("The `champion` model (v2)!") == "the-champion-model-v2"
    assert slug("`p_26w` and [links](x.md)") == "p_26w-and-links"
