"""The team view a manager works from: each worker's risk and relational exposure, and the
clients at stake: those who would lose their trusted worker, the team member who is their usual
provider (``usual_provider`` in client_exposure: the worker with most of their contacts,
``continuity.features.exposure``), not every client on a member's caseload; and the members with a known last
day, with the clients they hand over (the handover workbench plans them)."""

from __future__ import annotations

from typing import Any

from continuity.serving.auditing import Audit
from continuity.serving.case_numbers import CaseNumbers
from continuity.serving.store import PublishedWeek, list_order


def team_view(week: PublishedWeek, members: list[dict[str, Any]], horizon: int, case_numbers: CaseNumbers,
              audit: Audit) -> dict[str, Any]:
    """The TeamView body for the team's scored workers, with probabilities at the horizon (13, 26 or 52 weeks),
    in the risk list's order (``list_order``): a withheld member last, where their hidden probability places
    nobody; the clients carry their case numbers where the audit's grant may read them."""
    p, change = f"p_{horizon}w", f"p_{horizon}w_change"
    workers = []
    for member in sorted(members, key=list_order(horizon)):
        exposure = week.worker_exposure.get(member["worker_id"], {})
        weighted = exposure.get("weighted_clients") or 0.0
        shown = _shown(member, p)
        workers.append({
            "worker_id": member["worker_id"], "occupation": member["occupation"],
            "probability": shown[p], "probability_low": shown[f"{p}_low"], "probability_high": shown[f"{p}_high"],
            "withheld": member["withheld"], "change": shown[change],
            "active_clients": exposure.get("active_clients") or 0,
            "vulnerable_clients": exposure.get("vulnerable_clients") or 0,
            "weighted_clients": weighted, "expected_clients": _times(shown[p], exposure.get("active_clients") or 0),
            "expected_exposure": _times(shown[p], weighted),
        })
    clients = [
        {**client, "worker_id": member["worker_id"], "probability": _shown(member, p)[p],
         "expected_loss": _times(_shown(member, p)[p], client["exposure"])}
        for member in members
        for client in week.clients.get(member["worker_id"], [])
        if client["usual_provider"]
    ]
    clients.sort(key=lambda c: (not c["vulnerable"], -c["complexity"], -c["exposure"], c["client_id"]))
    clients = case_numbers.shown(audit.grant, audit, clients, (member["worker_id"] for member in members))
    leaving = sorted((m for m in members if m["known_departure"]),
                     key=lambda m: (m["known_departure"]["last_day"], m["worker_id"]))
    departures = [{**member["known_departure"], "worker_id": member["worker_id"],
                   "clients": case_numbers.shown(audit.grant, audit, clients_to_hand_over(week, member["worker_id"]),
                                                 [member["worker_id"]])}
                  for member in leaving]
    return {
        "team_id": members[0]["team_id"], "organisation_id": members[0]["organisation_id"],
        "week": week.score_date, "horizon": horizon, "model_name": week.model_name, "model_version": week.model_version,
        "expected_clients_affected": sum(worker["expected_exposure"] or 0.0 for worker in workers),
        "clients_at_stake": len(clients),
        "expected_clients_at_stake": sum(client["probability"] or 0.0 for client in clients),
        "workers": workers, "clients": clients, "known_departures": departures,
    }


def clients_to_hand_over(week: PublishedWeek, worker_id: str) -> list[dict[str, Any]]:
    """The worker's open primary clients, by client id: those a handover plan gives a successor."""
    return sorted(({key: client[key] for key in ("client_id", "domain", "complexity", "vulnerable")}
                   for client in week.clients.get(worker_id, []) if client["role"] == "primary"),
                  key=lambda client: client["client_id"])


def _shown(member: dict[str, Any], p: str) -> dict[str, Any]:
    """The member's figures at one horizon as a person may see them: all null when withheld."""
    keys = (p, f"{p}_low", f"{p}_high", f"{p}_change")
    return dict.fromkeys(keys) if member["withheld"] else {key: member[key] for key in keys}


def _times(p: float | None, weight: float) -> float | None:
    return None if p is None else p * weight
