"""The API application: wires settings, the score store, routers and error answers together."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from continuity.config import Settings
from continuity.serving.errors import invalid_request, nothing_published
from continuity.serving.routes import api_router
from continuity.serving.store import NothingPublished, ScoreStore

DESCRIPTION = """
Weekly forecasts of which social workers are likely to leave their organisation, and what
their leaving costs their clients. Advisory only: the scores support retention conversations
and handover planning and decide nothing about a person. Client ids are pseudonymised.

Every answer comes from the latest published score week.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(title="continuity", version="0.1.0", description=DESCRIPTION)
    app.state.store = ScoreStore(settings.warehouse)
    app.include_router(api_router)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(NothingPublished, nothing_published)
    return app


def serve(host: str, port: int, settings: Settings | None = None) -> None:
    """Run the API under uvicorn; the CLI's `continuity serve` calls this."""
    uvicorn.run(create_app(settings), host=host, port=port)
