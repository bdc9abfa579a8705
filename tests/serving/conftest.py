"""A small published home, written through the weekly flow's own publishing step.

Two organisations, three teams, 36 workers over two score weeks (and the HR export's
occupations, one of them a spreadsheet formula to prove exports neutralise it): one worker is scored only
in the earlier week (left), two only in the latest (new hires), one has no clients, and
some clients have too few contacts for COC or knew no worker the year before (no KPC). Tests read expected values back from these
tables, not from this module, so the fixture can later be swapped for the real pipeline
output on a tiny sector.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from continuity.access import create_token, revoke_token
from continuity.config import Settings
from continuity.features.case_numbers import write_case_numbers
from continuity.features.feature_spec import MODEL_FEATURES, in_words
from continuity.forecasts.aggregates import pattern_table
from continuity.forecasts.frame import grouped_workers
from continuity.models.explanation import DRIVERS
from continuity.models.card import CardFacts, card_table, model_card, render
from continuity.models.drift import feature_drift, oe_interval, reference
from continuity.models.encoding import FeatureEncoder
from continuity.models.scoring import rank_shown
from continuity.publication import Publications, publish_week
from continuity.published import HISTORY_TABLES, TABLES
from continuity.serving.app import create_app

EARLIER_WEEK = date(2024, 6, 3)
LATEST_WEEK = date(2024, 6, 10)
MODEL_NAME = "continuity-voluntary-leaving"
TEAMS = {"team-a1": "org-a", "team-a2": "org-a", "team-b1": "org-b"}
WORKERS = [f"W{i:03d}" for i in range(1, 37)]
LEFT, HIRED, NO_CLIENTS = "W034", ("W035", "W036"), "W010"
OCCUPATIONS = ("maatschappelijk werker", "jeugd- en gezinswerker", "Wmo-consulent")
FORMULA_OCCUPATION = "=HYPERLINK(\"http://evil.example\",\"click\")"
FORMULA_WORKER = "W005"
WITHHELD_REASON = "the fairness audit found the model unreliable for gender x at 26 weeks"

def _team(worker_id: str) -> str:
    return list(TEAMS)[(int(worker_id[1:]) - 1) // 12]


RAW_REFERENCE = pd.Series({"occupation": OCCUPATIONS[0], "overtime_hours_13w": 10.0, "mean_complexity": 2.0,
                           "vulnerable_clients": 3.0, "team_moves_52w": 0.2, "fte": 0.8, "pay_scale": 8.0,
                           "months_to_funding_end": 20.0})


def _raw_features(c: float) -> pd.DataFrame:
    """A worker's raw features for their drivers' sentences, varied by a driver's contribution c (no draws, so the
    fixture's other figures stay as they were)."""
    k = int(abs(c) * 100)
    return pd.DataFrame([{
        "caseload_ratio": 1 + c, "caseload": 12 + k % 9, "fte": 0.8, "weeks_since_scale_step": 30 * k,
        "weeks_since_manager_change": k, "manager_changes_52w": k % 3, "weeks_to_contract_end": 2 * k,
        "is_temporary": c > 0, "sick_weeks_13w": 1.5 * (k % 3), "sick_weeks_52w": 2.5,
        "months_to_funding_end": k % 13, "lost_tender": k % 4 == 0, "team_leavers_26w": k % 4,
        "tenure_weeks": 20 * k, "complex_share_starter": c + 0.5, "occupation": OCCUPATIONS[k % 3],
        "overtime_hours_13w": k, "mean_complexity": 2 + c, "vulnerable_clients": k % 7, "team_moves_52w": k % 2,
        "pay_scale": 6 + k % 5}])


def _drivers(rng: np.random.Generator) -> dict:
    """Three actionable drivers and two others, the sick-leave (health) driver among the others for most
    workers, with their relative hazard and other factors as the weekly run publishes them."""
    actionable = [d for d in DRIVERS if d.actionable]
    others = [d for d in DRIVERS if not d.actionable]
    chosen = [actionable[k] for k in rng.choice(len(actionable), size=3, replace=False)] + \
             [others[k] for k in rng.choice(len(others), size=2, replace=False)]
    signs = rng.choice([-1.0, 1.0], size=5)
    contributions = signs * rng.uniform(0.05, 0.5, size=5)
    other = float(rng.uniform(0.8, 1.25))
    drivers = []
    for d, c in zip(chosen, contributions):
        said = d.words(_raw_features(c), RAW_REFERENCE)
        drivers.append({"feature": d.name, "label": said.english()[0], "message": said.messages[0],
                        "values": json.loads(said.values_json()[0]), "direction": "raises" if c > 0 else "lowers",
                        "contribution": float(c), "hazard_ratio": float(np.exp(c)), "actionable": d.actionable,
                        "health": d.health})
    return {"drivers": json.dumps(drivers), "other_factors": other,
            "relative_hazard": float(np.exp(contributions.sum())) * other}


