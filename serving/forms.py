"""The web page's forms, parsed here: plain urlencoded bodies of a few fields need no multipart dependency."""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import Request


async def form_fields(request: Request) -> dict[str, list[str]] | None:
    """Every value of each field, in the order sent (a group of checkboxes sends one name many times).
    A form is ASCII, its other characters percent-encoded as UTF-8; anything else is None."""
    try:
        return parse_qs((await request.body()).decode("ascii"), errors="strict")
    except UnicodeDecodeError:
        return None
