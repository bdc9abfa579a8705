"""Where voluntary leavers go: a move to another employer (the same person_key starting there) or out of the sector.

Destinations of past exits, the share of moves learned from them, the split of each worker's voluntary
probability into moving and leaving the sector, and the aggregates of both under the voluntary cells' suppression.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from continuity.features.destinations import (
    MIN_EXITS, MOVE_WINDOW_WEEKS, DestinationModel, destination_tables, exit_destinations, learn_destinations,
)
from continuity.forecasts.aggregates import aggregate_forecast, aggregate_response
from contract_frames import load, worker
from differencing import assert_no_cell_minus_an_insiders_view_is_small, assert_no_combination_isolates_a_few
from test_aggregates import NESTED, sector

KNOWN_BY = date(2024, 7, 1)


def days_before(n: int) -> date:
    return KNOWN_BY - timedelta(days=n)


def _exits() -> list[dict]:
    """A moves to org2 under a new employee number; B leaves the sector; C left too recently to know, D left
    recently and has already started elsewhere; E was dismissed (not voluntary); F returns after 40 weeks."""
    left = {"termination_reason": "voluntary"}
    return [
        worker("A", days_before(900), person_key="P1", termination_date=days_before(400), **left),
        worker("A2", days_before(390), person_key="P1", organisation_id="org2"),
        worker("B", days_before(900), person_key="P2", termination_date=days_before(300), **left),
        worker("C", days_before(900), person_key="P3", termination_date=days_before(30), **left),
        worker("D", days_before(900), person_key="P4", termination_date=days_before(60), **left),
        worker("D2", days_before(50), person_key="P4", organisation_id="org3"),
        worker("E", days_before(900), person_key="P5", termination_date=days_before(300),
               termination_reason="involuntary"),
        worker("E2", days_before(290), person_key="P5", organisation_id="org2"),
        worker("F", days_before(900), person_key="P6", termination_date=days_before(500), **left),
        worker("F2", days_before(500 - 7 * 40), person_key="P6", organisation_id="org2"),
    ]


def test_a_person_starting_elsewhere_under_a_new_employee_number_is_a_move(con):
    load(con, workers=_exits())
    found = exit_destinations(con, KNOWN_BY).set_index("worker_id")
    assert found.destination.to_dict() == {"F": "sector", "A": "move", "B": "sector", "D": "move", "C": "censored"}
    assert found.loc["A", "next_hire"] == pd.Timestamp(days_before(390))
    # what a run before D2 was hired knew: D's destination still open
    earlier = exit_destinations(con, days_before(55)).set_index("worker_id")
    assert earlier.loc["D", "destination"] == "censored" and "C" not in earlier.index
    # C's window passes without a start: it left the sector
    later = exit_destinations(con, days_before(30) + timedelta(weeks=MOVE_WINDOW_WEEKS, days=1)).set_index("worker_id")
    assert later.loc["C", "destination"] == "sector"


def test_without_a_person_key_moves_are_unknown_never_guessed(con):
    rows = [r | {"person_key": None} for r in _exits()]
    load(con, workers=rows)
    assert set(exit_destinations(con, KNOWN_BY).destination) == {"unknown"}
    con.execute("alter table workers drop column person_key")  # an export without the optional column
    learned = learn_destinations(con, KNOWN_BY)
    assert learned.model is None and "person_key" in learned.reason
    assert set(learned.exits.destination) == {"unknown"}


def test_an_export_of_one_employer_cannot_see_a_move(con):
    load(con, workers=[r | {"organisation_id": "org1"} for r in _exits()])
    learned = learn_destinations(con, KNOWN_BY)
    assert learned.model is None and "one employer" in learned.reason
    tables = destination_tables(con, KNOWN_BY, pd.DataFrame({"worker_id": ["X", "Y"]}))
    assert tables["move_shares"].move_share.isna().all()
    assert tables["destination_model"].status.iloc[0] == "unknown"


def test_the_regression_must_earn_its_place_over_the_pooled_share():
    rng = np.random.default_rng(3)
    n = 800
    states = pd.DataFrame({"organisation_id": rng.choice(["o1", "o2"], n), "region": "R", "occupation": "x",
                           "tenure_weeks": rng.uniform(10, 500, n), "is_temporary": 0, "fte": 0.8,
                           "pay_scale": 8, "caseload_ratio": 1.0})
    flat = DestinationModel().fit(states, pd.Series(rng.random(n) < 0.55))
    assert flat.method == "pooled" and flat.share == pytest.approx(0.55, abs=0.05)
    assert flat.predict(states.head(3)) == pytest.approx([flat.share] * 3)
    # where one employer's leavers nearly always move and the other's rarely do, the regression earns it
    moved = rng.random(n) < np.where(states.organisation_id == "o1", 0.9, 0.2)
    steep = DestinationModel().fit(states, pd.Series(moved))
    assert steep.method == "logistic" and steep.log_loss["logistic"] < steep.log_loss["pooled"]
    shares = steep.predict(pd.DataFrame(states.iloc[:2]).assign(organisation_id=["o1", "o2"]))
    assert shares[0] > 0.8 and shares[1] < 0.3


def _split_sector(seed: int = 1, unknown: bool = False) -> pd.DataFrame:
    workers = sector(NESTED, seed=seed)
    rng = np.random.default_rng(seed)
    workers["p_52w"] = 1 - (1 - workers.p_26w) ** 2
    workers["move_share"] = np.nan if unknown else rng.uniform(0.3, 0.7, len(workers))
    return workers


@pytest.mark.parametrize("horizon", [13, 26, 52])
def test_moving_and_leaving_the_sector_sum_to_the_voluntary_probability(horizon):
    workers = _split_sector()
    leavers = workers.sample(frac=0.5, random_state=1)
    by_measure = {m: {c.key: c for c in aggregate_forecast(workers, "region", horizon, leavers=leavers, measure=m)}
                  for m in ("voluntary", "sector", "moves")}
    p = workers[f"p_{horizon}w"]
    for key, cell in by_measure["voluntary"].items():
        moves, leaving = by_measure["moves"][key], by_measure["sector"][key]
        assert moves.suppressed == leaving.suppressed == cell.suppressed
        if cell.suppressed:
            assert moves.expected_leavers is None and leaving.expected_leavers is None
            continue
        members = workers.region == key
        assert moves.expected_leavers == pytest.approx((p * workers.move_share)[members].sum())
        assert moves.expected_leavers + leaving.expected_leavers == pytest.approx(cell.expected_leavers)
        assert moves.workers == leaving.workers == cell.workers
        assert moves.observed_leavers_last_year is None and leaving.observed_leavers_last_year is None
        for split in (moves, leaving):
            assert split.interval[0] <= split.expected_leavers <= split.interval[1]
            assert split.interval[1] <= cell.interval[1]


def test_unknown_destinations_give_no_split_figures_and_say_why():
    workers = _split_sector(unknown=True)
    body = aggregate_response(workers, "region", 26, measure="moves", destinations="the export has no person_key")
    assert body["measure"] == "moves" and body["destinations"] == "the export has no person_key"
    voluntary = aggregate_response(workers, "region", 26)
    assert voluntary["destinations"] is None
    for cell, plain in zip(body["cells"], voluntary["cells"]):
        assert cell["suppressed"] == plain["suppressed"] and cell["workers"] == plain["workers"]
        assert cell["expected_leavers"] is None and cell["interval"] is None
        assert cell["expected_clients_affected"] is None
    assert aggregate_response(workers, "region", 26, measure="sector")["destinations"]  # said even when not passed
    with pytest.raises(ValueError):
        aggregate_forecast(workers, "region", 26, measure="outflow")


@pytest.mark.parametrize("seed", [4, 8])
def test_the_split_figures_reveal_no_small_group_to_any_reader(seed):
    """The differencing attacks of the voluntary figures, on the sector and moves figures and on all three together."""
    rng = np.random.default_rng(seed)
    rows = [(f"R{rng.integers(4)}", f"O{k % 4}", int(rng.integers(2, 30))) for k in range(7)]
    workers = sector(rows, seed=seed)
    workers["occupation"] = rng.choice(["casemanager", "klantmanager", "opbouwwerker"], len(workers), p=[.5, .45, .05])
    workers["move_share"] = rng.uniform(0.2, 0.8, len(workers))
    leavers = workers.sample(frac=0.4, random_state=seed)
    for measure in ("sector", "moves"):
        assert_no_cell_minus_an_insiders_view_is_small(workers, leavers, 26, measure=measure)
        assert_no_cell_minus_an_insiders_view_is_small(workers, leavers, 26, regions=frozenset({"R1", "R2"}),
                                                       measure=measure)
    for queries in (("region",), ("organisation",), ("occupation",)):
        assert_no_combination_isolates_a_few(workers, leavers, queries, measures=("voluntary", "sector", "moves"))
    assert_no_combination_isolates_a_few(workers, leavers, ("region",), regions=frozenset({"R0"}),
                                         measures=("voluntary", "sector", "moves"))


def test_too_few_known_exits_give_unknown(con):
    load(con, workers=_exits())
    learned = learn_destinations(con, KNOWN_BY)  # 3 known exits, no snapshots
    assert learned.model is None and str(MIN_EXITS) in learned.reason


@pytest.fixture(scope="module")
def synthetic_sector(tmp_path_factory):
    """A synthetic sector of 800 positions over 4 years (people move between employers and leave the sector),
    ingested and snapshotted, with its true hazards: (warehouse connection, snapshots, labels, oracle)."""
    import duckdb

    from continuity.features.ingest import ingest_dir
    from continuity.features.snapshots import build_snapshots
    from continuity.synth.generate import generate_sector
    from continuity.warehouse import connect, replace_table

    out = tmp_path_factory.mktemp("moves")
    summary = generate_sector(out, workers=800, years=4, seed=7, fmt="parquet")
    warehouse = out / "warehouse.duckdb"
    ingest_dir(out / "exports", warehouse, export_date=date.fromisoformat(summary.to_json()["export_date"]),
               pseudonym_key="k" * 40)
    with connect(warehouse) as con:
        replace_table(con, "oracle_hazard", pd.read_parquet(out / "oracle" / "oracle_hazard.parquet"))
        build_snapshots(con)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        yield con, con.table("snapshots").df(), con.table("labels").df(), con.table("oracle_hazard").df()


def test_forecast_movers_and_leavers_of_the_sector_match_the_synthetic_sectors_realised(synthetic_sector):
    """With the true voluntary probabilities, the split by the share learned from earlier exits forecasts movers
    and leavers of the sector within 20% of what happened, pooled over 4 quarterly origins (a few hundred exits
    each), and the share of moves barely changes with the weeks since the origin (the competing causes share
    the voluntary hazard)."""
    from continuity.benchmarks.sector_moves import split_against_realised
    from continuity.horizons import risk_column
    from continuity.models.backtest import origin_dates
    from continuity.models.metrics import Oracle

    con, snapshots, labels, oracle = synthetic_sector
    truth = Oracle(oracle)
    origins = origin_dates(snapshots, labels, 4, 13, 52 + MOVE_WINDOW_WEEKS)
    found = split_against_realised(con, snapshots, origins, (13, 26), lambda t, rows, h:
                                   truth.predict_risk(rows, (h,))[risk_column(h)])
    for h in ("13", "26"):
        figures = found["horizons"][h]
        assert len(figures["origins"]) == 4 and figures["realised_unknown"] == 0
        assert figures["realised_moves"] >= 50 and figures["realised_sector"] >= 50
        assert 0.8 <= figures["moves_observed_expected"] <= 1.2, figures
        assert 0.8 <= figures["sector_observed_expected"] <= 1.2, figures
        assert figures["forecast_move_share"] == pytest.approx(figures["realised_move_share"], abs=0.06)
    shares = [band["realised_move_share"] for band in found["by_weeks_since_origin"].values()]
    assert max(shares) - min(shares) < 0.1, found["by_weeks_since_origin"]


def test_the_weekly_run_publishes_each_workers_move_share_and_the_model_behind_it(weekly_run):
    """The tiny sector's export has person_key and three employers: every scored worker gets a share, and the
    aggregates split the week's voluntary leavers by it."""
    from continuity.forecasts.frame import forecast_frame
    from continuity.publication import Publications

    settings, _ = weekly_run
    publication = Publications(settings.published).current()
    shares, model = publication.table("move_shares"), publication.table("destination_model")
    assert set(shares.worker_id) == set(publication.table("risk_scores").worker_id)
    assert model.status.iloc[0] == "known" and model.reason.isna().all() and model.exits.iloc[0] >= MIN_EXITS
    assert shares.move_share.between(0.05, 0.95).all()
    assert abs(shares.move_share.mean() - model.moves.iloc[0] / model.exits.iloc[0]) < 0.15
    frame = forecast_frame(publication)
    assert frame.destinations is None
    moves = aggregate_forecast(frame.workers, "organisation", 52, measure="moves")
    leaving = aggregate_forecast(frame.workers, "organisation", 52, measure="sector")
    for m, s, v in zip(moves, leaving, aggregate_forecast(frame.workers, "organisation", 52)):
        if not v.suppressed:
            assert m.expected_leavers + s.expected_leavers == pytest.approx(v.expected_leavers)