def _clients(worker_id: str, p_13w: float, p_26w: float, p_52w: float, rng: np.random.Generator):
    rows = []
    for k in range(0 if worker_id == NO_CLIENTS else int(rng.integers(1, 6))):
        contacts = int(rng.integers(1, 20))
        share = float(rng.uniform(0.2, 1.0))
        coc = float(rng.uniform(0.1, 1.0)) if contacts >= 2 else np.nan
        rows.append({
            "worker_id": worker_id,
            "client_id": hashlib.sha256(f"client-{worker_id}-{k}".encode()).hexdigest()[:16],
            "household_id": f"household-{worker_id}" if k < 2 else None,  # each worker's first two clients
            "role": "primary" if k % 3 else "secondary", "domain": str(rng.choice(["wmo", "jeugd", "participatie"])),
            "complexity": (complexity := int(rng.integers(1, 6))), "vulnerable": (vulnerable := bool(rng.random() < 0.3)),
            "flag_out_of_home": (placed := vulnerable and k % 2 == 0), "replacements_24m": k if placed else 0,
            "need": complexity / 3 * (1 + (1.0 + 0.25 * k if placed else 0.5 if vulnerable else 0.0)),
            "relationship_weeks": float(rng.integers(1, 200)), "contact_share": share, "usual_provider": share >= 0.5,
            "upc": max(share, 0.5), "coc": coc, "secon": coc, "mmci": float(rng.uniform(0, 1)),
            "kpc": float(rng.uniform(0, 1)) if k else np.nan, "distinct_workers_12m": (distinct := int(rng.integers(1, 5))),
            "team_continuity": max(share, 0.5), "distinct_workers_24m": distinct + k,
            "handovers_12m": int(rng.integers(0, 4)), "coc_drop": coc * share if contacts >= 2 else 0.0,
            "exposure": float(rng.uniform(0, 3)),
            "handover_weight_26w": 0.5 + 0.1 * (k % 5),  # no draw: the fixture's other figures stay as they were
        })
    clients = pd.DataFrame(rows)
    if clients.empty:
        return clients, None
    summary = {
        "worker_id": worker_id, "active_clients": len(clients),
        "vulnerable_clients": int(clients["vulnerable"].sum()),
        "mean_relationship_weeks": float(clients["relationship_weeks"].mean()),
        "weighted_clients": float(clients["exposure"].sum()),
        "expected_exposure_13w": p_13w * float(clients["exposure"].sum()),
        "expected_exposure_26w": p_26w * float(clients["exposure"].sum()),
        "expected_exposure_52w": p_52w * float(clients["exposure"].sum()),
    }
    return clients, summary


REGIONS = {"team-a1": "GM0363", "team-a2": "GM0344", "team-b1": "GM0363"}
DOMAINS = ("wmo", "jeugd", "participatie")


