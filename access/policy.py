"""Who may read what: the roles, and the scope of organisation or teams a token is granted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any


class Role(str, Enum):
    hr = "hr"  # one organisation's workers
    manager = "manager"  # the workers of one or more teams
    sector = "sector"  # aggregates only, never an individual
    admin = "admin"  # everything, and the audit log
    worker = "worker"  # one worker's own record, through /me only


class ScopeError(ValueError):
    """A token was asked for with a scope that does not fit its role."""


@dataclass(frozen=True)
class Grant:
    """What one valid token allows: the role and the organisation, teams or worker it is scoped to; a sector
    token may be limited to regions (municipality codes, the workers' ``region``)."""

    token_id: str
    role: Role
    organisation_id: str | None = None
    teams: frozenset[str] = frozenset()
    worker_id: str | None = None  # a worker token's own id
    regions: frozenset[str] = frozenset()  # a sector token's regions; none: the whole sector

    @property
    def sees_individuals(self) -> bool:
        return self.role not in (Role.sector, Role.worker)

    def sees(self, worker: dict[str, Any]) -> bool:
        """Whether this grant may read the worker (a record with organisation_id and team_id) through the
        scoped routes. A worker reads their own record at /me only, never through these."""
        if self.role is Role.admin:
            return True
        if self.role is Role.hr:
            return worker["organisation_id"] == self.organisation_id
        if self.role is Role.manager:
            return worker["team_id"] in self.teams
        return False

    @property
    def scope(self) -> str:
        """The scope in words, for the 403 message that tells a caller what they may ask for."""
        if self.role is Role.hr:
            return f"organisation '{self.organisation_id}'"
        if self.role is Role.manager:
            return "team(s) " + ", ".join(f"'{t}'" for t in sorted(self.teams))
        if self.role is Role.sector:
            return "aggregates only" + (", region(s) " + ", ".join(f"'{r}'" for r in sorted(self.regions))
                                        if self.regions else "")
        if self.role is Role.worker:
            return f"worker '{self.worker_id}', their own record at /me only"
        return "everything"


def check_scope(role: Role, organisation_id: str | None, teams: Sequence[str], worker_id: str | None = None,
                regions: Sequence[str] = ()) -> None:
    """hr needs exactly one organisation, manager at least one team, worker their own id and nothing
    else, sector and admin none of these; only a sector token may be limited to regions."""
    if regions and role is not Role.sector:
        raise ScopeError("only a sector token is limited to regions: give --region with --role sector")
    if (role is Role.worker) != bool(worker_id) or (role is Role.worker and (organisation_id or teams)):
        raise ScopeError("a worker token is scoped to one worker, and only a worker token is: "
                         "give --worker with --role worker, and no --organisation or --team")
    if role is Role.hr and (not organisation_id or teams):
        raise ScopeError("an hr token is scoped to one organisation: give --organisation and no --team")
    if role is Role.manager and (not teams or organisation_id):
        raise ScopeError("a manager token is scoped to teams: give one or more --team and no --organisation")
    if role in (Role.sector, Role.admin) and (organisation_id or teams):
        raise ScopeError(f"a {role.value} token has no organisation or team scope")
