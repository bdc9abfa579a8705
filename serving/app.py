"""The application: wires settings, the score store, the access store, routers and error answers together."""

from __future__ import annotations

from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from continuity.access import AccessStore
from continuity.config import Settings
from continuity.serving.deps import SectorAnswers
from continuity.serving.errors import invalid_request, nothing_published, problem
from continuity.serving.routes import api_router, pages
from continuity.serving.store import NothingPublished, ScoreStore

DESCRIPTION = """
Weekly forecasts of which social workers are likely to leave their organisation, and what
their leaving costs their clients. Advisory only: the scores support retention conversations
and handover planning and decide nothing about a person. Client ids are pseudonymised.

Every endpoint but `/health` needs a bearer token (`continuity token create --role ROLE`).
`hr` tokens see one organisation's workers, `manager` tokens their teams' workers, `sector`
tokens aggregates only, `admin` everything. Every read of an individual worker is recorded
in the audit log (`GET /audit`, admin only).

Every answer comes from the latest published score week. The web page for HR and managers
is at `/ui`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(title="continuity", version="0.1.0", description=DESCRIPTION)
    app.state.store = ScoreStore(settings.warehouse)
    app.state.access = AccessStore(settings.access_db)
    app.state.sector = SectorAnswers(settings)
    app.include_router(api_router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).resolve().parent / "static"), name="static")
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(NothingPublished, nothing_published)
    app.add_exception_handler(StarletteHTTPException, problem)
    return app


def serve(host: str, port: int, settings: Settings | None = None) -> None:
    """Run the API under uvicorn; the CLI's `continuity serve` calls this."""
    uvicorn.run(create_app(settings), host=host, port=port)
