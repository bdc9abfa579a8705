"""Where voluntary leavers go: another employer of the sector (a move), or out of the sector.

**Destination of a past exit.** A voluntary exit (``termination_reason = voluntary``) is a
``move`` when the same person (``workers.person_key``) starts another employment in the export
within ``MOVE_WINDOW_WEEKS`` after the last day (or up to ``OVERLAP_DAYS`` before it: a new job
that starts before the old one ends), at another employer or, rarely, at the same one again:
either way the person did not leave the sector. It is ``sector`` when the window has passed by
the day the data are known to (``known_by``) without such a start, and ``censored`` when the
window has not passed yet and no start is seen. It is ``unknown`` when the export cannot tell:
no ``person_key`` (for the worker, or the export as a whole), or an export of a single employer,
where a move to another one is never seen. Moves are then reported as unknown, never guessed.

**The destination model.** ``pi(x)``, the share of a worker's voluntary exits that are moves,
is learned from past exits whose destination is known (the window has passed) in the
``HISTORY_WEEKS`` before ``known_by``, with the worker's state in their last snapshot before
the exit. Two candidates: the pooled share (one number for everyone) and an L2-regularised
logistic regression on employer, region, occupation, tenure, contract, fte, pay scale and
caseload (never age or gender; strength by cross-validated log loss). The regression is used
only where it earns it: it must beat the pooled share's log loss on the latest quarter of the
known exits (fitted on the earlier ones) by ``EARN_MARGIN``; the chosen one is refitted on every
known exit. Each scored worker then has, with the published cumulative incidence ``p_hw`` of
voluntary leaving, ``P(move within h) = p_hw x pi(x)`` and ``P(leave the sector within h) =
p_hw x (1 - pi(x))``: two competing causes sharing the voluntary hazard, which holds when the
destination does not depend on the time since the score date (``benchmarks/sector_moves.py``
checks it on the synthetic sector).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from continuity.warehouse import has_table

MOVE_WINDOW_WEEKS = 26
"""A new employment within half a year of the last day is a move (job-to-job with a spell of search); later
is a return to the sector after leaving it. The synthetic sector's movers wait at most 26 weeks for a post
(``synth/simulate.py``: MOVER_WAIT_WEEKS)."""
OVERLAP_DAYS = 28
"""A new employment may start up to four weeks before the old one's last day (leave used up, a notice period
served part-time)."""
HISTORY_WEEKS = 156
"""Known exits of the last three years teach the share: recent enough to be today's labour market."""
MIN_EXITS = 30
"""Fewer exits with a known destination: the share is reported as unknown rather than guessed from a handful."""
EARN_MARGIN = 0.005
"""The regression replaces the pooled share only when its held-out log loss is lower by at least this (nats per
exit): a gain smaller than that is noise at the few hundred exits of a quarter."""
CATEGORICAL = ("organisation_id", "region", "occupation")
NUMERIC = ("tenure_weeks", "is_temporary", "fte", "pay_scale", "caseload_ratio")


@dataclass(frozen=True)
class Availability:
    known: bool
    reason: str | None  # why not, in words


def availability(con: duckdb.DuckDBPyConnection) -> Availability:
    """Whether this export can tell a move from leaving the sector at all."""
    if not has_table(con, "workers") or "person_key" not in con.table("workers").columns:
        return Availability(False, "the export has no person_key: a move to another employer cannot be told "
                                   "from leaving the sector")
    keys, employers = con.execute("select count(person_key), count(distinct organisation_id) from workers").fetchall()[0]
    if not keys:
        return Availability(False, "the export's person_key is empty: a move to another employer cannot be told "
                                   "from leaving the sector")
    if employers < 2:
        return Availability(False, "the export holds one employer: a move to another employer is never seen in it")
    return Availability(True, None)


