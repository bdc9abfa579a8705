"""One router per resource, gathered into the API the app mounts."""

from fastapi import APIRouter

from continuity.serving.routes import health, risk, workers

api_router = APIRouter()
api_router.include_router(risk.router)
api_router.include_router(workers.router)
api_router.include_router(health.router)
