"""The application: wires settings, the score store, the access store, routers and error answers together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from continuity.access import AccessStore
from continuity.advisory import NOTICE
from continuity.config import Settings
from continuity.serving.auditing import AuditJournal
from continuity.serving.case_numbers import CaseNumbers
from continuity.serving.discontinuity import DiscontinuityMonitor
from continuity.serving.errors import invalid_request, nothing_published, problem
from continuity.serving.middleware import BodyLimit, SecurityHeaders
from continuity.serving.routes import aggregates, api_router, docs, pages, workbench
from continuity.serving.forecast_answers import ForecastAnswers
from continuity.publication import NothingPublished, Publications
from continuity.serving.store import ScoreStore

DESCRIPTION = f"""
Weekly forecasts of which social workers are likely to leave their organisation, and what
their leaving costs their clients. {NOTICE} Client ids are pseudonymised.

Every endpoint but `/health` needs a bearer token (`continuity token create --role ROLE`).
`hr` tokens see one organisation's workers, `manager` tokens their teams' workers, `sector`
tokens aggregates only, `admin` everything, `worker` tokens their own record at `/me` and nothing
else. Every read of an individual worker is recorded in the audit log (`GET /audit`, admin only);
hr and managers record what they did with a forecast (`POST /workers/{{worker_id}}/reviews`).

Sector bodies (and hr, admin) read the aggregates (`GET /aggregates`: expected leavers per cell), the
sector's inflow (`GET /inflow`: hires, net change in staff and clients without a steady worker, one to
three years ahead) and the tender calendar (`GET /funding-contracts`), small cells suppressed.

Every answer comes from the latest published score week. The web page for HR and managers
is at `/ui`.
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Read and prepare the published week before the first request, not during it (a second or
    so with the aggregates; without one, requests answer 503 until the flow publishes); and at
    the end, move the last journaled reads into the audit log."""
    try:
        await run_in_threadpool(app.state.store.current)
    except NothingPublished:
        pass
    yield
    await run_in_threadpool(app.state.audit.apply)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    # No redirect to the path with(out) a trailing slash: Starlette builds its address from the
    # Host header, which the caller chooses. The docs page is our own (``routes.docs``).
    app = FastAPI(
        title="continuity", version="0.1.0", description=DESCRIPTION, lifespan=lifespan,
        redirect_slashes=False, docs_url=None, redoc_url=None,
    )
    app.state.settings = settings
    app.state.forecasts = ForecastAnswers(settings)
    app.state.store = ScoreStore(Publications(settings.published), on_load=app.state.forecasts.prepare)
    app.state.access = AccessStore(settings.access_db)
    app.state.audit = AuditJournal(app.state.access)
    app.state.case_numbers = CaseNumbers(settings.case_numbers)
    app.state.discontinuity = DiscontinuityMonitor()
    app.include_router(api_router)
    app.include_router(workbench.router)  # before the pages: their team page would take "/handover" as part of an id
    app.include_router(aggregates.pages)
    app.include_router(pages.router)
    app.include_router(pages.root)
    app.include_router(docs.router)
    app.mount(docs.SWAGGER_UI, docs.swagger_ui_files, name="swagger-ui")
    app.mount("/static", StaticFiles(directory=Path(__file__).resolve().parent / "static"), name="static")
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(NothingPublished, nothing_published)
    app.add_exception_handler(StarletteHTTPException, problem)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)  # the outer one, so that a 413 carries the headers too
    return app


def serve(host: str, port: int, settings: Settings | None = None) -> None:
    """Run the API under uvicorn; the CLI's `continuity serve` calls this."""
    uvicorn.run(create_app(settings), host=host, port=port)
