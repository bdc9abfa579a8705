"""The tender calendar (``GET /funding-contracts`` and the sector page), from the published week alone.

Per funding contract running at the score date (``tender_calendar``): its end, the scored workers on it
and the clients with an open case with them, the expected voluntary leavers among its workers before the
end (the model's probabilities over the window from the score date to the end, at most 52 weeks, with the
months to the end of funding counting down as the end nears: the published probabilities where that changes
nothing the model reads), the same with the end far away, and the difference: the extra
departures the approaching end accounts for (``continuity.features.funding_calendar``). The clients at
risk if the tender is lost are the clients whose every open case is with a worker on the contract: if the
market passes to another employer, they lose every worker they have.

Counts about workers follow the aggregates' small-cell suppression. The contracts are one more grouping
of the same scored workers (a worker's contract, or none), decided jointly with the aggregates' groupings
and insider scopes (``forecasts.suppression``), so that a contract's figures cannot be had by differencing
with a region's or an organisation's, nor a region's with the contracts': a hidden contract publishes its
end and successor only. Client counts of 1 to ``min_cell - 1`` are withheld too. An hr token reads its own
organisation's contracts only, in full: every worker of them is in its scope already.
"""

from __future__ import annotations

import hashlib

import pandas as pd

from continuity.forecasts.aggregates import GROUPINGS, SCOPES
from continuity.forecasts.suppression import Pattern, suppression_pattern
from continuity.vocabulary import municipality_name

CONTRACT = "funding_contract"  # the grouping column of the contracts in the suppression pattern
NO_CONTRACT = "(none)"
FIGURES = ("workers", "clients", "expected_leavers", "expected_leavers_far", "extra_leavers", "clients_at_risk",
           "vulnerable_clients_at_risk")
CLIENT_COUNTS = ("clients", "clients_at_risk", "vulnerable_clients_at_risk")
METHOD = ("expected_leavers: sum of the model's probabilities of the contract's workers of leaving voluntarily "
          "before its end (at most 52 weeks ahead), with the months to the end of funding counting down every 4 "
          "weeks as the end nears (the published probabilities where that changes nothing the model reads); "
          "expected_leavers_far: the same model's, for the same workers "
          "with the contract's end far away (months to the end of funding at least 72, every other input unchanged); "
          "extra_leavers: the difference, what the approaching end adds (model-based, not causal). "
          "clients_at_risk: clients whose every open case is with a worker on the contract.")

_PATTERNS: dict[str, Pattern] = {}
_PATTERNS_KEPT = 4


def contract_workers(workers: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """The scored workers (``ForecastFrame.workers``) with their contract, NO_CONTRACT for those on none."""
    on = members.set_index("worker_id")["contract_id"]
    return workers.assign(**{CONTRACT: workers.worker_id.map(on).fillna(NO_CONTRACT).astype(str)})


def contract_pattern(workers: pd.DataFrame, min_cell: int) -> Pattern:
    """The joint suppression pattern over the aggregates' groupings and the contracts (``contract_workers``)."""
    groupings = [c for c in GROUPINGS.values() if c in workers.columns] + [CONTRACT]
    columns = [*groupings, *SCOPES]
    key = hashlib.sha256(pd.util.hash_pandas_object(workers[columns].astype(str), index=False)
                         .to_numpy().tobytes()).hexdigest() + f":{min_cell}"
    if key not in _PATTERNS:
        while len(_PATTERNS) >= _PATTERNS_KEPT:
            _PATTERNS.pop(next(iter(_PATTERNS)))
        _PATTERNS[key] = suppression_pattern(workers, groupings, SCOPES, min_cell)
    return _PATTERNS[key]


def calendar_rows(contracts: pd.DataFrame, members: pd.DataFrame, workers: pd.DataFrame, clients: pd.DataFrame,
                  *, min_cell: int = 10, organisation: str | None = None,
                  regions: frozenset[str] = frozenset()) -> list[dict]:
    """One row per running contract, by end date: the calendar as a reader sees it.

    ``contracts`` and ``members``: the published ``tender_calendar`` and ``tender_calendar_workers``;
    ``workers``: ``ForecastFrame.workers``; ``clients``: the published ``client_exposure``. ``organisation``
    (an hr token's): that organisation's contracts only, unsuppressed. Otherwise suppressed; ``regions`` (a
    limited sector token's): the contracts of its municipalities whose every worker works in them."""
    placed = contract_workers(workers, members)
    members = members[members.worker_id.isin(workers.worker_id)]
    p = members.groupby("contract_id")[["p_until_end", "p_until_end_far"]].sum()
    count = members.groupby("contract_id").size()
    cases = clients[["worker_id", "client_id", "vulnerable"]].assign(
        contract_id=lambda c: c.worker_id.map(members.set_index("worker_id")["contract_id"]))
    served = cases.dropna(subset=["contract_id"]).groupby("contract_id").client_id.nunique()
    # a client at risk: every open case with workers of one contract
    per_client = cases.groupby("client_id").agg(contracts=("contract_id", lambda s: s.nunique(dropna=False)),
                                                contract_id=("contract_id", "first"),
                                                vulnerable=("vulnerable", "any"))
    at_risk = per_client[(per_client.contracts == 1) & per_client.contract_id.notna()]
    risk_count = at_risk.groupby("contract_id").size()
    vulnerable_count = at_risk[at_risk.vulnerable.astype(bool)].groupby("contract_id").size()

    hidden = set() if organisation is not None else \
        {key for grouping, key in contract_pattern(placed, min_cell).hidden if grouping == CONTRACT}
    regions_of = placed[placed[CONTRACT] != NO_CONTRACT].groupby(CONTRACT).region.agg(lambda r: set(map(str, r)))

    rows = []
    for c in contracts.sort_values(["end_date", "contract_id"]).itertuples(index=False):
        if organisation is not None and c.organisation_id != organisation:
            continue
        if regions and (c.municipality not in regions or not regions_of.get(c.contract_id, set()) <= regions):
            continue
        row = {"contract_id": c.contract_id, "organisation_id": c.organisation_id, "municipality": c.municipality,
               "municipality_name": municipality_name(c.municipality), "domain": c.domain,
               "start_date": pd.Timestamp(c.start_date).date(), "end_date": pd.Timestamp(c.end_date).date(),
               "weeks_to_end": int(c.weeks_to_end), "tendered": bool(c.tendered), "successor": c.successor,
               "suppressed": c.contract_id in hidden}
        if row["suppressed"]:
            rows.append(row | dict.fromkeys(FIGURES))
            continue
        expected = float(p.p_until_end.get(c.contract_id, 0.0))
        far = float(p.p_until_end_far.get(c.contract_id, 0.0))
        figures = {"workers": int(count.get(c.contract_id, 0)), "clients": int(served.get(c.contract_id, 0)),
                   "expected_leavers": expected, "expected_leavers_far": far, "extra_leavers": expected - far,
                   "clients_at_risk": int(risk_count.get(c.contract_id, 0)),
                   "vulnerable_clients_at_risk": int(vulnerable_count.get(c.contract_id, 0))}
        if organisation is None:
            figures |= {k: None for k in CLIENT_COUNTS if 0 < figures[k] < min_cell}
        rows.append(row | figures)
    return rows
