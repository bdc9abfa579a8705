"""The worker role's tokens: `token create --role worker --worker ID`, its scope rules, and an access file of an
earlier release (whose token table knows no worker role) brought up to date without losing a token or a login."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from continuity.access import AccessStore, Grant, Role, ScopeError, check_scope, list_tokens

from command_line import home, invoke  # noqa: F401 - home is a fixture


def test_token_create_makes_a_worker_token_for_one_worker(home):
    code, output = invoke("token", "create", "--role", "worker", "--worker", "W17")

    assert code == 0
    (token,) = list_tokens(home)
    assert (token["role"], token["worker_id"], token["organisation_id"], token["teams"]) == ("worker", "W17", None, [])
    grant = AccessStore(home.access_db).authenticate(output.strip())
    assert (grant.role, grant.worker_id, grant.sees_individuals) == (Role.worker, "W17", False)


@pytest.mark.parametrize("scope", [
    ["--role", "worker"],
    ["--role", "worker", "--worker", "W1", "--team", "T1"],
    ["--role", "worker", "--worker", "W1", "--organisation", "O1"],
    ["--role", "hr", "--organisation", "O1", "--worker", "W1"],
    ["--role", "admin", "--worker", "W1"],
])
def test_token_create_refuses_a_worker_scope_that_does_not_fit(home, scope):
    code, output = invoke("token", "create", *scope)

    assert code == 2 and "--worker" in output and "Traceback" not in output
    assert list_tokens(home) == []


def test_a_worker_grant_reads_no_one_through_the_scoped_routes():
    grant = Grant("tok_w", Role.worker, worker_id="W1")

    assert not grant.sees({"worker_id": "W1", "organisation_id": "O1", "team_id": "T1"})
    assert "W1" in grant.scope and "/me" in grant.scope
    with pytest.raises(ScopeError):
        check_scope(Role.manager, None, ["T1"], "W1")


RELEASE_BEFORE_WORKERS = """
create table tokens (
    token_id text primary key,
    token_hash text not null unique,
    role text not null check (role in ('hr', 'manager', 'sector', 'admin')),
    organisation_id text,
    teams text not null default '[]',
    created_at text not null,
    revoked_at text
);
create table sessions (session_hash text primary key, token_id text not null references tokens (token_id),
                       expires_at text not null);
"""


def test_an_access_file_of_an_earlier_release_keeps_its_tokens_and_logins_and_takes_worker_tokens(tmp_path):
    path = tmp_path / "access.db"
    digest = lambda secret: hashlib.sha256(secret.encode()).hexdigest()  # noqa: E731 - as the store keeps them
    with sqlite3.connect(path) as con:
        con.executescript(RELEASE_BEFORE_WORKERS)
        con.execute("insert into tokens (token_id, token_hash, role, teams, created_at, organisation_id) "
                    "values ('tok_old', ?, 'hr', '[]', '2024-06-10T09:00:00+00:00', 'org-a')", [digest("old-secret")])
        con.execute("insert into sessions values (?, 'tok_old', '2999-01-01T00:00:00+00:00')", [digest("old-session")])

    store = AccessStore(path)
    _, worker_token = store.create(Role.worker, worker_id="W1")

    assert store.authenticate("old-secret") == Grant("tok_old", Role.hr, "org-a")
    assert store.session("old-session") == Grant("tok_old", Role.hr, "org-a")
    assert store.authenticate(worker_token).worker_id == "W1"
    with sqlite3.connect(path) as con, pytest.raises(sqlite3.IntegrityError):
        con.execute("insert into tokens (token_id, token_hash, role, created_at) values ('t', 'h', 'boss', 'now')")
    assert AccessStore(path).authenticate(worker_token).role is Role.worker  # opened again: nothing left to rebuild