def exit_destinations(con: duckdb.DuckDBPyConnection, known_by: date) -> pd.DataFrame:
    """One row per voluntary exit before ``known_by``: worker_id, organisation_id, termination_date, destination
    (move, sector, censored or unknown), next_hire (the new employment's first day, for a move). Only rows dated
    before ``known_by`` are read: what a run on that day could know."""
    columns = ["worker_id", "organisation_id", "termination_date", "destination", "next_hire"]
    exits = con.execute(
        "select worker_id, organisation_id, termination_date from workers where termination_reason = 'voluntary' "
        "and termination_date < ? order by termination_date, worker_id", [known_by]).df()
    if exits.empty:
        return pd.DataFrame(columns=columns)
    if not availability(con).known:
        return exits.assign(destination="unknown", next_hire=pd.NaT)[columns]
    found = con.execute(f"""
        select v.worker_id, min(w.hire_date) as next_hire
        from workers v join workers w
          on w.person_key = v.person_key and w.worker_id <> v.worker_id
         and w.hire_date >= v.termination_date - {OVERLAP_DAYS}
         and w.hire_date <= v.termination_date + {7 * MOVE_WINDOW_WEEKS}
         and w.hire_date < $known_by
        where v.termination_reason = 'voluntary' and v.termination_date < $known_by and v.person_key is not null
        group by v.worker_id""", {"known_by": known_by}).df().set_index("worker_id")["next_hire"]
    keyed = set(con.execute("select worker_id from workers where termination_reason = 'voluntary' "
                            "and person_key is not null").df()["worker_id"])
    ended = pd.to_datetime(exits["termination_date"])
    window_over = ended + pd.Timedelta(weeks=MOVE_WINDOW_WEEKS) < pd.Timestamp(known_by)
    next_hire = pd.to_datetime(exits["worker_id"].map(found))
    destination = np.select([~exits["worker_id"].isin(keyed), next_hire.notna(), window_over],
                            ["unknown", "move", "sector"], "censored")
    return exits.assign(destination=destination, next_hire=next_hire)[columns]


def exit_states(con: duckdb.DuckDBPyConnection, exits: pd.DataFrame) -> pd.DataFrame:
    """Each exit's worker as their last snapshot before the exit recorded them (index: worker_id); exits without
    a snapshot (hired and gone between two Mondays) are absent."""
    if exits.empty or not has_table(con, "snapshots"):
        return pd.DataFrame()
    wanted = [c for c in (*CATEGORICAL, *NUMERIC) if c in con.table("snapshots").columns]
    con.register("_destination_exits", exits[["worker_id", "termination_date"]])
    try:
        rows = con.execute(f"""
            select s.worker_id, {", ".join(f"s.{c}" for c in wanted)}
            from snapshots s join _destination_exits e on s.worker_id = e.worker_id
             and s.snapshot_date <= e.termination_date
            qualify row_number() over (partition by s.worker_id order by s.snapshot_date desc) = 1""").df()
    finally:
        con.unregister("_destination_exits")
    return rows.set_index("worker_id")


class DestinationModel:
    """pi(x): the share of a worker's voluntary exits that are moves (see the module's docstring)."""

    def __init__(self) -> None:
        self.method = "pooled"
        self.share = np.nan
        self.exits = self.moves = 0
        self.log_loss: dict[str, float] = {}  # held-out, per candidate, when there were exits enough to hold out
        self._regression = None

    def fit(self, states: pd.DataFrame, moved: pd.Series) -> DestinationModel:
        """``states``: one row per known exit in time order, ``moved``: whether it was a move (same index)."""
        y = moved.astype(bool).to_numpy()
        self.exits, self.moves = len(y), int(y.sum())
        self.share = (self.moves + 0.5) / (self.exits + 1.0)  # Jeffreys: never 0 or 1 on a small history
        held = max(len(y) // 4, 1)
        if len(y) - held >= 100 and held >= 40 and 0 < y[:-held].sum() < len(y) - held:
            train, test = slice(0, len(y) - held), slice(len(y) - held, len(y))
            pooled = (y[train].sum() + 0.5) / (len(y) - held + 1.0)
            self.log_loss["pooled"] = _log_loss(y[test], np.full(held, pooled))
            regression = _regression().fit(_design(states.iloc[train]), y[train])
            self.log_loss["logistic"] = _log_loss(y[test], regression.predict_proba(_design(states.iloc[test]))[:, 1])
            if self.log_loss["logistic"] <= self.log_loss["pooled"] - EARN_MARGIN:
                self.method, self._regression = "logistic", _regression().fit(_design(states), y)
        return self

    def predict(self, states: pd.DataFrame) -> np.ndarray:
        if self._regression is None:
            return np.full(len(states), self.share)
        return self._regression.predict_proba(_design(states))[:, 1]


def _design(states: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=states.index)
    for c in CATEGORICAL:
        out[c] = states[c].astype(str) if c in states.columns else "?"
    for c in NUMERIC:
        values = pd.to_numeric(states[c], errors="coerce").astype(float) if c in states.columns else 0.0
        out[c] = np.log1p(values.clip(lower=0)) if c == "tenure_weeks" else values
    return out.fillna({c: 0.0 for c in NUMERIC})


def _regression():
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    columns = ColumnTransformer([("categories", OneHotEncoder(handle_unknown="ignore"), list(CATEGORICAL)),
                                 ("numbers", StandardScaler(), list(NUMERIC))])
    return _Quiet(make_pipeline(columns, LogisticRegressionCV(Cs=[0.003, 0.01, 0.03, 0.1, 0.3, 1.0], cv=5,
                                                              scoring="neg_log_loss", max_iter=2000)))


class _Quiet:
    """The pipeline without scikit-learn's notices of its coming API changes (no bearing on the fit)."""

    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline

    def fit(self, x, y) -> _Quiet:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            self.pipeline.fit(x, y)
        return self

    def predict_proba(self, x) -> np.ndarray:
        return self.pipeline.predict_proba(x)


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.mean(np.where(y, np.log(p), np.log(1 - p))))