def _situation(workers: list[str], clients: pd.DataFrame, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """The published week's snapshot, leavers, familiarity, client continuity and domains for the fixture's workers."""
    snapshot = pd.DataFrame({
        "worker_id": workers, "region": [REGIONS[_team(w)] for w in workers],
        "occupation": [occupation(w) for w in workers],
        "domain": [str(rng.choice(DOMAINS)) for _ in workers],
        "caseload": rng.integers(0, 16, size=len(workers)).astype(float),
        "fte": rng.choice([0.6, 0.8, 1.0], size=len(workers)), "tenure_weeks": rng.integers(10, 500, size=len(workers)).astype(float),
    })
    left = [w for w in WORKERS if w == LEFT and w not in workers]
    leavers = pd.DataFrame({"worker_id": left, "organisation_id": [TEAMS[_team(w)] for w in left],
                            "team_id": [_team(w) for w in left], "region": [REGIONS[_team(w)] for w in left],
                            "occupation": [occupation(w) for w in left], "domain": "wmo"})
    primary = clients[clients.role == "primary"] if len(clients) else clients
    colleagues = [w for w in workers]
    familiarity = pd.DataFrame({
        "client_id": list(primary.client_id) if len(primary) else [],
        "worker_id": [str(rng.choice(colleagues)) for _ in range(len(primary))],
        "secondary": rng.random(len(primary)) < 0.5, "contacts_12m": rng.integers(0, 8, size=len(primary)),
    })
    domains = (clients[["worker_id", "domain"]].drop_duplicates() if len(clients)
               else pd.DataFrame(columns=["worker_id", "domain"]))
    # The year's discontinuity per client, as client_exposure counts it; some clients met three or more new faces.
    continuity = (clients.groupby("client_id", as_index=False)[["distinct_workers_12m", "handovers_12m"]].max()
                  if len(clients) else pd.DataFrame(columns=["client_id", "distinct_workers_12m", "handovers_12m"]))
    continuity["new_faces_12m"] = np.minimum(continuity.distinct_workers_12m, rng.integers(0, 5, size=len(continuity)))
    # Some clients are cared for by a small stable team (team continuity of 0.75 or more), new faces or not.
    continuity["team_continuity"] = rng.uniform(0.2, 1.0, size=len(continuity))
    return {"worker_snapshot": snapshot, "voluntary_leavers": leavers, "client_familiarity": familiarity,
            "client_continuity": continuity, "worker_domains": domains}


KNOWN_DEPARTURES = {"W002": (24, "notice"), "W004": (120, "contract_end"), "W026": (40, "notice")}
"""Workers with a known last day (days after the score date, reason): two in team-a1, one in team-b1."""


def _known_departures(score_date: date, workers: list[str]) -> pd.DataFrame:
    known = {w: v for w, v in KNOWN_DEPARTURES.items() if w in workers}
    return pd.DataFrame({"worker_id": list(known),
                         "last_day": [pd.Timestamp(score_date) + pd.Timedelta(days=d) for d, _ in known.values()],
                         "reason": [reason for _, reason in known.values()]})


TENDER_CONTRACTS = {
    # contract: (organisation, municipality, domain, days from the score date to the end, successor, its workers)
    "FC-A1": ("org-a", "GM0363", "wmo", 100, "open", lambda w: _team(w) == "team-a1"),
    "FC-A2": ("org-a", "GM0344", "jeugd", 1000, "renewed", lambda w: _team(w) == "team-a2" and int(w[1:]) <= 22),
    "FC-A3": ("org-a", "GM0344", "wmo", 300, "open", lambda w: _team(w) == "team-a2" and int(w[1:]) > 22),
    "FC-B1": ("org-b", "GM0363", "wmo", 200, "lost", lambda w: _team(w) == "team-b1"),
    "FC-B2": ("org-b", "GM0344", "participatie", 400, "open", lambda w: False),
}
"""The tender calendar's running contracts: FC-A3 holds two workers (a small cell, which FC-A2's ten would give
away beside the region's twelve), FC-B2 none."""


def _tender_calendar(score_date: date, workers: list[str], p_26w: np.ndarray) -> dict[str, pd.DataFrame]:
    """The calendar tables as the weekly run publishes them; the probability before the end follows the 26-week
    one under a constant hazard, and with the end far away it is 20% lower for an end within 26 weeks."""
    contracts = pd.DataFrame([
        {"contract_id": c, "organisation_id": org, "municipality": m, "domain": d,
         "start_date": pd.Timestamp(score_date) - pd.Timedelta(days=700),
         "end_date": pd.Timestamp(score_date) + pd.Timedelta(days=days), "tendered": org == "org-a",
         "successor": successor, "weeks_to_end": -(-days // 7)}
        for c, (org, m, d, days, successor, _) in TENDER_CONTRACTS.items()])
    p = dict(zip(workers, p_26w))
    rows = []
    for c, (_, _, _, days, _, on) in TENDER_CONTRACTS.items():
        window = min(-(-days // 7), 52)
        for w in filter(on, workers):
            until = 1 - (1 - p[w]) ** (window / 26)
            rows.append({"worker_id": w, "contract_id": c, "window_weeks": window, "p_until_end": until,
                         "p_until_end_far": until * (0.8 if window <= 26 else 1.0)})
    return {"tender_calendar": contracts, "tender_calendar_workers": pd.DataFrame(rows)}


INFLOW_GONE = "org-gone"
"""An organisation with hires and exits in the window and no scored worker this week: its inflow cell is suppressed."""
INFLOW_GONE_REGION = "GM0014"
"""A region likewise (its workers' employer gone): suppressed, so the sector page draws no chart of it."""


def _sector_inflow(snapshot: pd.DataFrame, risk: pd.DataFrame) -> pd.DataFrame:
    """The week's sector_inflow as the weekly run publishes it: every cell of every grouping (and the sector) with
    hires, exits, net change, moves, leavers of the sector and clients without a steady worker at one to three
    years; a cell's figures grow with its position and the horizon, so that each figure is told apart from the
    others."""
    cells = snapshot.assign(organisation_id=risk.organisation_id.to_numpy())
    keys = {"region": sorted([*cells.region.unique(), INFLOW_GONE_REGION]),
            "organisation": [*sorted(cells.organisation_id.unique()), INFLOW_GONE],
            "domain": sorted(cells.domain.unique()), "occupation": sorted(cells.occupation.unique()),
            "sector": ["sector"]}
    rows = []
    for grouping, values in keys.items():
        for i, key in enumerate(values):
            for h in (52, 104, 156):
                years = h // 52
                hires, exits = 6.0 * years + i, 5.0 * years + 2 * i
                figures = {"hires": (hires, 20.0 + i), "exits": (exits, 16.0 + 2 * i),
                           "net_change": (hires - exits, 4.0 - i), "moves": (1.5 * years + i, 5.0 + i),
                           "leaves_sector": (2.5 * years + i, 7.0 + i), "without_steady_worker": (3.0 + i, 40.0 + i)}
                for measure, (expected, past) in figures.items():
                    rows.append({"grouping": grouping, "key": key, "measure": measure, "horizon_weeks": h,
                                 "expected": expected, "low": int(expected) - 3 * years, "high": int(expected) + 3 * years,
                                 "past": past, "window_weeks": {"without_steady_worker": 52.0, "moves": 78.0,
                                                                "leaves_sector": 78.0}.get(measure, 104.0),
                                 "reason": None})
    return pd.DataFrame(rows)


def _sector_history(inflow: pd.DataFrame, data_end: date) -> pd.DataFrame:
    """The week's sector_history: every inflow cell's hires and exits in the three years of 52 weeks before the data
    end, each count its own (the cell's position, the year and the measure), so a chart's figure is told apart."""
    cells = inflow[["grouping", "key"]].drop_duplicates().reset_index(drop=True)
    return pd.DataFrame([{"grouping": c.grouping, "key": c.key, "measure": measure,
                          "year_end": data_end - timedelta(weeks=52 * k), "count": base + 3 * i + k}
                         for i, c in enumerate(cells.itertuples()) for k in range(3)
                         for measure, base in (("hires", 20), ("exits", 30))])


def _card_and_monitoring(week: dict[str, pd.DataFrame], version: str) -> dict[str, pd.DataFrame]:
    """The week's model card (with the week's fairness audit, when it has one) and drift check: the
    training weeks stand for a caseload 30% lower than this week's, so caseload alerts, as does the
    13-week O/E of a made-up earlier week (its 90% interval wholly above 1.25)."""
    facts = CardFacts(model_name=MODEL_NAME, model_version=version, forecaster="cox", features=MODEL_FEATURES,
                      training_rows=5000, training_events=250, params={"test_from": "2023-06-05"},
                      metrics={"test_c_index": 0.7, "test_auc_26w": 0.72}, fairness=week.get("fairness"))
    snapshot = week["worker_snapshot"]
    encoder = FeatureEncoder(("caseload", "fte", "tenure_weeks", "occupation")).fit(snapshot)
    training = snapshot.assign(caseload=snapshot.caseload / 1.3)
    expected, realised = np.array([10.0, 8.0]), np.array([25.0, 8.0])
    low, high = zip(*(oe_interval(r, e) for r, e in zip(realised, expected)))
    outcomes = pd.DataFrame({"kind": "outcome", "cohort_date": pd.Timestamp("2023-12-04"), "horizon": [13, 26],
                             "expected": expected, "realised": realised, "observed_expected": realised / expected,
                             "oe_low": low, "oe_high": high, "alert": [True, False],
                             "reason": ["13 weeks after 2023-12-04: O/E 2.50, 90% interval wholly above 1.25", None]})
    drift = feature_drift(reference(encoder, training), encoder.raw(snapshot))
    checks = pd.DataFrame([*drift.to_dict("records"), *outcomes.to_dict("records")])
    return {"model_card": card_table(render(model_card(facts))), "monitoring": checks}


def _fairness(version: str) -> pd.DataFrame:
    """The version's audit: gender x unreliable at 26 weeks (whence WITHHELD_WORKER), one group too small to judge."""
    rows = [("gender", "f", 400, 60, 0.70, 1.02, "ok"), ("gender", "m", 300, 40, 0.69, 0.97, "ok"),
            ("gender", "x", 120, 25, 0.66, 1.60, "unreliable"), ("contract_type", "permanent", 700, 110, 0.70, 1.0, "ok"),
            ("contract_type", "temporary or flex", 120, 15, 0.62, 1.1, "insufficient")]
    return pd.DataFrame([
        {"attribute": a, "group": g, "horizon": 26, "n": n, "leavers": k, "c_index": auc - 0.01, "auc": auc,
         "auc_low": auc - 0.05, "auc_high": auc + 0.05, "observed_expected": oe, "oe_low": oe - 0.2 if oe < 1.5 else 1.3,
         "oe_high": oe + 0.2, "flag_rate": 0.1, "recall": 0.2, "false_flag_rate": 0.09, "status": status,
         "model_version": version}
        for a, g, n, k, auc, oe, status in rows])


def publish_fixture_week(settings: Settings, score_date: date, workers: list[str], version: str, seed: int,
                         withheld: tuple[str, ...] = (), hidden_p_26w: float | None = None) -> None:
    """Publish one score week through the weekly flow's own publishing step; `withheld` workers' probabilities
    are withheld, as the weekly run does for a group the fairness audit found the model unreliable for, and
    ranked as it ranks them; `hidden_p_26w`, when given, is their (kept, never shown) 26-week probability."""
    rng = np.random.default_rng(seed)
    p_26w = rng.beta(2, 12, size=len(workers))
    if hidden_p_26w is not None:
        p_26w[np.isin(workers, withheld)] = hidden_p_26w
    p_13w = 1 - np.sqrt(1 - p_26w)
    p_52w = 1 - (1 - p_26w) ** 2
    risk = pd.DataFrame({
        "worker_id": workers, "organisation_id": [TEAMS[_team(w)] for w in workers],
        "team_id": [_team(w) for w in workers], "p_13w": p_13w, "p_26w": p_26w, "p_52w": p_52w,
        "model_name": MODEL_NAME, "model_version": version,
    })
    risk = risk.join(pd.DataFrame([_drivers(rng) for _ in workers]))
    for column in ("p_13w", "p_26w", "p_52w"):  # a 90% interval around each probability, as the weekly run publishes
        risk[f"{column}_low"], risk[f"{column}_high"] = 0.8 * risk[column], np.minimum(1.25 * risk[column], 1.0)
    risk["withheld"] = np.where(risk.worker_id.isin(withheld), WITHHELD_REASON, None)
    risk.loc[risk.worker_id.isin(withheld), [c for c in risk if c.endswith(("_low", "_high"))]] = np.nan
    risk = rank_shown(risk)
    weeks = np.arange(53)
    curves = pd.DataFrame([
        {"worker_id": w, "week": int(t), "survival": float((1 - p) ** (t / 26))}
        for w, p in zip(workers, p_26w) for t in weeks
    ])
    clients, summaries = [], []
    for w, p13, p26, p52 in zip(workers, p_13w, p_26w, p_52w):
        frame, summary = _clients(w, float(p13), float(p26), float(p52), rng)
        clients.append(frame)
        if summary:
            summaries.append(summary)
    clients = pd.concat(clients, ignore_index=True)
    week = {"risk_scores": risk, "survival_curves": curves, "worker_exposure": pd.DataFrame(summaries),
            "client_exposure": clients, "model_inputs": pd.DataFrame(in_words(MODEL_FEATURES))} | _situation(workers, clients, rng)
    week["fairness"] = _fairness(version)
    week["known_departures"] = _known_departures(score_date, workers)
    week |= _tender_calendar(score_date, workers, p_26w)
    week["sector_inflow"] = _sector_inflow(week["worker_snapshot"], risk)
    week["sector_history"] = _sector_history(week["sector_inflow"], score_date - timedelta(days=1))
    week |= _card_and_monitoring(week, version)
    # Colleagues leave together: the aggregates' intervals simulate with these frailties at 26 weeks.
    week["interval_frailty"] = pd.DataFrame({"horizon": [26], "team": [0.3], "organisation": [0.1], "sector": [0.0],
                                           "cohorts": [8]})
    # Where leavers go: a third of a worker's voluntary leaving is a move to another employer (org-b's workers:
    # a half), the rest leaves the sector (continuity.features.destinations).
    week["move_shares"] = pd.DataFrame({"worker_id": workers,
                                        "move_share": [0.5 if TEAMS[_team(w)] == "org-b" else 1 / 3 for w in workers]})
    week["destination_model"] = pd.DataFrame([{
        "status": "known", "reason": None, "window_weeks": 26, "exits": 400, "moves": 150, "censored": 20,
        "unknown": 0, "method": "pooled", "pooled_share": 0.375, "log_loss_pooled": 0.66, "log_loss_logistic": 0.67}])
    # The suppression pattern, decided as the weekly run decides it
    week["suppression"] = pattern_table(grouped_workers(risk, week["worker_snapshot"]), week["voluntary_leavers"])
    # The data end on the Sunday before the score week, as a Monday's run finds them.
    publish_week(settings, score_date, MODEL_NAME, version, week, data_end=score_date - timedelta(days=1))


def occupation(worker_id: str) -> str:
    return FORMULA_OCCUPATION if worker_id == FORMULA_WORKER else OCCUPATIONS[int(worker_id[1:]) % len(OCCUPATIONS)]


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A home holding two published weeks (and their history in the warehouse)."""
    home = tmp_path_factory.mktemp("published")
    settings = Settings(home=home)
    publish_fixture_week(settings, EARLIER_WEEK, [w for w in WORKERS if w not in HIRED], version="3", seed=1)
    publish_fixture_week(settings, LATEST_WEEK, [w for w in WORKERS if w != LEFT], version="4", seed=2)
    return settings


def authenticated(client: TestClient, token: str) -> TestClient:
    client.headers["Authorization"] = f"Bearer {token}"
    return client


@pytest.fixture
def admin_client() -> Callable[[Settings], TestClient]:
    """A client of a fresh service over the given home holding an admin token, for tests about data, not scope."""

    def start(settings: Settings) -> TestClient:
        return authenticated(TestClient(create_app(settings)), create_token(settings, "admin"))

    return start


@pytest.fixture(scope="session")
def app(settings: Settings):
    return create_app(settings)


@pytest.fixture(scope="session")
def tokens(settings: Settings) -> dict[str, str]:
    """One token per role and scope used in the scope tests; 'revoked' is an admin token, revoked."""

    made = {
        "admin": create_token(settings, "admin"),
        "hr_a": create_token(settings, "hr", organisation="org-a"),
        "hr_b": create_token(settings, "hr", organisation="org-b"),
        "manager_a1": create_token(settings, "manager", teams=["team-a1"]),
        "manager_a2_b1": create_token(settings, "manager", teams=["team-a2", "team-b1"]),
        "sector": create_token(settings, "sector"),
        "sector_amsterdam": create_token(settings, "sector", regions=["GM0363"]),
        "revoked": create_token(settings, "admin"),
    }
    assert revoke_token(settings, made["revoked"])
    return made


@pytest.fixture(scope="session")
def as_role(app, tokens) -> Callable[[str], TestClient]:
    """A client of the shared service holding the named token."""
    return lambda role: authenticated(TestClient(app), tokens[role])


@pytest.fixture(scope="session")
def client(as_role) -> Iterator[TestClient]:
    with as_role("admin") as test_client:
        yield test_client


@pytest.fixture(scope="session")
def published(settings: Settings) -> Callable[..., pd.DataFrame]:
    """Query what was published, for the values an answer must match: the warehouse's history tables
    (with score_date) and the current publication's other tables."""

    def query(sql: str, *params: object) -> pd.DataFrame:
        publication = Publications(settings.published).current()
        with duckdb.connect() as con:
            con.execute(f"attach '{settings.warehouse}' as history (read_only)")
            for name in TABLES:
                source = (f"history.{name}" if name in HISTORY_TABLES
                          else f"read_parquet('{publication.folder / f'{name}.parquet'}')")
                con.execute(f"create view {name} as select * from {source}")
            return con.execute(sql, list(params)).df()

    return query


@pytest.fixture(scope="session")
def latest_week(published: Callable[..., pd.DataFrame]) -> date:
    return pd.Timestamp(published("select max(score_date) as d from risk_scores")["d"][0]).date()


def week_with_case_numbers(settings: Settings) -> Settings:
    """The fixture's latest week published under ``settings``, with a case number for every client of it."""
    publish_fixture_week(settings, LATEST_WEEK, [w for w in WORKERS if w != LEFT], version="4", seed=2)
    clients = Publications(settings.published).current().table("client_exposure").client_id.drop_duplicates()
    write_case_numbers(pd.DataFrame({"client_id": clients, "case_number": [f"Z-{n:05d}" for n in range(len(clients))]}),
                       settings.case_numbers)
    return settings
