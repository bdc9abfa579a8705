"""Error answers that name what went wrong, so a caller can fix the request without reading logs."""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from continuity.serving.i18n import N_, SOURCE_LOCALE, PageError, gettext_for
from continuity.serving.store import NothingPublished
from continuity.serving.templating import render


def _where(loc: tuple[str | int, ...]) -> str:
    """("query", "page") -> "query parameter 'page'": the words a caller searches the docs for."""
    if len(loc) >= 2 and loc[0] in ("query", "path", "header"):
        return f"{loc[0]} parameter '{'.'.join(map(str, loc[1:]))}'"
    return ".".join(map(str, loc))


def _json_safe(value: Any) -> Any:
    """NaN and Infinity as the words the caller sent: Python reads them in a JSON body, JSON cannot
    write them, and a validation error echoes the bad input back."""
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(value)
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 with a one-line message naming each bad parameter next to its structured detail."""
    errors = _json_safe(jsonable_encoder(exc.errors()))
    message = "; ".join(f"{_where(tuple(e['loc']))}: {e['msg']}" for e in errors)
    return JSONResponse(status_code=422, content={"message": message, "detail": errors})


async def nothing_published(request: Request, exc: NothingPublished) -> Response:
    """503 rather than 500: the service is fine, the weekly run has not published a week yet; the
    web page says so in words, with what to do."""
    return await problem(request, StarletteHTTPException(503, str(exc)))


TITLES = {401: N_("Please log in"), 403: N_("Not allowed"), 404: N_("Not found"), 413: N_("Request too large"),
          503: N_("No scores published yet")}
OTHER_TITLE = N_("Something went wrong")


async def problem(request: Request, exc: StarletteHTTPException) -> Response:
    """JSON for the API; for the web page a login redirect (401) or an HTML page naming the problem."""
    if not request.url.path.startswith("/ui"):
        return await http_exception_handler(request, exc)
    if exc.status_code == 401:
        return RedirectResponse("/ui/login", status_code=303)
    # The page's own messages are in the catalogue, or worded by their route (PageError); an answer the API
    # shares (a scope refusal naming an id) is not: it shows as the API words it, marked as English, under a
    # title in the reader's language.
    gettext = gettext_for(request).gettext
    detail = str(exc.detail) if isinstance(exc, PageError) else gettext(str(exc.detail))
    english = not isinstance(exc, PageError) and detail == str(exc.detail)
    return render(request, "error.html", exc.status_code, title=gettext(TITLES.get(exc.status_code, OTHER_TITLE)),
                  detail=detail, detail_lang=SOURCE_LOCALE if english else None, week=None)