@dataclass(frozen=True)
class Destinations:
    """What a run on ``known_by`` knows of where leavers go, and the model it learned."""

    availability: Availability
    exits: pd.DataFrame  # exit_destinations
    model: DestinationModel | None  # None: unknown (no person_key, one employer, or too few known exits)

    @property
    def reason(self) -> str | None:
        if not self.availability.known:
            return self.availability.reason
        if self.model is None:
            return (f"fewer than {MIN_EXITS} voluntary exits of the last {HISTORY_WEEKS} weeks have a known "
                    "destination: the share of moves is not estimated from a handful")
        return None


def learn_destinations(con: duckdb.DuckDBPyConnection, known_by: date) -> Destinations:
    """The exits before ``known_by`` with their destinations, and pi(x) fitted on those known then."""
    found = availability(con)
    exits = exit_destinations(con, known_by)
    if not found.known:
        return Destinations(found, exits, None)
    # only exits whose window has passed: a move is seen within days, leaving the sector only once the window is
    # over, so recent exits with a known destination are mostly moves (counting them would inflate the share)
    ended = pd.to_datetime(exits.termination_date)
    since, closed = (pd.Timestamp(known_by - timedelta(weeks=w)) for w in (HISTORY_WEEKS, MOVE_WINDOW_WEEKS))
    known = exits[exits.destination.isin(["move", "sector"]) & (ended >= since) & (ended < closed)]
    states = exit_states(con, known)
    known = known[known.worker_id.isin(states.index)]
    if len(known) < MIN_EXITS:
        return Destinations(found, exits, None)
    model = DestinationModel().fit(states.loc[known.worker_id], pd.Series((known.destination == "move").to_numpy()))
    return Destinations(found, exits, model)


def destination_tables(con: duckdb.DuckDBPyConnection, known_by: date, snapshot: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The week's ``move_shares`` (pi per scored worker; empty shares when unknown) and ``destination_model``
    (one row: what it rests on), as ``continuity.published`` declares them. ``known_by``: the first day the data
    do not record (the data end's next day); ``snapshot``: the scored workers at the score date."""
    learned = learn_destinations(con, known_by)
    model = learned.model
    share = model.predict(snapshot.set_index("worker_id")) if model is not None else np.full(len(snapshot), np.nan)
    counts = learned.exits.destination.value_counts()
    summary = pd.DataFrame([{
        "status": "known" if model is not None else "unknown", "reason": learned.reason,
        "window_weeks": MOVE_WINDOW_WEEKS, "exits": 0 if model is None else model.exits,
        "moves": 0 if model is None else model.moves, "censored": int(counts.get("censored", 0)),
        "unknown": int(counts.get("unknown", 0)), "method": None if model is None else model.method,
        "pooled_share": None if model is None else float(model.share),
        "log_loss_pooled": None if model is None else model.log_loss.get("pooled"),
        "log_loss_logistic": None if model is None else model.log_loss.get("logistic"),
    }])
    return {"move_shares": pd.DataFrame({"worker_id": snapshot["worker_id"].to_numpy(), "move_share": share}),
            "destination_model": summary}
