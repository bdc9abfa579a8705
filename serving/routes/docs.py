"""The API docs at /docs: Swagger UI from the installed ``swagger-ui-bundle-v2`` package, so the
page works without network, started by a static script rather than FastAPI's inline one, which
the Content-Security-Policy of every page (``middleware.CSP``) would block."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from continuity.serving.templating import render

SWAGGER_UI = "/static/swagger-ui"
swagger_ui_files = StaticFiles(directory=swagger_ui_path)

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def docs(request: Request) -> HTMLResponse:
    return render(request, "docs.html", assets=SWAGGER_UI, openapi_url=request.app.openapi_url)
