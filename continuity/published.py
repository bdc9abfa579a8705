"""The published week: every table the weekly run hands to the answers, declared once.

The weekly run writes these tables (``continuity.publication``) and everything that answers
(the API, the handover planner, the sector aggregates and scenarios) reads only them, never
the contract tables or the features behind them: data flow one way, and what a week
published is exactly what is served. The declaration gives each table's columns, their
types and what they mean; the writer checks every frame against it, the warehouse keeps
its history tables from it (``ddl``) and the tests build their weeks through it.

Probabilities are cumulative incidences of voluntary leaving within h weeks, with the
other exits (dismissal, retirement, end of a temporary contract) as competing events,
calibrated per horizon (``docs/definitions.md#published-probabilities``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from continuity.horizons import HORIZONS, risk_column


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # "str", "int", "float", "bool", "date"
    meaning: str
    nullable: bool = False


@dataclass(frozen=True)
class PublishedTable:
    name: str
    meaning: str
    columns: tuple[Column, ...]
    history: bool = False  # also kept in the warehouse, one row set per score week
    open_columns: bool = False  # further columns ride along unchecked (the model's inputs)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _per_horizon(template: str, dtype: str, meaning: str, nullable: bool = False) -> tuple[Column, ...]:
    return tuple(Column(template.format(column=risk_column(h), h=h), dtype, meaning.format(h=h), nullable)
                 for h in HORIZONS)


RISK_SCORES = PublishedTable(
    "risk_scores",
    "One row per worker scored this week: the risk list, ranked by the 26-week probability.",
    (
        Column("worker_id", "str", "the worker's id as in the HR export"),
        Column("organisation_id", "str", "employer at the score date"),
        Column("team_id", "str", "team at the score date"),
        *_per_horizon("{column}", "float", "P(leaving voluntarily within {h} weeks), competing exits accounted for"),
        Column("rank", "int", "1 = highest probability of leaving within 26 weeks among the workers whose "
               "probabilities are shown; empty where withheld (those rows come last, by worker id)", nullable=True),
        Column("drivers", "str", 'JSON [{"feature", "label", "message", "values", "direction", "contribution", '
               '"hazard_ratio", "actionable", "health"}]: the top three actionable drivers, then up to two others '
               "(continuity.models.explanation)"),
        Column("relative_hazard", "float", "the worker's voluntary hazard against the model's reference worker: "
               "the product of the drivers' hazard ratios and other_factors"),
        Column("other_factors", "float", "hazard ratio of everything the shown drivers leave out"),
        Column("model_name", "str", "registered model that scored the week"),
        Column("model_version", "str", "its version"),
        *_per_horizon("{column}_change", "float", "change of p_{h}w since the previous published week "
                      "(empty for a worker not scored then)", nullable=True),
        *_per_horizon("{column}_low", "float", "lower end of the 90% interval of p_{h}w (docs/definitions.md"
                      "#intervals); empty where withheld or the horizon could not be calibrated", nullable=True),
        *_per_horizon("{column}_high", "float", "upper end of the 90% interval of p_{h}w; empty as the lower end",
                      nullable=True),
        Column("withheld", "str", "why this worker's probabilities are not shown (the fairness audit found the model "
               "unreliable for a group they belong to); empty when they are shown", nullable=True),
    ),
    history=True,
)

SURVIVAL_CURVES = PublishedTable(
    "survival_curves",
    "Per scored worker, the probability of not having left voluntarily after each week 0..52.",
    (
        Column("worker_id", "str", "scored worker"),
        Column("week", "int", "weeks after the score date"),
        Column("survival", "float", "1 - cumulative incidence of voluntary leaving by that week"),
    ),
    history=True,
)

WORKER_EXPOSURE = PublishedTable(
    "worker_exposure",
    "Per scored worker, what their leaving would cost their clients (docs/definitions.md).",
    (
        Column("worker_id", "str", "scored worker"),
        Column("active_clients", "int", "clients with an open assignment"),
        Column("vulnerable_clients", "int", "of which with any vulnerability flag"),
        Column("mean_relationship_weeks", "float", "mean length of those relationships"),
        Column("weighted_clients", "float", "sum of the clients' exposure"),
        *_per_horizon("expected_exposure_{h}w", "float", "p_{h}w x weighted_clients"),
    ),
    history=True,
)

# The discontinuity monitor's horizon for a client's expected handovers, and the column weighing each worker's
# probability by the chance the client's case is still open when they leave (features/case_survival.py).
HANDOVER_HORIZON = 26
HANDOVER_WEIGHT = f"handover_weight_{HANDOVER_HORIZON}w"

CLIENT_EXPOSURE = PublishedTable(
    "client_exposure",
    "Per open worker-client pair of a scored worker: the client's continuity and exposure (client ids pseudonymised).",
    (
        Column("worker_id", "str", "scored worker"),
        Column("client_id", "str", "pseudonymised client id"),
        Column("household_id", "str", "pseudonymised household id; empty where the export gives none",
               nullable=True),
        Column("role", "str", "primary or secondary"),
        Column("domain", "str", "wmo, jeugd or participatie"),
        Column("complexity", "int", "1-5"),
        Column("vulnerable", "bool", "any vulnerability flag, or placed out of home"),
        Column("flag_out_of_home", "bool", "placed out of home at the score date (the flag, or an open placement)"),
        Column("replacements_24m", "int", "re-placements (a placement after an earlier one) in the last 104 weeks"),
        Column("need", "float", "complexity and vulnerability weight of the client (out of home and re-placements "
               "weigh most)"),
        Column("relationship_weeks", "float", "weeks since the pair's first assignment or contact"),
        Column("contact_share", "float", "the worker's share of the client's contacts in the window"),
        Column("usual_provider", "bool", "the worker has most of the client's contacts"),
        Column("upc", "float", "usual provider continuity", nullable=True),
        Column("coc", "float", "Bice-Boxerman continuity of care; empty below two contacts", nullable=True),
        Column("secon", "float", "sequential continuity", nullable=True),
        Column("mmci", "float", "modified modified continuity index", nullable=True),
        Column("kpc", "float", "known provider continuity; empty without a prior year", nullable=True),
        Column("team_continuity", "float", "share of contacts with the client's small stable team (up to three "
               "faces of one team); empty without contacts", nullable=True),
        Column("distinct_workers_12m", "int", "different workers in the last 12 months"),
        Column("handovers_12m", "int", "handovers in the last 12 months"),
        Column("distinct_workers_24m", "int", "different workers in the last 24 months"),
        Column("coc_drop", "float", "the client's COC lost without this worker's contacts"),
        Column("exposure", "float", "what losing this worker costs the client; the members of a household the "
               "worker holds share one loss"),
        Column(HANDOVER_WEIGHT, "float", "P(the case is still open in the week the worker leaves, given they "
               "leave within 26 weeks); the client's expected handovers are the sum of p_26w x this weight "
               "(features/case_survival.py)"),
    ),
    history=True,
)

WORKER_SNAPSHOT = PublishedTable(
    "worker_snapshot",
    "Per scored worker, the state at the score date the answers group and plan by; the model's inputs "
    "ride along, so that scenarios re-score exactly what was scored.",
    (
        Column("worker_id", "str", "scored worker"),
        Column("region", "str", "municipality code of the team"),
        Column("occupation", "str", "occupation as exported"),
        Column("domain", "str", "domain of most open primary cases, or 'no caseload'"),
        Column("caseload", "float", "open primary cases"),
        Column("fte", "float", "working hours"),
        Column("tenure_weeks", "float", "weeks in the organisation"),
    ),
    open_columns=True,
)

FORMER_WORKERS = PublishedTable(
    "former_workers",
    "Workers scored in an earlier week but not this one, where they were last scored: a caller "
    "who could read them then gets a 404, not a 403.",
    (
        Column("worker_id", "str", "worker no longer scored"),
        Column("organisation_id", "str", "organisation in their last scored week"),
        Column("team_id", "str", "team in their last scored week"),
    ),
)

VOLUNTARY_LEAVERS = PublishedTable(
    "voluntary_leavers",
    "Workers who left voluntarily in the year before the score date: the observed outflow.",
    (
        Column("worker_id", "str", "leaver"),
        Column("organisation_id", "str", "employer they left"),
        Column("team_id", "str", "team on their last working day"),
        Column("region", "str", "region on their last working day"),
        Column("occupation", "str", "occupation"),
        Column("domain", "str", "main domain on their last working day, or 'no caseload'"),
    ),
)

CLIENT_FAMILIARITY = PublishedTable(
    "client_familiarity",
    "For each open primary client of a scored worker, the workers who know the client (its primary "
    "worker too: a planner leaves out the leaver).",
    (
        Column("client_id", "str", "pseudonymised client id"),
        Column("worker_id", "str", "a worker who knows the client"),
        Column("secondary", "bool", "holds an open secondary assignment"),
        Column("contacts_12m", "int", "contacts in the last year"),
    ),
)

CLIENT_CONTINUITY = PublishedTable(
    "client_continuity",
    "For each client with an open assignment to a scored worker, the discontinuity of the last year: what the "
    "client discontinuity monitor ranks by, with client_exposure's bonds and risk_scores' probabilities.",
    (
        Column("client_id", "str", "pseudonymised client id"),
        Column("new_faces_12m", "int", "workers the client first met (assignment or contact) in the last 52 weeks"),
        Column("distinct_workers_12m", "int", "different workers in the last 52 weeks, new or known"),
        Column("handovers_12m", "int", "assignments ended by a handover or the worker leaving in the last 52 weeks"),
        Column("team_continuity", "float", "share of the window's contacts with the client's small stable team: up "
               "to three faces of one team (continuity.features.continuity_indices); empty without contacts",
               nullable=True),
    ),
)

WORKER_DOMAINS = PublishedTable(
    "worker_domains",
    "The domains each worker had cases in during the last year.",
    (
        Column("worker_id", "str", "worker"),
        Column("domain", "str", "wmo, jeugd or participatie"),
    ),
)

KNOWN_DEPARTURES = PublishedTable(
    "known_departures",
    "Scored workers whose last day is known at the score date, not forecast: a notice given, or a temporary "
    "contract ending within 52 weeks with no renewal known (continuity.features.known_departures).",
    (
        Column("worker_id", "str", "scored worker"),
        Column("last_day", "date", "the planned last day: the notice's, or the contract's end"),
        Column("reason", "str", "notice, or contract_end (a temporary contract ends; renewing it would prevent "
               "the departure)"),
    ),
)

MODEL_INPUTS = PublishedTable(
    "model_inputs",
    "The inputs of the model that scored the week, in words: what a worker's own view (/me) says was used.",
    (
        Column("feature", "str", "snapshot feature name"),
        Column("label", "str", "the feature in plain words"),
    ),
)

MODEL_CARD = PublishedTable(
    "model_card",
    "The model card and data sheet of the version that scored the week (continuity.models.card).",
    (
        Column("format", "str", "markdown or html"),
        Column("text", "str", "the card in that format"),
    ),
)

MONITORING = PublishedTable(
    "monitoring",
    "The week's drift check (continuity.models.drift): per model feature, training against this week; "
    "per horizon, realised against expected leavers of the latest published week whose horizon has passed. "
    "The warehouse keeps every week's.",
    (
        Column("kind", "str", "feature or outcome"),
        Column("feature", "str", "model feature (feature rows)", nullable=True),
        Column("test", "str", "ks (numbers) or chi2 (categories and yes/no flags)", nullable=True),
        Column("psi", "float", "population stability index, training against this week", nullable=True),
        Column("statistic", "float", "the test's statistic", nullable=True),
        Column("p_value", "float", "the test's p-value", nullable=True),
        Column("cohort_date", "date", "the published week whose outcomes are judged (outcome rows)", nullable=True),
        Column("horizon", "int", "weeks (outcome rows)", nullable=True),
        Column("expected", "float", "sum of that week's published probabilities at the horizon", nullable=True),
        Column("realised", "float", "voluntary leavers among its scored workers within the horizon", nullable=True),
        Column("observed_expected", "float", "realised / expected", nullable=True),
        Column("oe_low", "float", "lower end of its 90% interval (exact Poisson on the realised count)",
               nullable=True),
        Column("oe_high", "float", "upper end", nullable=True),
        Column("alert", "bool", "PSI >= 0.25, or an O/E interval wholly outside 0.8-1.25"),
        Column("reason", "str", "the alert in words", nullable=True),
    ),
    history=True,
)

FAIRNESS = PublishedTable(
    "fairness",
    "The fairness audit of the version that scored the week, on its held-out weeks (continuity.models.fairness): "
    "per horizon and group, how well its forecasts hold. A horizon no held-out week could follow is absent.",
    (
        Column("attribute", "str", "gender, age_band, contract_type or occupation"),
        Column("group", "str", "the group within the attribute"),
        Column("horizon", "int", "weeks"),
        Column("n", "int", "people in the group whose status at the horizon is known"),
        Column("leavers", "int", "of whom left voluntarily within the horizon"),
        Column("c_index", "float", "Harrell's C over the group's rows", nullable=True),
        Column("auc", "float", "ROC AUC of leaving within the horizon", nullable=True),
        Column("auc_low", "float", "lower end of its 90% bootstrap interval", nullable=True),
        Column("auc_high", "float", "upper end", nullable=True),
        Column("observed_expected", "float", "observed over expected (summed probabilities) leavers", nullable=True),
        Column("oe_low", "float", "lower end of its 90% bootstrap interval", nullable=True),
        Column("oe_high", "float", "upper end", nullable=True),
        Column("flag_rate", "float", "share of the group's rows on the weekly top-decile list"),
        Column("recall", "float", "share of its leavers' rows on the list", nullable=True),
        Column("false_flag_rate", "float", "share of its stayers' rows on the list", nullable=True),
        Column("status", "str", "ok; insufficient (fewer than 20 leavers: not judged); unreliable (the O/E "
               "interval lies wholly outside 0.8-1.25: the group's probabilities are withheld)"),
        Column("model_version", "str", "the audited version"),
    ),
)

INTERVAL_FRAILTY = PublishedTable(
    "interval_frailty",
    "How much colleagues leave together (continuity.forecasts.dispersion): per horizon, the variances of the "
    "shared team, organisation and sector frailties that past published weeks' realised leavers show; the sector "
    "aggregates' intervals simulate with them. A horizon no past week has passed for is absent (independent "
    "leaving, the Poisson-binomial).",
    (
        Column("horizon", "int", "weeks"),
        Column("team", "float", "variance of the team frailty (mean 1)"),
        Column("organisation", "float", "variance of the organisation frailty (mean 1)"),
        Column("sector", "float", "variance of the frailty the whole sector shares in a week (mean 1)"),
        Column("cohorts", "int", "past published weeks the estimate rests on"),
    ),
)

TENDER_CALENDAR = PublishedTable(
    "tender_calendar",
    "The funding contracts running at the score date (continuity.features.funding_calendar): the tender "
    "calendar of GET /funding-contracts and the sector page.",
    (
        Column("contract_id", "str", "the funding contract"),
        Column("organisation_id", "str", "the organisation funded"),
        Column("municipality", "str", "municipality code of the market"),
        Column("domain", "str", "wmo, jeugd or participatie"),
        Column("start_date", "date", "first day funded"),
        Column("end_date", "date", "last day funded"),
        Column("tendered", "bool", "awarded by tender"),
        Column("successor", "str", "known at the score date: renewed (the organisation's next contract for the "
               "market is awarded), lost (a rival's is), or open (none yet: the tender is to come)"),
        Column("weeks_to_end", "int", "whole weeks from the score date to the end"),
    ),
)

TENDER_CALENDAR_WORKERS = PublishedTable(
    "tender_calendar_workers",
    "The scored workers on a running funding contract (their team works for its market), with the probability "
    "of leaving voluntarily before its end and the same with the end far away (model-based, not causal; "
    "continuity.features.funding_calendar).",
    (
        Column("worker_id", "str", "scored worker"),
        Column("contract_id", "str", "the contract their team's market runs on"),
        Column("window_weeks", "int", "weeks from the score date to the end, at most 52 (the curve's end)"),
        Column("p_until_end", "float", "the model's P(leaving voluntarily within the window), months_to_funding_end "
               "counting down week by week (the published probability where the countdown changes nothing)"),
        Column("p_until_end_far", "float", "the same with months_to_funding_end never under 72 (the contract's end "
               "far away), every other input as scored"),
    ),
)

MOVE_SHARES = PublishedTable(
    "move_shares",
    "Per scored worker, the share of their voluntary leaving that is a move to another employer of the sector "
    "(continuity.features.destinations): P(move within h) = p_hw x move_share, P(leaving the sector within h) = "
    "p_hw x (1 - move_share); the sector aggregates' measure=moves and measure=sector.",
    (
        Column("worker_id", "str", "scored worker"),
        Column("move_share", "float", "pi(x), the destination model's share of moves; empty when destinations are "
               "unknown (destination_model.reason)", nullable=True),
    ),
)

DESTINATION_MODEL = PublishedTable(
    "destination_model",
    "One row: what the week's move shares rest on (continuity.features.destinations).",
    (
        Column("status", "str", "known, or unknown (no person_key, one employer, or too few known exits)"),
        Column("reason", "str", "why unknown, in words; empty when known", nullable=True),
        Column("window_weeks", "int", "a new employment within this many weeks of the last day is a move"),
        Column("exits", "int", "voluntary exits with a known destination the share was learned from"),
        Column("moves", "int", "of which moves"),
        Column("censored", "int", "voluntary exits whose window had not passed (destination not yet known)"),
        Column("unknown", "int", "voluntary exits without a person_key"),
        Column("method", "str", "pooled (one share) or logistic (the regression earned its place)", nullable=True),
        Column("pooled_share", "float", "the pooled share of moves", nullable=True),
        Column("log_loss_pooled", "float", "held-out log loss of the pooled share on the latest quarter of exits",
               nullable=True),
        Column("log_loss_logistic", "float", "the same for the regression", nullable=True),
    ),
)

SECTOR_INFLOW = PublishedTable(
    "sector_inflow",
    "Per cell (the aggregates' groupings, and the sector as one cell), measure and horizon of one to three years: "
    "hires, exits (every reason), the net change in staff, the voluntary leavers who move to another employment of "
    "the sector and those who leave it, and the clients expected to be without a steady worker, "
    "with a 90% interval (continuity.forecasts.inflow_table, with forecasts.inflow and forecasts.staffing_gap), forecast at the data "
    "end from the export's hires, exits and contacts (continuity.features.inflow). A measure the export cannot "
    "forecast has one row for the sector with empty figures and the reason.",
    (
        Column("grouping", "str", "region, organisation, domain, occupation, or sector (the whole sector, key sector)"),
        Column("key", "str", "the cell"),
        Column("measure", "str", "hires, exits, net_change (hires - exits), moves (voluntary leavers starting another "
               "employment in the sector within 26 weeks), leaves_sector (voluntary leavers who do not) or "
               "without_steady_worker (open clients none of whose workers has seen them in 13 weeks, or waiting on "
               "a vacancy)"),
        Column("horizon_weeks", "int", "52, 104 or 156: the count over that many weeks after the data end "
               "(without_steady_worker: the count on that date)"),
        Column("expected", "float", "the forecast; empty when the measure cannot be forecast (reason)", nullable=True),
        Column("low", "int", "the 90% interval's lower end", nullable=True),
        Column("high", "int", "the 90% interval's upper end", nullable=True),
        Column("past", "float", "what the figure rests on: hires, exits, moves or leavers of the sector counted in "
               "the window (moves and leaves_sector: one ending 26 weeks before the data end, so that every "
               "destination in it is known); net_change past hires minus exits in it; without_steady_worker the "
               "cell's mean count of open clients on the past "
               "dates", nullable=True),
        Column("window_weeks", "float", "the weeks the figure was counted over (without_steady_worker: from the "
               "first past date to the data end)", nullable=True),
        Column("reason", "str", "why the measure has no figure; empty when it has one", nullable=True),
    ),
)

SUPPRESSION = PublishedTable(
    "suppression",
    "The small-cell suppression pattern of the sector aggregates (continuity.forecasts.suppression), decided by the "
    "weekly run over every grouping at once, for the public and for every organisation and team as insiders: "
    "per cell, whether it publishes nothing and whether its observed leavers are withheld. The service adopts it "
    "for the week's workers and leavers instead of deciding it again (minutes at 150,000 workers).",
    (
        Column("grouping", "str", "the workers' column the cell groups on: region, organisation_id, domain or "
               "occupation"),
        Column("key", "str", "the cell"),
        Column("hidden", "bool", "the cell publishes nothing"),
        Column("outflow_hidden", "bool", "the cell's observed leavers of the last year are withheld"),
        Column("population", "str", "fingerprint of the workers and leavers the pattern was decided on, per "
               "combination of groupings, organisation and team: the service adopts the pattern only for the same"),
    ),
)

SECTOR_HISTORY = PublishedTable(
    "sector_history",
    "Per cell (as sector_inflow's), measure and past year: the hires and the leavers (every reason) counted in "
    "whole years of 52 weeks back from the data end, since the export's first recorded leaver (continuity."
    "forecasts.sector_history, from the events continuity.features.inflow reads): the sector page draws them per "
    "region beside the inflow forecast; the answers show a cell only where its sector_inflow cell is shown.",
    (
        Column("grouping", "str", "region, organisation, domain, occupation, or sector (the whole sector, key sector)"),
        Column("key", "str", "the cell"),
        Column("measure", "str", "hires or exits (every reason), as in sector_inflow"),
        Column("year_end", "date", "the year's last day: the data end for the latest year, 52 weeks earlier for the "
               "one before"),
        Column("count", "int", "the hires or exits of the cell dated in the 52 weeks ending on year_end"),
    ),
)

TABLES: dict[str, PublishedTable] = {t.name: t for t in (
    RISK_SCORES, SURVIVAL_CURVES, WORKER_EXPOSURE, CLIENT_EXPOSURE, WORKER_SNAPSHOT,
    FORMER_WORKERS, VOLUNTARY_LEAVERS, CLIENT_FAMILIARITY, CLIENT_CONTINUITY, WORKER_DOMAINS, KNOWN_DEPARTURES,
    MODEL_INPUTS, MODEL_CARD, MONITORING, FAIRNESS, INTERVAL_FRAILTY, TENDER_CALENDAR, TENDER_CALENDAR_WORKERS,
    MOVE_SHARES, DESTINATION_MODEL, SECTOR_INFLOW, SECTOR_HISTORY, SUPPRESSION,
)}
HISTORY_TABLES = tuple(name for name, t in TABLES.items() if t.history)

_PANDAS = {"str": "object", "int": "int64", "float": "float64", "bool": "bool", "date": "datetime64[ns]"}
_NULLABLE = {"int": "Int64", "bool": "boolean"}
_SQL = {"str": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN", "date": "DATE"}


class NotAsDeclared(ValueError):
    """A frame handed to the publication does not match its table's declaration."""


