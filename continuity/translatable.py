"""The marker of a string the web page translates (``continuity.serving.i18n``), in the ground package so that
a module the weekly run and the service share (``continuity.advisory``) can mark its sentences too."""

from __future__ import annotations


def N_(message: str) -> str:
    """Marks a string for Babel's extraction where it is defined; it is translated where it is shown, in the
    reader's language, which a module-level constant cannot know."""
    return message
