"""Who the clients are beyond their cases: the households they belong to and the placements of children
out of home.

Both are drawn after the weekly simulation from streams of their own, from the cases it wrote: who
leaves, and so every worker and oracle figure, is the same with or without them. A household is a
run of clients whose cases opened with the same worker in the same domain within a few weeks of each
other (siblings referred to a youth team, a couple or family to a wijkteam), so its members start
with one worker; a handover may later part them, as a naive handover does. A child's placements
follow a small continuous-time process over the weeks a team holds the case: placed or at home,
placed anew, re-placed, or home again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from continuity.vocabulary import DOMAINS, PLACEMENT_SETTINGS, VULNERABILITY_FLAGS

from .caseload import Assignments, Clients

DAYS_PER_YEAR = 365.25
# Guess (docs/evidence.md#guesses-of-the-synthetic-sector): the chance that a client whose case opens with the
# same worker, in the same domain, within HOUSEHOLD_WINDOW_DAYS of the previous such client, belongs to that
# client's household. Tuned so that about a third of youth clients have a sibling in care, and about one adult
# client in six a partner or relative helped with them (no Dutch figure in the notes).
HOUSEHOLD_JOIN_P = {"jeugd": 0.35, "wmo": 0.15, "participatie": 0.15}
HOUSEHOLD_WINDOW_DAYS = 28  # guess: a family's referrals reach the team within four weeks
HOUSEHOLD_MAX = 4  # guess: larger households are rare enough to leave out

OUT_OF_HOME = VULNERABILITY_FLAGS.index("flag_out_of_home")
JEUGD = DOMAINS.index("jeugd")
FOSTER, RESIDENTIAL = (PLACEMENT_SETTINGS.index(s) for s in ("foster_family", "residential_group"))
# A child flagged out of home at intake was placed before the case reached the team, up to two years
# before (guess).
PRIOR_PLACEMENT_DAYS = 730
# Yearly rates while a team holds a youth case (guesses; docs/evidence.md#why-continuity-matters):
# placement of a child living at home, for complexity 3, scaled by PLACEMENT_COMPLEXITY_STEP per step of
# complexity (none for complexity 1);
PLACEMENT_YEARLY = 0.04
PLACEMENT_COMPLEXITY_STEP = 0.5
# re-placement of a placed child: 0.5 a year gives the figure's "about six" re-placements over a care
# about twelve years spent out of home (those years are the guess);
REPLACEMENT_YEARLY = 0.5
# return home of a placed child.
RETURN_YEARLY = 0.25
# Guess: foster care is the more common first placement; a re-placement (often a foster family that
# could not go on) more often ends in a residential group.
FOSTER_P_FIRST = 0.55
FOSTER_P_REPLACEMENT = 0.4


@dataclass(frozen=True)
class Placements:
    client: np.ndarray
    day: np.ndarray  # placement date, days since 1970-01-01
    setting: np.ndarray  # index into PLACEMENT_SETTINGS
    end: np.ndarray  # the day it ended (the next placement's day for a re-placement), -1 while open


def _first_cases(a: Assignments, n_clients: int) -> tuple[np.ndarray, np.ndarray]:
    """Each client's first primary worker (employment row) and the day that case started."""
    primary = np.flatnonzero(a.primary.astype(bool))
    order = primary[np.lexsort((a.start[primary], a.client[primary]))]
    first = order[np.r_[True, a.client[order][1:] != a.client[order][:-1]]]
    row, start = np.full(n_clients, -1), np.full(n_clients, -1)
    row[a.client[first]], start[a.client[first]] = a.row[first], a.start[first]
    return row, start


def households(rng: np.random.Generator, a: Assignments, clients: Clients) -> np.ndarray:
    """A household number for every client (0-based); most households have one member."""
    n = len(clients.domain)
    row, start = _first_cases(a, n)
    order = np.lexsort((start, clients.domain, row))
    same = np.zeros(n, dtype=bool)
    same[1:] = ((row[order][1:] == row[order][:-1]) & (clients.domain[order][1:] == clients.domain[order][:-1])
                & (start[order][1:] - start[order][:-1] <= HOUSEHOLD_WINDOW_DAYS))
    join_p = np.array([HOUSEHOLD_JOIN_P[d] for d in DOMAINS])[clients.domain[order]]
    joins = same & (rng.random(n) < join_p)
    run = np.cumsum(~joins) - 1
    position = np.arange(n) - np.flatnonzero(~joins)[run]
    _, household = np.unique(np.column_stack([run, position // HOUSEHOLD_MAX]), axis=0, return_inverse=True)
    out = np.empty(n, dtype=np.int64)
    out[order] = household.ravel()
    return out


def placements(rng: np.random.Generator, a: Assignments, clients: Clients, export_day: int) -> Placements:
    """Placements of youth clients while a team holds their case (and the one they arrived in)."""
    n = len(clients.domain)
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, a.client, a.start)
    last = np.full(n, -1)
    np.maximum.at(last, a.client, np.where(a.end < 0, export_day - 1, a.end))
    last = np.minimum(last, export_day - 1)
    place_yearly = PLACEMENT_YEARLY * np.maximum(1 + PLACEMENT_COMPLEXITY_STEP * (clients.complexity - 3), 0.0)
    out: list[list[int]] = []  # client, placement day, setting, end day (-1 while open)
    for c in np.flatnonzero(clients.domain == JEUGD):
        day, placed = float(first[c]), bool(clients.flags[c, OUT_OF_HOME])
        if placed:
            out.append([c, int(first[c]) - int(rng.integers(1, PRIOR_PLACEMENT_DAYS)),
                        FOSTER if rng.random() < FOSTER_P_FIRST else RESIDENTIAL, -1])
        while True:
            rate = REPLACEMENT_YEARLY + RETURN_YEARLY if placed else place_yearly[c]
            if rate <= 0:
                break
            day += rng.exponential(DAYS_PER_YEAR / rate)
            moved = max(int(day), out[-1][1] + 1) if placed else int(day)
            if moved > last[c]:
                break
            if not placed:
                out.append([c, moved, FOSTER if rng.random() < FOSTER_P_FIRST else RESIDENTIAL, -1])
                placed = True
            elif rng.random() < REPLACEMENT_YEARLY / rate:
                out[-1][3] = moved
                out.append([c, moved, FOSTER if rng.random() < FOSTER_P_REPLACEMENT else RESIDENTIAL, -1])
            else:
                out[-1][3] = moved
                placed = False
    rows = np.array(out, dtype=np.int64).reshape(-1, 4)
    return Placements(rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3])


def out_of_home_at_start(a: Assignments, p: Placements) -> np.ndarray:
    """Per assignment: the client had a placement open on the day it started (placed on or before, not yet ended)."""
    if len(p.client) == 0:
        return np.zeros(len(a.client), dtype=bool)
    order = np.lexsort((p.day, p.client))
    key = p.client[order].astype(np.float64) * 1e6 + p.day[order]
    # the client's latest placement on or before the assignment's start
    at = np.searchsorted(key, a.client.astype(np.float64) * 1e6 + a.start, side="right") - 1
    at_ok = at >= 0
    idx = order[np.maximum(at, 0)]
    end = p.end[idx]
    return at_ok & (p.client[idx] == a.client) & ((end < 0) | (end > a.start))
