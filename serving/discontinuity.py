"""The client discontinuity monitor: which clients of the caller's workers have lost the most familiar faces,
and who is likely to lose more.

Read from the published week only: ``client_continuity`` (new faces, distinct workers and handovers in the
last 52 weeks), ``client_exposure`` (each client's current workers and how long they have known them) and
``risk_scores`` (their probabilities of leaving within 26 weeks). A client is in the caller's monitor when
one of their current workers is in the caller's scope.

A client is *flagged* with ``FLAG_NEW_FACES`` or more new faces in 12 months, unless a small stable team cares
for them: a team continuity (``client_continuity.team_continuity``: the share of the year's contacts with up to
three faces of one team) of ``STABLE_TEAM`` or more. Care shared by a few colleagues the client knows is accepted
practice, not the discontinuity the monitor is for; its new faces are the team's, met once and seen again.

The ranking, most discontinuity first (``discontinuity_order``): flagged clients first, then

1. new faces in 12 months: what the sector counts, and what a child placed out of home piles up;
2. handovers in 12 months, then re-placements of an out-of-home placement in 24 months (``client_exposure``);
3. the familiarity of the current workers, shortest first: the longest bond (weeks) any current worker has
   with the client, so a client left only with people they barely know comes before one who kept a face;
4. the expected handovers in the next 26 weeks that the caller may know: the sum over the current workers of
   their published p_26w times the chance that the client's case with them is still open when they leave
   (``client_exposure.handover_weight_26w``, ``features.case_survival``): a case that closes first needs no
   handover. ``continuity bench handovers`` checks this sum against realised handovers (O/E 0.98).

A worker's contribution to 4 is unknown to the caller when their probability is withheld (the week keeps
it for the sector's totals, never for a person) or the worker is outside the caller's scope; it is then
left out of the sum, never estimated, and the answer says how many were left out, so the sum is a lower
bound. Nothing in the answer, its order included, reads a withheld probability.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from continuity.access import Grant
from continuity.horizons import risk_column
from continuity.published import HANDOVER_HORIZON, HANDOVER_WEIGHT
from continuity.serving.store import PublishedWeek

FLAG_NEW_FACES = 3  # flagged from three new faces in a year: the product's threshold for a client to look after first
# Three quarters of the contacts with the client's small team: judgement, the team is then the client's usual care,
# as a usual provider with that share would be (continuity indices of 0.75 and up are read as high in the literature).
STABLE_TEAM = 0.75
_P = risk_column(HANDOVER_HORIZON)


@dataclass(frozen=True)
class _Client:
    """A client's published figures and current workers (worker id -> weeks they have known the client)."""

    client_id: str
    new_faces_12m: int
    distinct_workers_12m: int
    handovers_12m: int
    team_continuity: float | None  # None without contacts in the window
    replacements_24m: int
    workers: dict[str, float]
    handover_weights: dict[str, float]  # worker id -> P(the case is still open when that worker leaves)

    @property
    def flagged(self) -> bool:
        stable_team = self.team_continuity is not None and self.team_continuity >= STABLE_TEAM
        return self.new_faces_12m >= FLAG_NEW_FACES and not stable_team


def discontinuity_order(row: dict[str, Any]) -> tuple:
    """The monitor's order: flagged first, most new faces, then handovers, re-placements, least familiar, most
    expected handovers, by id."""
    return (not row["flagged"], -row["new_faces_12m"], -row["handovers_12m"], -row["replacements_24m"],
            row["familiarity_weeks"],
            -row["expected_handovers_26w"], row["client_id"])


class DiscontinuityMonitor:
    """The week's clients indexed once per published week (by its folder), answered per grant."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._folder: Path | None = None
        self._clients: dict[str, _Client] = {}
        self._by_worker: dict[str, list[str]] = {}

    def _index(self, week: PublishedWeek) -> tuple[dict[str, _Client], dict[str, list[str]]]:
        with self._lock:
            if self._folder != week.publication.folder:
                workers: dict[str, dict[str, float]] = defaultdict(dict)
                weights: dict[str, dict[str, float]] = defaultdict(dict)
                replacements: dict[str, int] = {}
                exposure = week.publication.table("client_exposure")
                for worker_id, client_id, weeks, weight, replaced in zip(
                        *(exposure[c].tolist() for c in ("worker_id", "client_id", "relationship_weeks",
                                                         HANDOVER_WEIGHT, "replacements_24m"))):
                    workers[client_id][worker_id] = None if weeks != weeks else weeks
                    weights[client_id][worker_id] = None if weight != weight else weight
                    replacements[client_id] = int(replaced)
                table = week.publication.table("client_continuity")
                self._clients = {
                    client_id: _Client(client_id, int(new), int(distinct), int(handovers),
                                       None if pd.isna(team) else float(team), replacements[client_id],
                                       workers[client_id], weights[client_id])
                    for client_id, new, distinct, handovers, team in zip(
                        table.client_id, table.new_faces_12m, table.distinct_workers_12m, table.handovers_12m,
                        table.team_continuity)
                    if client_id in workers
                }
                by_worker: dict[str, list[str]] = defaultdict(list)
                for client in self._clients.values():
                    for worker_id in client.workers:
                        by_worker[worker_id].append(client.client_id)
                self._by_worker, self._folder = dict(by_worker), week.publication.folder
            return self._clients, self._by_worker

    def ranked(self, week: PublishedWeek, grant: Grant) -> list[dict[str, Any]]:
        """Every client of a worker in the grant's scope, most discontinuity first (``discontinuity_order``)."""
        clients, by_worker = self._index(week)
        in_scope = {worker_id for worker_id in by_worker
                    if worker_id in week.by_worker and grant.sees(week.by_worker[worker_id])}
        chosen = sorted({client_id for worker_id in in_scope for client_id in by_worker[worker_id]})
        return sorted((_row(clients[client_id], week, in_scope) for client_id in chosen), key=discontinuity_order)


def _row(client: _Client, week: PublishedWeek, in_scope: set[str]) -> dict[str, Any]:
    """The client's answer: the current workers the caller may see, with their probability unless withheld."""
    shown = sorted(worker_id for worker_id in client.workers if worker_id in in_scope)
    known = {worker_id: week.by_worker[worker_id][_P] for worker_id in shown
             if week.by_worker[worker_id]["withheld"] is None}
    return {
        "client_id": client.client_id, "flagged": client.flagged,
        "new_faces_12m": client.new_faces_12m, "handovers_12m": client.handovers_12m,
        "distinct_workers_12m": client.distinct_workers_12m, "team_continuity": client.team_continuity,
        "replacements_24m": client.replacements_24m,
        "familiarity_weeks": max(client.workers.values()),
        "expected_handovers_26w": sum(p * client.handover_weights[worker_id] for worker_id, p in known.items()),
        "workers_not_counted": len(client.workers) - len(known),
        "current_workers": [{"worker_id": worker_id, "relationship_weeks": client.workers[worker_id],
                             "p_26w": known.get(worker_id)} for worker_id in shown],
    }