def conform(table: PublishedTable, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with the declared columns in declared order and types; raises NotAsDeclared naming
    the table and column when one is missing or empty where it may not be."""
    missing = [c for c in table.column_names if c not in frame.columns]
    if missing:
        raise NotAsDeclared(f"published table {table.name!r} lacks column(s) {', '.join(missing)}")
    extra = [c for c in frame.columns if c not in table.column_names]
    if extra and not table.open_columns:
        raise NotAsDeclared(f"published table {table.name!r} has undeclared column(s) {', '.join(extra)}")
    out = frame[table.column_names + extra].reset_index(drop=True)
    for column in table.columns:
        if not column.nullable and out[column.name].isna().any():
            row = int(out[column.name].isna().to_numpy().argmax())
            raise NotAsDeclared(f"published table {table.name!r}, row {row}: column {column.name!r} is empty")
        dtype = _NULLABLE.get(column.dtype, _PANDAS[column.dtype]) if column.nullable else _PANDAS[column.dtype]
        out[column.name] = out[column.name].astype(dtype)
    return out


def ddl(table: PublishedTable) -> str:
    """The warehouse's history table: the declared columns after the score date."""
    columns = ", ".join(f'"{c.name}" {_SQL[c.dtype]}' for c in table.columns)
    return f'create table if not exists "{table.name}" (score_date DATE, {columns})'


def sql_columns(table: PublishedTable) -> dict[str, str]:
    return {c.name: _SQL[c.dtype] for c in table.columns}
