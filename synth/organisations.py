"""Organisations, teams and the municipal funding contracts that pay for them.

A *market* is one municipality buying one domain of help (wmo, jeugd, participatie); one
organisation holds it at a time through a chain of funding contracts. When a tender is
lost, the team passes to the winner at the contract end: its people leave the old
employer and are hired by the new one (new worker and team ids: each employer has its
own HR system), which is how Dutch staff follow their work ("werk volgt werk").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from continuity.vocabulary import DOMAINS

# docs/evidence.md#realism-of-the-synthetic-sector: municipalities, welfare/care organisations, consortia,
# independent foundations; the domains each kind of employer typically holds are a guess.
ORGANISATION_KINDS = ("welzijnsstichting", "jeugdzorgorganisatie", "gemeente", "consortium")
KIND_DOMAINS = {
    "welzijnsstichting": ("wmo",),
    "jeugdzorgorganisatie": ("jeugd",),
    "gemeente": ("participatie", "wmo"),
    "consortium": ("jeugd", "wmo"),
}
# Real CBS municipality codes of larger Dutch municipalities (docs/evidence.md#realism-of-the-synthetic-sector: 344).
MUNICIPALITIES = (
    "GM0363", "GM0599", "GM0518", "GM0344", "GM0772", "GM0014", "GM0855", "GM0034",
    "GM0758", "GM0268", "GM0193", "GM0200", "GM0080", "GM0153", "GM0392", "GM0202",
)
TEAM_TYPES = {
    "wmo": ("sociaal wijkteam", "gebiedsteam"),
    "jeugd": ("jeugd-en-gezinsteam", "specialistisch team"),
    "participatie": ("specialistisch team",),
}
POSITIONS_PER_ORGANISATION = 400  # guess: 4-6 organisations for 2000 positions
# Organisations grow with the sector so that no employer, and no lost tender, grows with it: at
# 150,000 positions eight employers would hold 19,000 positions each and a lost tender would move
# thousands of people in one week. Up to 3,400 positions the count is what it always was (3 to 8).
MIN_ORGANISATIONS = 3
# Municipalities per organisation once the 16 real codes run out: 2 is the ratio of a sector of 8
# organisations, the largest the real codes served, so every employer still finds markets of its own.
MUNICIPALITIES_PER_ORGANISATION = 2
# Codes for the municipalities beyond the real ones start above the highest CBS code in use (GM1980,
# 2022) so that none can be taken for a real municipality.
SYNTHETIC_MUNICIPALITY_FROM = 2001
TEAM_SIZE = (8, 15)
# Guess: contracts of 2-8 years, some > 6 years (docs/evidence.md#tenders-and-funding-contracts).
CONTRACT_YEARS = np.array([2, 3, 4, 6, 8])
CONTRACT_YEARS_P = np.array([0.2, 0.25, 0.2, 0.2, 0.15])
AWARD_LEAD_DAYS = (91, 274)  # guess: a tender is decided 3-9 months before the contract starts
TENDER_LOSS = 0.1  # guess: share of re-tenders an incumbent loses
INSECURE_DAYS = 183  # "funding contract ends within 6 months", docs/evidence.md#hazard-ratios-per-driver


@dataclass(frozen=True)
class Teams:
    team_id: np.ndarray  # str
    org: np.ndarray  # organisation index
    market: np.ndarray
    region: np.ndarray  # str, municipality code
    domain: np.ndarray  # index into DOMAINS
    team_type: np.ndarray  # str


@dataclass(frozen=True)
class Funding:
    contract_id: np.ndarray
    org: np.ndarray
    market: np.ndarray
    start_day: np.ndarray  # days since 1970-01-01
    end_day: np.ndarray  # last day, inclusive
    award_day: np.ndarray
    tendered: np.ndarray


@dataclass(frozen=True)
class Transfer:
    """A lost tender taking effect: every member of `old_team` moves to `new_team`."""

    week: int
    old_team: int
    new_team: int
    end_day: int  # the old contract's last day: the termination date at the old employer


@dataclass(frozen=True)
class Sector:
    org_ids: tuple[str, ...]
    org_kinds: tuple[str, ...]
    market_region: np.ndarray
    market_domain: np.ndarray
    teams: Teams
    funding: Funding
    slot_team: np.ndarray  # the team of each position at the start
    transfers: tuple[Transfer, ...]
    insecure: np.ndarray  # (team, week): the funding driver of the hazard model

    @property
    def n_slots(self) -> int:
        return len(self.slot_team)


def _day(year: int, month: int = 1, day: int = 1) -> int:
    return int(np.datetime64(f"{year:04d}-{month:02d}-{day:02d}", "D").astype(np.int64))


def municipalities(n_orgs: int) -> tuple[str, ...]:
    """The municipalities a sector of `n_orgs` organisations is spread over: the real codes, then numbered ones."""
    extra = max(MUNICIPALITIES_PER_ORGANISATION * n_orgs - len(MUNICIPALITIES), 0)
    return MUNICIPALITIES + tuple(f"GM{SYNTHETIC_MUNICIPALITY_FROM + i:04d}" for i in range(extra))


def _markets(rng: np.random.Generator, kinds: list[str]) -> list[tuple[int, str, int]]:
    """(organisation, municipality, domain) triples; one incumbent per municipality and domain."""
    taken: set[tuple[str, int]] = set()
    markets = []
    places = municipalities(len(kinds))
    for org, kind in enumerate(kinds):
        n_municipalities = 1 if kind == "gemeente" else int(rng.integers(1, 4))
        chosen = 0
        for municipality in rng.permutation(places):
            domains = [DOMAINS.index(d) for d in KIND_DOMAINS[kind]]
            if any((municipality, d) in taken for d in domains):
                continue
            markets += [(org, str(municipality), d) for d in domains]
            taken.update((municipality, d) for d in domains)
            chosen += 1
            if chosen == n_municipalities:
                break
    return markets


def _team_sizes(rng: np.random.Generator, positions: int) -> np.ndarray:
    n_teams = max(1, round(positions / np.mean(TEAM_SIZE)))
    low, high = TEAM_SIZE
    sizes = np.full(n_teams, min(low, positions))
    for _ in range(positions - sizes.sum()):
        room = np.flatnonzero(sizes < high) if (sizes < high).any() else np.arange(n_teams)
        sizes[rng.choice(room)] += 1
    return sizes


def build_sector(rng: np.random.Generator, positions: int, start_day: int, n_weeks: int,
                 secure_from: int | None = None, secure_years: int = 6) -> Sector:
    """`secure_from` (a day): from then on every contract goes to the market's holder for at least `secure_years`,
    and the renewal of each running contract is awarded that day (`synth.policy`). The draws are the same with
    or without it, so everything decided before that day is the same."""
    sizes = _team_sizes(rng, positions)
    # Three or more organisations when there are teams enough, so that moves inside the
    # sector find vacancies; teams are dealt out evenly so that no employer dwarfs the rest.
    n_orgs = int(np.clip(round(positions / POSITIONS_PER_ORGANISATION), min(MIN_ORGANISATIONS, len(sizes)),
                         len(sizes)))
    kinds = [ORGANISATION_KINDS[i % len(ORGANISATION_KINDS)] for i in range(n_orgs)]
    all_markets = _markets(rng, kinds)
    team_org = np.arange(len(sizes)) % n_orgs
    team_key = []
    for org in range(n_orgs):
        own = [i for i, m in enumerate(all_markets) if m[0] == org]
        n_teams = int((team_org == org).sum())
        # each market of the organisation a team while teams last, the rest by Dirichlet weight
        first = own[:n_teams]
        extra = rng.choice(own, n_teams - len(first), p=rng.dirichlet(np.full(len(own), 2.0))) if n_teams > len(own) else []
        team_key += sorted([*first, *extra])
    used = sorted(set(team_key))
    markets = [all_markets[i] for i in used]
    market_of = {key: m for m, key in enumerate(used)}
    team_market = np.array([market_of[i] for i in team_key])
    market_org = np.array([m[0] for m in markets])
    market_region = np.array([m[1] for m in markets])
    market_domain = np.array([m[2] for m in markets])

    export_day = start_day + 7 * n_weeks
    funding_rows, transfers_spec, kept = _funding_chains(rng, kinds, market_org, start_day, export_day,
                                                         secure_from, secure_years)

    team_org = list(market_org[team_market])
    team_mkt = list(team_market)
    team_type = [str(rng.choice(TEAM_TYPES[DOMAINS[market_domain[m]]])) for m in team_market]
    transfers: list[Transfer] = []
    live: dict[int, list[int]] = {m: [] for m in range(len(markets))}
    for team, market in enumerate(team_mkt):
        live[market].append(team)
    for end_day, market, winner in sorted(transfers_spec):
        successors = []
        for old in live[market]:
            new = len(team_org)
            team_org.append(winner)
            team_mkt.append(market)
            team_type.append(team_type[old])
            if (end_day, market, winner) in kept:  # a cancelled transfer's team is numbered, never staffed
                transfers.append(Transfer((end_day - start_day) // 7, old, new, end_day))
            successors.append(new)
        live[market] = successors
    team_org_a, team_mkt_a = np.array(team_org), np.array(team_mkt)
    teams = Teams(
        team_id=np.array([f"T{i + 1:04d}" for i in range(len(team_org))]),
        org=team_org_a,
        market=team_mkt_a,
        region=market_region[team_mkt_a],
        domain=market_domain[team_mkt_a],
        team_type=np.array(team_type),
    )
    # numbered as drawn: a contract a policy adds to the export (a renewal awarded early) is numbered after them
    drawn_known = np.array([r["drawn_known"] for r in funding_rows], dtype=bool)
    number = np.empty(len(funding_rows), dtype=np.int64)
    number[drawn_known] = np.arange(drawn_known.sum())
    number[~drawn_known] = drawn_known.sum() + np.arange((~drawn_known).sum())
    funding = Funding(
        contract_id=np.array([f"FC{i + 1:04d}" for i in number]),
        **{k: np.array([r[k] for r in funding_rows]) for k in
           ("org", "market", "start_day", "end_day", "award_day", "tendered")},
    )
    return Sector(
        org_ids=tuple(f"ORG{i + 1:02d}" for i in range(n_orgs)),
        org_kinds=tuple(kinds),
        market_region=market_region,
        market_domain=market_domain,
        teams=teams,
        funding=funding,
        slot_team=np.repeat(np.arange(len(sizes)), sizes),
        transfers=tuple(transfers),
        insecure=_insecure(teams, funding, start_day, n_weeks),
    )


def _funding_chains(rng: np.random.Generator, kinds: list[str], market_org: np.ndarray, start_day: int,
                    export_day: int, secure_from: int | None = None, secure_years: int = 6,
                    ) -> tuple[list[dict], list[tuple[int, int, int]], set[tuple[int, int, int]]]:
    """Back-to-back contracts per market from the one running at the start to beyond the export.

    Contracts start on 1 January (municipal budget years). A contract awarded on or after
    the export date is not yet known and so not exported, but still decides transfers
    that fall inside the simulated weeks. Returns the contracts, (end day, market, winner)
    for every lost tender whose contract ends inside the simulation as drawn, and those of them
    that still happen under a `secure_from` policy (all of them without one). The transfers as
    drawn number the teams, so that a policy leaves every team id as it was.
    """
    start_year = int(np.datetime64(start_day, "D").astype("datetime64[Y]").astype(int)) + 1970
    end_year = int(np.datetime64(export_day, "D").astype("datetime64[Y]").astype(int)) + 1970
    bidders = [o for o, k in enumerate(kinds) if k != "gemeente"]
    rows: list[dict] = []
    drawn: list[tuple[int, int, int]] = []
    kept: set[tuple[int, int, int]] = set()
    for market, incumbent in enumerate(market_org):
        tendered = kinds[incumbent] != "gemeente"
        years = int(rng.choice(CONTRACT_YEARS, p=CONTRACT_YEARS_P))
        year = start_year - int(rng.integers(0, years))
        holder = int(incumbent)
        chain = []
        while True:
            lead = int(rng.integers(*AWARD_LEAD_DAYS)) if tendered else int(rng.integers(183, 366))
            chain.append(dict(org=holder, market=market, start_day=_day(year), end_day=_day(year + years) - 1,
                              award_day=_day(year) - lead, tendered=tendered))
            if year > end_year:
                break
            year += years
            years = int(rng.choice(CONTRACT_YEARS, p=CONTRACT_YEARS_P))
            rivals = [o for o in bidders if o != holder]
            if tendered and rivals and rng.random() < TENDER_LOSS:
                holder = int(rng.choice(rivals))
        plan = _secured(chain, secure_from, secure_years)
        drawn += _losses(chain, market, start_day, export_day)
        kept.update(_losses(plan, market, start_day, export_day))
        rows += [r | {"drawn_known": drawn_as["award_day"] < export_day} for r, drawn_as in zip(plan, chain)]
    return [r for r in rows if r["award_day"] < export_day], drawn, kept


def _losses(chain: list[dict], market: int, start_day: int, export_day: int) -> list[tuple[int, int, int]]:
    """(end day, market, winner) of each change of holder in the chain that falls inside the simulation."""
    return [(after["start_day"] - 1, market, after["org"]) for before, after in zip(chain, chain[1:])
            if after["org"] != before["org"] and start_day < after["start_day"] - 1 and after["start_day"] < export_day]


def _secured(chain: list[dict], secure_from: int | None, secure_years: int) -> list[dict]:
    """The chain as a policy from `secure_from` leaves it: each contract awarded from then on goes to the holder
    before it and runs at least `secure_years`, the first of them awarded on `secure_from` itself, so that the
    funding of every market is known to run `secure_years` beyond the contract now running.

    As many contracts as drawn (their ids stay), each as long as drawn or longer, so the chain still reaches
    beyond the export; contracts awarded before `secure_from` are kept as drawn, a loss among them too (it was
    decided and recorded before the policy).
    """
    if secure_from is None:
        return chain
    out: list[dict] = []
    for i, contract in enumerate(chain):
        if i == 0 or contract["award_day"] < secure_from:
            out.append(contract)
            continue
        before = out[-1]
        years = max(_year_of(contract["end_day"] + 1) - _year_of(contract["start_day"]), secure_years)
        start = before["end_day"] + 1
        first = chain[i - 1]["award_day"] < secure_from
        lead = contract["start_day"] - contract["award_day"]
        out.append(contract | dict(org=before["org"], start_day=start, end_day=_day(_year_of(start) + years) - 1,
                                   award_day=secure_from if first else start - lead))
    return out


def _year_of(day: int) -> int:
    return int(np.datetime64(day, "D").astype("datetime64[Y]").astype(int)) + 1970


def _insecure(teams: Teams, funding: Funding, start_day: int, n_weeks: int) -> np.ndarray:
    """Per team and week: the team's funding ends within 6 months with no renewal known, or a tender was lost.

    Knowledge at the week start t comes from contracts awarded before t.
    """
    t = start_day + 7 * np.arange(n_weeks)
    out = np.zeros((len(teams.team_id), n_weeks), dtype=bool)
    for team in range(len(teams.team_id)):
        own = np.flatnonzero((funding.market == teams.market[team]) & (funding.org == teams.org[team]))
        for c in own:
            running = (funding.start_day[c] <= t) & (t <= funding.end_day[c])
            after = np.flatnonzero((funding.market == teams.market[team]) & (funding.start_day == funding.end_day[c] + 1))
            if after.size:
                nxt = after[0]
                known = funding.award_day[nxt] < t
                lost = known & (funding.org[nxt] != teams.org[team])
                ending = (funding.end_day[c] - t < INSECURE_DAYS) & ~known
                out[team] |= running & (lost | ending)
            else:
                out[team] |= running & (funding.end_day[c] - t < INSECURE_DAYS)
    return out
