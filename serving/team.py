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
        shown = _shown(member, p)
        workers.append({
            "worker_id": member["worker_id"], "occupation": member["occupation"],
            "probability": shown[p], "probability_low": shown[f"{p}_low"], "probability_high": shown[f"{p}_high"],
            "withheld": member["withheld"], "change": shown[change],
            "active_clients": exposure.get("active_clients") or 0,
            "vulnerable_clients": exposure.get("vulnerable_clients") or 0,
            "weighted_clients": weighted, "expected_exposure": _times(shown[p], weighted),
        })
    clients = [
        {**client, "worker_id": member["worker_id"], "probability": _shown(member, p)[p],
         "expected_loss": _times(_shown(member, p)[p], client["exposure"])}
        for member in members
        for client in week.clients.get(member["worker_id"], [])
        if client["usual_provider"]
    ]
    clients.sort(key=lambda c: (not c["vulnerable"], -c["complexity"], -c["exposure"], c["client_id"]))
    return {
        "team_id": members[0]["team_id"], "organisation_id": members[0]["organisation_id"],
        "week": week.score_date, "horizon": horizon, "model_name": week.model_name, "model_version": week.model_version,
        "expected_clients_affected": sum(worker["expected_exposure"] or 0.0 for worker in workers),
        "workers": workers, "clients": clients,
    }


def _shown(member: dict[str, Any], p: str) -> dict[str, Any]:
    """The member's figures at one horizon as a person may see them: all null when withheld."""
    keys = (p, f"{p}_low", f"{p}_high", f"{p}_change")
    return dict.fromkeys(keys) if member["withheld"] else {key: member[key] for key in keys}


def _times(p: float | None, weight: float) -> float | None:
    return None if p is None else p * weight
