"""The team view a manager works from: each worker's risk and relational exposure, and the
clients who would lose their trusted worker (the team member who is their usual provider)."""

from __future__ import annotations

from typing import Any

from continuity.serving.store import PublishedWeek


def team_view(week: PublishedWeek, members: list[dict[str, Any]], horizon: int) -> dict[str, Any]:
    """The TeamView body for the team's scored workers, with probabilities at the horizon (13, 26 or 52 weeks)."""
    p, change = f"p_{horizon}w", f"p_{horizon}w_change"
    workers = []
    for member in sorted(members, key=lambda record: (-record[p], record["worker_id"])):
        exposure = week.worker_exposure.get(member["worker_id"], {})
        weighted = exposure.get("weighted_clients") or 0.0
        workers.append({
            "worker_id": member["worker_id"], "occupation": member["occupation"],
            "probability": member[p], "change": member[change],
            "active_clients": exposure.get("active_clients") or 0,
            "vulnerable_clients": exposure.get("vulnerable_clients") or 0,
            "weighted_clients": weighted, "expected_exposure": member[p] * weighted,
        })
    clients = [
        {**client, "worker_id": member["worker_id"], "probability": member[p], "expected_loss": member[p] * client["exposure"]}
        for member in members
        for client in week.clients.get(member["worker_id"], [])
        if client["usual_provider"]
    ]
    clients.sort(key=lambda c: (not c["vulnerable"], -c["complexity"], -c["exposure"], c["client_id"]))
    return {
        "team_id": members[0]["team_id"], "organisation_id": members[0]["organisation_id"],
        "week": week.score_date, "horizon": horizon, "model_name": week.model_name, "model_version": week.model_version,
        "expected_clients_affected": sum(worker["expected_exposure"] for worker in workers),
        "workers": workers, "clients": clients,
    }
