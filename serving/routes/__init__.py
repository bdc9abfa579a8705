"""One router per resource, gathered into the API the app mounts; the web page has its own."""

from fastapi import APIRouter

from continuity.serving.routes import aggregates, audit, handover, health, me, reviews, risk, scenarios, teams, workers
from continuity.serving.routes import card, clients, monitoring
from continuity.serving.routes import tenders

api_router = APIRouter()
api_router.include_router(risk.router)
api_router.include_router(workers.router)
api_router.include_router(teams.router)
api_router.include_router(handover.router)
api_router.include_router(aggregates.router)
api_router.include_router(scenarios.router)
api_router.include_router(audit.router)
api_router.include_router(health.router)
api_router.include_router(reviews.router)
api_router.include_router(me.router)
api_router.include_router(card.router)
api_router.include_router(monitoring.router)
api_router.include_router(clients.router)
api_router.include_router(tenders.router)
