"""A worker's drivers: sentences with their own figure and a reference, each with its hazard ratio.

A driver is measured against the *reference worker*: caseload at the norm, a permanent
contract, no change of manager for two years, no sick leave, a pay-scale step half a year
ago, no colleagues leaving, a secure funding contract and no complex cases as a starter (the
state in which none of the sector's known causes of leaving applies, ``DriverSpec.unexposed``),
and the training population's average in everything else (the mean of a number, each
category at its training share). A driver's hazard ratio answers the question a manager
asks: how much higher is this worker's hazard than with this driver at the reference? Against
the data mean, a cause most workers share or a step entered through several columns (weeks
since the manager changed, changes in the last year, the 13-week indicator) was diluted, and
correlates such as occupation were named instead.

The features of one driver are explained as one group (caseload, caseload ratio and
"caseload above the norm" are one driver), and each group's log hazard ratio is its exact
Shapley value against the reference worker (``continuity.models.attribution``): the change
from moving the group from the reference to the worker's own values, averaged over every
order of moving the groups. So the ratios of all drivers multiply exactly to the worker's
relative hazard exp(f(x) - f(reference)), a driver the worker does not have gets ratio 1,
and for the Cox model each ratio is simply that driver's own effect.

A worker is shown the three strongest drivers the organisation can act on and up to two
others, each changing the hazard by at least ``MATERIAL``; everything not shown is one
"other factors" ratio, so the shown ratios times the other factors equal the relative
hazard exactly. Sick leave is health data (GDPR art. 9): its driver says so (``health``),
and the service shows it only to hr and to the worker.

Everything is computed column by column for all workers at once (numpy and pandas over the
rows, a loop only over drivers and the few shown places), so a sector's week of 150,000
workers is explained in seconds; ``Explanations`` gives one worker's drivers where a caller
wants them one by one.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from continuity.features.feature_spec import BY_NAME
from continuity.models.encoding import FeatureEncoder
from continuity.translatable import N_
from continuity.vocabulary import CASELOAD_NORM_PER_FTE

# A driver that moves the hazard by less than 5% either way is folded into "other factors".
MATERIAL = 1.05
# features/snapshot_sql.py: "weeks since" an event that never happened, and the weeks to the end of a
# permanent contract (the reference worker's)
WEEKS_CAP = 520
FUNDING_MONTHS_CAP = 120
# The unexposed states of the reference worker (docs/evidence.md#hazard-ratios-per-driver names the steps):
# the manager changed two years ago (past the 26 weeks that weigh, no change in the last year); the
# last pay-scale step half a year ago (the middle of a yearly step, far from the 3 years that weigh);
# funding at the population's months ahead but at least a year (beyond the 6 months that weigh).
MANAGER_SETTLED_WEEKS = 104
SCALE_STEP_RECENT_WEEKS = 26
FUNDING_SECURE_MONTHS = 12
# The reference worker holds each category mix at once: with several categorical inputs, the product of
# their shares. Snapshot features have one (occupation); an HR file with many would ask for more points
# than explaining one week is worth, and is refused with the count.
MAX_REFERENCE_POINTS = 10_000

# Words for the workers a driver is shown to: their raw features (rows) and the population reference
# (means and modal categories) -> one sentence per row.
Words = Callable[[pd.DataFrame, pd.Series], "Sentences"]
Unexposed = Callable[[pd.Series], dict[str, float]]

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")


@dataclass(frozen=True)
class Sentences:
    """One driver sentence per row as a message with named placeholders (``%(name)s``, marked ``N_`` for the
    page's catalogue) and the row's figures as text, kept apart so that the web page can say the sentence in
    its language (``serving.templating.driver_words``). The published label is the English one; the message and the
    figures are published beside it. A figure is a number (which the page writes the way its language does)
    or one of the words marked below (which it translates)."""

    messages: np.ndarray
    values: dict[str, np.ndarray]

    @classmethod
    def of(cls, messages, **values) -> Sentences:
        messages = np.asarray(messages, dtype=object)
        return cls(messages, {name: np.broadcast_to(np.asarray(v, dtype=object), messages.shape)
                              for name, v in values.items()})

    def _by_message(self) -> Iterator[tuple[str, np.ndarray, list[str]]]:
        """Each distinct message, its rows and the names of its placeholders in order."""
        codes, messages = pd.factorize(self.messages)
        for k, message in enumerate(messages):
            yield message, codes == k, [m.group(1) for m in _PLACEHOLDER.finditer(message) if m.group(1)]

    def english(self) -> np.ndarray:
        """The sentences in English, filled in a message at a time for all its rows."""
        out = np.empty(self.messages.shape, dtype=object)
        for message, rows, _ in self._by_message():
            text, last = np.full(int(rows.sum()), "", dtype=object), 0
            for m in _PLACEHOLDER.finditer(message):
                text = text + message[last:m.start()] + (self.values[m.group(1)][rows] if m.group(1) else "%")
                last = m.end()
            out[rows] = text + message[last:]
        return out

    def values_json(self) -> np.ndarray:
        """Each row's figures as a JSON object of its message's placeholders, each distinct figure quoted once."""
        out = np.empty(self.messages.shape, dtype=object)
        for _, rows, names in self._by_message():
            text = np.full(int(rows.sum()), "{", dtype=object)
            for i, name in enumerate(dict.fromkeys(names)):
                codes, figures = pd.factorize(self.values[name][rows])
                text = text + ("" if i == 0 else ", ") + json.dumps(name) + ": " + \
                    np.array([json.dumps(str(f)) for f in figures], dtype=object)[codes]
            out[rows] = text + "}"
        return out


# The words that figures are counted in, translated by the page like the messages.
WEEK, WEEKS, MONTHS, YEARS = N_("week"), N_("weeks"), N_("months"), N_("years")
CLIENT, CLIENTS = N_("client"), N_("clients")
COLLEAGUE, COLLEAGUES = N_("colleague"), N_("colleagues")
YES, NO, NOT_RECORDED = N_("yes"), N_("no"), N_("not recorded")


@dataclass(frozen=True)
class DriverSpec:
    """One driver: the features it groups, how to say it, and its inputs' unexposed state.

    `unexposed` gives, from the population's reference inputs, the snapshot values at which
    the driver's cause does not apply; a driver without it (not a known cause) is measured
    from the population's average.
    """

    name: str
    features: tuple[str, ...]
    actionable: bool  # whether the organisation can act on it
    words: Words
    health: bool = False
    unexposed: Unexposed | None = None


@dataclass(frozen=True)
class Explanation:
    """One worker's shown drivers, strongest actionable first, and the ratio of everything not shown."""

    drivers: list[dict]
    other_factors: float
    relative_hazard: float


def _fixed(values: pd.Series | np.ndarray, format_: str) -> np.ndarray:
    """Numbers as text with a printf format ("%.0f", "%g"), for all rows at once, each distinct number once."""
    codes, distinct = pd.factorize(np.asarray(values, dtype="float64"), use_na_sentinel=False)
    return np.char.mod(format_, distinct).astype(object)[codes]


def _counted(n, one: str, many: str) -> tuple[np.ndarray, np.ndarray]:
    """A count as its figure and the word it counts in."""
    n = np.asarray(n, dtype="float64")
    return _fixed(n, "%.0f"), _choose(np.round(n) == 1, one, many)


def _duration(weeks) -> tuple[np.ndarray, np.ndarray]:
    """Weeks as a person says them, as a figure and its unit: weeks up to 2 months, months up to 2 years, then
    years."""
    weeks = np.asarray(weeks, dtype="float64")
    figure = np.select([weeks < 9, weeks < 104], [_fixed(weeks, "%.0f"), _fixed(weeks / (365.25 / 7 / 12), "%.0f")],
                       _fixed(weeks / (365.25 / 7), "%.1f")).astype(object)
    unit = np.select([weeks < 9, weeks < 104], [_choose(np.round(weeks) == 1, WEEK, WEEKS), MONTHS], YEARS)
    return figure, unit.astype(object)


def _choose(condition, yes, no) -> np.ndarray:
    return np.where(np.asarray(condition, dtype=bool), yes, no).astype(object)


def _caseload(rows, ref) -> Sentences:
    ratio = rows["caseload_ratio"].to_numpy(dtype="float64")
    clients, unit = _counted(rows["caseload"], CLIENT, CLIENTS)
    messages = np.select([np.isclose(ratio, 1.0), ratio > 1], [
        N_("caseload at the norm of %(norm)s per fte (%(clients)s %(unit)s at %(fte)s fte)"),
        N_("caseload %(off)s%% above the norm of %(norm)s per fte (%(clients)s %(unit)s at %(fte)s fte)")],
        N_("caseload %(off)s%% below the norm of %(norm)s per fte (%(clients)s %(unit)s at %(fte)s fte)"))
    return Sentences.of(messages, off=_fixed(np.abs(ratio - 1) * 100, "%.0f"), norm=f"{CASELOAD_NORM_PER_FTE:g}",
                        clients=clients, unit=unit, fte=_fixed(rows["fte"], "%g"))


def _scale_step(rows, ref) -> Sentences:
    weeks = rows["weeks_since_scale_step"].to_numpy(dtype="float64")
    time, unit = _duration(weeks)
    return Sentences.of(_choose(weeks > 156, N_("no pay-scale step for %(time)s %(unit)s (over the 3 years after "
                                                "which it weighs)"),
                                N_("no pay-scale step for %(time)s %(unit)s (within the 3 years after which it "
                                   "weighs)")), time=time, unit=unit)


def _manager(rows, ref) -> Sentences:
    weeks, changes = rows["weeks_since_manager_change"].to_numpy(dtype="float64"), rows["manager_changes_52w"]
    time, unit = _duration(weeks)
    several = (changes > 1).to_numpy()
    messages = np.select(
        [weeks >= WEEKS_CAP, (weeks <= 13) & several, weeks <= 13, (weeks <= 26) & several, weeks <= 26, several], [
            N_("no change of manager on record"),
            N_("a new manager %(time)s %(unit)s ago (the first 13 weeks weigh most); %(changes)s changes of "
               "manager in the last year"),
            N_("a new manager %(time)s %(unit)s ago (the first 13 weeks weigh most)"),
            N_("a new manager %(time)s %(unit)s ago (the first 26 weeks weigh); %(changes)s changes of manager in "
               "the last year"),
            N_("a new manager %(time)s %(unit)s ago (the first 26 weeks weigh)"),
            N_("the manager changed %(time)s %(unit)s ago (after the 26 weeks that weigh); %(changes)s changes of "
               "manager in the last year")],
        N_("the manager changed %(time)s %(unit)s ago (after the 26 weeks that weigh)"))
    return Sentences.of(messages, time=time, unit=unit, changes=_fixed(changes, "%.0f"))


def _contract(rows, ref) -> Sentences:
    weeks = rows["weeks_to_contract_end"].to_numpy(dtype="float64")
    time, unit = _duration(weeks)
    messages = np.select([~rows["is_temporary"].to_numpy(dtype=bool), weeks >= WEEKS_CAP],
                         [N_("a permanent contract"), N_("a temporary contract")],
                         N_("a temporary contract that ends in %(time)s %(unit)s"))
    return Sentences.of(messages, time=time, unit=unit)


def _sick_leave(rows, ref) -> Sentences:
    recent, year = rows["sick_weeks_13w"].to_numpy(dtype="float64"), rows["sick_weeks_52w"].to_numpy(dtype="float64")
    messages = np.select([recent > 0, year > 0], [
        N_("%(recent)s weeks of sick leave in the last 13 weeks (%(year)s in the last year)"),
        N_("no sick leave in the last 13 weeks (%(year)s weeks in the last year)")],
        N_("no sick leave in the last 13 weeks"))
    return Sentences.of(messages, recent=_fixed(recent, "%.1f"), year=_fixed(year, "%.1f"))


def _funding(rows, ref) -> Sentences:
    months = rows["months_to_funding_end"].to_numpy(dtype="float64")
    lost = rows["lost_tender"].to_numpy(dtype=bool)
    unknown, ended, near = np.isnan(months) | (months >= FUNDING_MONTHS_CAP), months <= 0, months <= 6
    messages = np.select([unknown & lost, unknown, ended & lost, ended, near & lost, near, lost], [
        N_("no end of the funding contract known; the organisation lost a tender"),
        N_("no end of the funding contract known"),
        N_("no running funding contract; the organisation lost a tender"),
        N_("no running funding contract"),
        N_("the funding contract ends in %(months)s months (within the 6 that weigh); the organisation lost a "
           "tender"),
        N_("the funding contract ends in %(months)s months (within the 6 that weigh)"),
        N_("the funding contract ends in %(months)s months (beyond the 6 that weigh); the organisation lost a "
           "tender")],
        N_("the funding contract ends in %(months)s months (beyond the 6 that weigh)"))
    return Sentences.of(messages, months=_fixed(months, "%.0f"))


def _team_leavers(rows, ref) -> Sentences:
    leavers, unit = _counted(rows["team_leavers_26w"], COLLEAGUE, COLLEAGUES)
    return Sentences.of(np.full(len(rows), N_("%(leavers)s %(unit)s left the team in the last 26 weeks (2 or more "
                                              "weigh)"), dtype=object), leavers=leavers, unit=unit)


def _tenure(rows, ref) -> Sentences:
    time, unit = _duration(rows["tenure_weeks"])
    return Sentences.of(np.full(len(rows), N_("%(time)s %(unit)s in the organisation (leaving peaks in the first 2 "
                                              "years)"), dtype=object), time=time, unit=unit)


def _starter_complexity(rows, ref) -> Sentences:
    share = rows["complex_share_starter"].to_numpy(dtype="float64")
    messages = np.select([rows["tenure_weeks"].to_numpy() >= 104, share >= 0.5], [
        N_("past the first 2 years of service, when complex cases weigh most"),
        N_("%(share)s%% complex cases in the first 2 years of service (half or more weighs most)")],
        N_("%(share)s%% complex cases in the first 2 years of service (under the half from which they weigh most)"))
    return Sentences.of(messages, share=_fixed(share * 100, "%.0f"))


def _occupation(rows, ref) -> Sentences:
    own = rows["occupation"].astype(str).to_numpy(dtype=object)
    return Sentences.of(_choose(own == str(ref["occupation"]), N_("occupation %(occupation)s (the most common)"),
                                N_("occupation %(occupation)s (most common: %(common)s)")),
                        occupation=own, common=str(ref["occupation"]))


def _against_average(feature: str, message: str, own: str, average: str) -> Words:
    """Words with the worker's figure (printf format `own`) as ``%(own)s`` in `message` and the training average
    (printf format `average`) as ``%(average)s``."""
    return lambda rows, ref: Sentences.of(np.full(len(rows), message, dtype=object), own=_fixed(rows[feature], own),
                                          average=average % float(ref[feature]))


DRIVERS: tuple[DriverSpec, ...] = (
    DriverSpec("caseload", ("caseload", "caseload_ratio", "caseload_above_norm"), True, _caseload,
               unexposed=lambda ref: {"caseload_ratio": 1.0, "caseload": CASELOAD_NORM_PER_FTE * float(ref["fte"])}),
    DriverSpec("scale_step", ("weeks_since_scale_step", "scale_step_overdue"), True, _scale_step,
               unexposed=lambda ref: {"weeks_since_scale_step": SCALE_STEP_RECENT_WEEKS}),
    DriverSpec("manager", ("weeks_since_manager_change", "manager_changes_52w", "manager_changed_13w",
                           "manager_changed_26w"), True, _manager,
               unexposed=lambda ref: {"weeks_since_manager_change": MANAGER_SETTLED_WEEKS, "manager_changes_52w": 0.0}),
    DriverSpec("contract", ("is_temporary", "weeks_to_contract_end"), True, _contract,
               unexposed=lambda ref: {"is_temporary": 0.0, "weeks_to_contract_end": WEEKS_CAP}),
    DriverSpec("starter_complexity", ("complex_share_starter", "starter_complex_cases"), True, _starter_complexity,
               unexposed=lambda ref: {"complex_share_starter": 0.0}),
    DriverSpec("overtime", ("overtime_hours_13w",), True,
               _against_average("overtime_hours_13w",
                                N_("%(own)s overtime hours in the last 13 weeks (average %(average)s)"), "%.0f",
                                "%.0f")),
    DriverSpec("complexity", ("mean_complexity",), True,
               _against_average("mean_complexity", N_("case complexity %(own)s (average %(average)s)"), "%.1f",
                                "%.1f")),
    DriverSpec("vulnerable_clients", ("vulnerable_clients",), True,
               _against_average("vulnerable_clients", N_("%(own)s vulnerable clients (average %(average)s)"), "%.0f",
                                "%.1f")),
    DriverSpec("team_moves", ("team_moves_52w",), True,
               _against_average("team_moves_52w", N_("%(own)s team moves in the last year (average %(average)s)"),
                                "%.0f", "%.2f")),
    DriverSpec("sick_leave", ("sick_weeks_13w", "sick_weeks_52w", "sick_spells_52w", "sick_leave_13w", "sick_long_13w"),
               False, _sick_leave, health=True,
               unexposed=lambda ref: {"sick_weeks_13w": 0.0, "sick_weeks_52w": 0.0, "sick_spells_52w": 0.0}),
    DriverSpec("funding", ("months_to_funding_end", "lost_tender", "funding_ends_6m"), False, _funding,
               unexposed=lambda ref: {"lost_tender": 0.0, "months_to_funding_end": max(
                   float(ref["months_to_funding_end"]), FUNDING_SECURE_MONTHS)}),
    DriverSpec("team_leavers", ("team_leavers_26w", "team_leavers_2plus"), False, _team_leavers,
               unexposed=lambda ref: {"team_leavers_26w": 0.0}),
    DriverSpec("tenure", ("tenure_weeks", "tenure_under_13w", "starter", "tenure_under_5y", "tenure_under_10y"),
               False, _tenure),
    DriverSpec("fte", ("fte",), False,
               _against_average("fte", N_("working %(own)s fte (average %(average)s)"), "%.2f", "%.2f")),
    DriverSpec("pay_scale", ("pay_scale",), False,
               _against_average("pay_scale", N_("pay scale %(own)s (average %(average)s)"), "%.0f", "%.1f")),
    DriverSpec("occupation", ("occupation",), False, _occupation),
)
BY_DRIVER: dict[str, DriverSpec] = {d.name: d for d in DRIVERS}
HEALTH_FEATURES: frozenset[str] = frozenset(f for d in DRIVERS if d.health for f in d.features)


def _describe(feature: str, encoder: FeatureEncoder) -> Words:
    """Words for a feature outside the drivers above (any HR file's column): its label with the worker's side of it."""
    label = BY_NAME[feature].label if feature in BY_NAME else feature

    def words(rows: pd.DataFrame, ref: pd.Series) -> Sentences:
        values = rows[feature]
        said = np.full(len(rows), N_("%(label)s: %(value)s"), dtype=object)
        if feature in encoder.categorical:
            return Sentences.of(said, label=label, value=values.astype(str).to_numpy(dtype=object))
        missing = values.isna().to_numpy()
        if feature in encoder.binary_:
            return Sentences.of(said, label=label, value=_choose(missing, NOT_RECORDED, _choose(values == 1, YES, NO)))
        return Sentences.of(_choose(missing, said, N_("%(label)s: %(value)s (average %(average)s)")), label=label,
                            value=_choose(missing, NOT_RECORDED, _fixed(values, "%.3g")),
                            average=f"{float(encoder.reference_[feature]):.3g}")

    return words


def driver_specs(features: Sequence[str], encoder: FeatureEncoder) -> list[DriverSpec]:
    """The drivers a model with these features has: the known ones whose features it all has, and one
    driver per remaining feature, worded generically (not actionable: nothing says so)."""
    present = set(features)
    specs = [d for d in DRIVERS if set(d.features) <= present]
    covered = {f for d in specs for f in d.features}
    return specs + [DriverSpec(f, (f,), False, _describe(f, encoder), health=f in HEALTH_FEATURES)
                    for f in features if f not in covered]


def reference_workers(encoder: FeatureEncoder, specs: Sequence[DriverSpec]) -> tuple[pd.DataFrame, np.ndarray]:
    """The reference worker as snapshot rows with weights that sum to 1.

    One row of the population's reference inputs (means; ``FeatureEncoder.input_reference_``)
    with each known cause at its unexposed state; a categorical input takes each category at its
    training share, one row per category (the product over several categorical inputs), so a
    worker's occupation is measured against the population's mix, not against its commonest one.
    """
    population = encoder.input_reference_
    values = population.copy()
    for spec in specs:
        if spec.unexposed is not None:
            values.update(pd.Series(spec.unexposed(population)).reindex(values.index).dropna())
    rows, weights = pd.DataFrame([values.to_dict()]), np.ones(1)
    categorical = [f for f in encoder.categorical if f in rows.columns]
    points = math.prod(len(encoder.category_shares_[f]) for f in categorical)
    if points > MAX_REFERENCE_POINTS:
        raise ValueError(f"the reference worker of {', '.join(categorical)} would need {points} combinations of "
                         f"categories; at most {MAX_REFERENCE_POINTS} are explained")
    for f in categorical:
        shares = encoder.category_shares_[f]
        rows = rows.drop(columns=f).merge(pd.DataFrame({f: shares.index.astype(object)}), how="cross")
        weights = np.outer(weights, shares.to_numpy()).ravel()
    return rows[list(encoder.inputs)], weights


@dataclass(frozen=True, eq=False)
class Explanations(Sequence[Explanation]):
    """Every worker's shown drivers as columns: driver `slots` (rows x places, -1 where a place is empty),
    their log hazard ratios and sentences (in English, and as messages with their figures as JSON objects,
    ``Sentences``), and per worker the other factors and the relative hazard."""

    specs: tuple[DriverSpec, ...]
    slots: np.ndarray
    contributions: np.ndarray
    labels: np.ndarray
    messages: np.ndarray
    values: np.ndarray
    other_factors: np.ndarray
    relative_hazard: np.ndarray

    def __len__(self) -> int:
        return len(self.slots)

    def __getitem__(self, i: int) -> Explanation:
        drivers = [_driver(self.specs[j], float(c), float(np.exp(c)), str(label), str(message), json.loads(values))
                   for j, c, label, message, values in zip(self.slots[i], self.contributions[i], self.labels[i],
                                                           self.messages[i], self.values[i]) if j >= 0]
        return Explanation(drivers, float(self.other_factors[i]), float(self.relative_hazard[i]))

    def __iter__(self) -> Iterator[Explanation]:
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Explanations) and list(self) == list(other)

    def drivers_json(self) -> np.ndarray:
        """Each worker's drivers as the JSON list the week publishes, numbers in their shortest exact form.

        A driver's JSON depends only on which driver it is, its contribution and its sentence, and most are
        shared: a Cox model's contribution is one per value of the driver's inputs (some 8,000 distinct among
        the 388,000 drivers shown to 134,000 workers). So each distinct one is written once, and each worker's
        list is joined from them."""
        shown = self.slots >= 0
        sentence = pd.factorize(self.labels[shown])[0]
        keys = pd.DataFrame({"slot": self.slots[shown], "contribution": self.contributions[shown],
                             "sentence": sentence})
        which = keys.groupby(list(keys.columns), sort=False).ngroup().to_numpy()
        first = np.unique(which, return_index=True)[1]  # each distinct driver's first row, in the order of `which`
        slots, contributions = self.slots[shown][first], self.contributions[shown][first]
        names = np.array([json.dumps(s.name) for s in self.specs], dtype=object)
        flags = np.array([f', "actionable": {json.dumps(s.actionable)}, "health": {json.dumps(s.health)}}}'
                          for s in self.specs], dtype=object)
        written = ('{"feature": ' + names[slots]
                   + ', "label": ' + _quoted(self.labels[shown][first])
                   + ', "message": ' + _quoted(self.messages[shown][first]) + ', "values": ' + self.values[shown][first]
                   + ', "direction": ' + _choose(contributions > 0, '"raises"', '"lowers"')
                   + ', "contribution": ' + contributions.astype(str).astype(object)
                   + ', "hazard_ratio": ' + np.exp(contributions).astype(str).astype(object) + flags[slots])
        items = np.full(self.slots.shape, "", dtype=object)
        items[shown] = written[which]
        return np.array(["[" + ", ".join(filter(None, row)) + "]" for row in items.tolist()], dtype=object)


