"""The Jinja2 environment of the web page, shared by the page routes and the error pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
templates.env.filters["pct"] = lambda p: "–" if p is None else f"{100 * p:.1f}%"
templates.env.filters["pp"] = lambda d: "new" if d is None else f"{100 * d:+.1f} pp"
# An id as one path segment of a link; Jinja's own urlencode leaves "/" as it is.
templates.env.filters["segment"] = lambda value: quote(str(value), safe="")


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code)
