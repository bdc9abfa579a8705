"""`token create --role sector --region ...`: a sector token limited to regions, and an access file without regions."""

from __future__ import annotations

import sqlite3

import pytest

from continuity.access import AccessStore, Grant, Role, ScopeError, list_tokens

from command_line import home, invoke  # noqa: F401 - home is a fixture


def test_token_create_limits_a_sector_token_to_regions_after_one_flag_or_repeated(home):
    code, output = invoke("token", "create", "--role", "sector", "--region", "GM0363", "GM0344", "--region", "GM0599")

    assert code == 0
    (token,) = list_tokens(home)
    assert token["role"] == "sector" and token["regions"] == ["GM0344", "GM0363", "GM0599"] and token["teams"] == []
    grant = AccessStore(home.access_db).authenticate(output.strip())
    assert grant.regions == {"GM0363", "GM0344", "GM0599"} and not grant.sees_individuals
    assert "region(s) 'GM0344', 'GM0363', 'GM0599'" in grant.scope
    assert invoke("token", "list")[1].count("GM0344, GM0363, GM0599") == 1


@pytest.mark.parametrize("scope", [
    ["--role", "hr", "--organisation", "O1", "--region", "GM0363"],
    ["--role", "manager", "--team", "T1", "--region", "GM0363"],
    ["--role", "admin", "--region", "GM0363"],
])
def test_only_a_sector_token_is_limited_to_regions(home, scope):
    code, output = invoke("token", "create", *scope)

    assert code == 2 and "--region" in output and "Traceback" not in output
    assert list_tokens(home) == []
    with pytest.raises(ScopeError):
        AccessStore(home.access_db).create(Role.hr, "O1", regions=["GM0363"])


def test_an_access_file_without_regions_keeps_its_tokens_whole_sector(tmp_path):
    path = tmp_path / "access.db"
    with sqlite3.connect(path) as con:  # the token table of the release before regions
        con.executescript("""create table tokens (token_id text primary key, token_hash text not null unique,
            role text not null check (role in ('hr', 'manager', 'sector', 'admin', 'worker')),
            organisation_id text, teams text not null default '[]', created_at text not null, revoked_at text,
            worker_id text);""")
        con.execute("insert into tokens (token_id, token_hash, role, created_at) values ('tok_s', ?, 'sector', 'now')",
                    ["0" * 64])
    store = AccessStore(path)
    assert store.tokens()[0]["regions"] == []
    _, limited = store.create(Role.sector, regions=["GM0363"])
    assert store.authenticate(limited).regions == {"GM0363"}
    assert [t["token_id"] for t in store.tokens()].count("tok_s") == 1
    assert Grant("t", Role.sector).regions == frozenset()