def _quoted(texts: np.ndarray) -> np.ndarray:
    """Texts as JSON strings, each distinct one quoted once."""
    codes, distinct = pd.factorize(texts)
    return np.array([json.dumps(t) for t in distinct], dtype=object)[codes]


def explain(effects: np.ndarray, log_relative_hazard: np.ndarray, raw: pd.DataFrame, specs: Sequence[DriverSpec],
            reference: pd.Series, actionable: int = 3, others: int = 2) -> Explanations:
    """Per row the `actionable` strongest actionable drivers and `others` strongest other ones, each material.

    `effects` (rows x drivers) are the drivers' log hazard ratios against the reference worker
    and `log_relative_hazard` is f(x) - f(reference) as the model computes it; the difference
    between it and the effects' sum (floating point, in XGBoost's single precision) goes to the
    other factors, so the published product is exact. `reference` is the population's (means,
    modal categories) that sentences compare with.
    """
    specs = tuple(specs)
    size = np.where(np.abs(effects) >= math.log(MATERIAL), np.abs(effects), -np.inf)
    is_actionable = np.array([s.actionable for s in specs], dtype=bool)
    slots = np.hstack([_strongest(np.where(is_actionable == want, size, -np.inf), count)
                       for want, count in ((True, actionable), (False, others))])
    rows = np.arange(len(effects))[:, None]
    contributions = np.where(slots >= 0, effects[rows, np.maximum(slots, 0)], 0.0)
    labels, messages, values = (np.full(slots.shape, None, dtype=object) for _ in range(3))
    for j, spec in enumerate(specs):
        where = slots == j
        shown = where.any(axis=1)
        if shown.any():
            said = spec.words(raw.iloc[np.flatnonzero(shown)], reference)
            labels[where], messages[where], values[where] = said.english(), said.messages, said.values_json()
    return Explanations(specs, slots, contributions, labels, messages, values,
                        other_factors=np.exp(log_relative_hazard - contributions.sum(axis=1)),
                        relative_hazard=np.exp(log_relative_hazard))


def _strongest(size: np.ndarray, count: int) -> np.ndarray:
    """Per row the columns of the `count` largest finite sizes, largest first (ties in column order), -1 past them."""
    order = np.argsort(-size, axis=1, kind="stable")[:, :count]
    return np.where(np.isfinite(np.take_along_axis(size, order, axis=1)), order, -1)


def _driver(spec: DriverSpec, contribution: float, hazard_ratio: float, label: str, message: str,
            values: dict[str, str]) -> dict:
    """One driver as the week publishes it (`Explanations.drivers_json` writes the same, for all workers at once)."""
    return {
        "feature": spec.name,
        "label": label,
        "message": message,
        "values": values,
        "direction": "raises" if contribution > 0 else "lowers",
        "contribution": contribution,
        "hazard_ratio": hazard_ratio,
        "actionable": spec.actionable,
        "health": spec.health,
    }
