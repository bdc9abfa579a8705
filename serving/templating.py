"""The Jinja2 environment of the web page, shared by the page routes and the error pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from continuity.advisory import ADVISORY, OUT_OF_SCOPE

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
templates.env.filters["pct"] = lambda p: "–" if p is None else f"{100 * p:.1f}%"
templates.env.filters["pp"] = lambda d: "new" if d is None else f"{100 * d:+.1f} pp"


def shown(p: float | None, low: float | None = None, high: float | None = None, withheld: str | None = None) -> str:
    """A person's probability as the page shows it: '18.0% (12.0–25.0%)' with its 90% interval, or 'withheld'."""
    if withheld:
        return "withheld"
    if p is None:
        return "–"
    interval = "" if low is None or high is None else f" ({100 * low:.1f}–{100 * high:.1f}%)"
    return f"{100 * p:.1f}%{interval}"


templates.env.globals["shown"] = shown
# An id as one path segment of a link; Jinja's own urlencode leaves "/" as it is.
templates.env.filters["segment"] = lambda value: quote(str(value), safe="")
# Every page says what its figures are not for (continuity.advisory).
templates.env.globals.update(advisory=ADVISORY, out_of_scope=OUT_OF_SCOPE)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code)
