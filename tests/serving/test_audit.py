"""Tokens and the audit log: stored hashed, revocable from the CLI's functions, every individual read recorded."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import pytest

from continuity.access import (
    AccessStore, Grant, Read, Role, ScopeError, audit_filter, create_token, list_tokens, revoke_token,
)
from continuity.config import Settings
from continuity.serving.auditing import AuditJournal


@pytest.fixture
def own_settings(tmp_path) -> Settings:
    return Settings(home=tmp_path)


def test_token_is_stored_only_as_its_hash(own_settings):
    token = create_token(own_settings, "hr", organisation="org-a")
    grant = AccessStore(own_settings.access_db).authenticate(token)

    assert (grant.role.value, grant.organisation_id, grant.teams) == ("hr", "org-a", frozenset())
    assert token.encode() not in own_settings.access_db.read_bytes()
    assert len(token) >= 40


@pytest.mark.parametrize("by", ["token", "id"])
def test_revoke_by_token_or_id_and_only_once(own_settings, by):
    token = create_token(own_settings, "manager", teams=["team-a1", "team-a2"])
    (listed,) = list_tokens(own_settings)
    handle = token if by == "token" else listed["token_id"]

    assert listed["teams"] == ["team-a1", "team-a2"] and listed["revoked_at"] is None
    assert revoke_token(own_settings, handle) is True
    assert revoke_token(own_settings, handle) is False
    assert AccessStore(own_settings.access_db).authenticate(token) is None
    assert list_tokens(own_settings)[0]["revoked_at"] is not None


@pytest.mark.parametrize(("role", "organisation", "teams"), [
    ("hr", None, ()), ("hr", "org-a", ("team-a1",)), ("manager", None, ()), ("manager", "org-a", ("team-a1",)),
    ("sector", "org-a", ()), ("admin", None, ("team-a1",)),
])
def test_scope_must_fit_the_role(own_settings, role, organisation, teams):
    with pytest.raises(ScopeError):
        create_token(own_settings, role, organisation=organisation, teams=teams)


def test_unknown_role_is_refused(own_settings):
    with pytest.raises(ValueError):
        create_token(own_settings, "owner")


def _entries(client, **params):
    return client.get("/audit", params={"page_size": 500, **params}).json()


def test_every_individual_read_is_recorded_with_who_what_and_where(as_role, client, tokens, app):
    hr = as_role("hr_a")
    token_id = app.state.access.authenticate(tokens["hr_a"]).token_id
    started = datetime.now(UTC)
    listed = [i["worker_id"] for i in hr.get("/risk-list", params={"page_size": 5}).json()["items"]]
    hr.get(f"/workers/{listed[0]}")
    hr.get(f"/workers/{listed[1]}/exposure")
    exported = hr.get("/risk-list.csv").text

    entries = _entries(client, token_id=token_id, since=started.isoformat())["items"]
    by_endpoint = {entry["endpoint"]: entry for entry in reversed(entries)}  # the newest read per endpoint

    assert by_endpoint["GET /risk-list"]["worker_ids"] == listed
    assert by_endpoint["GET /workers/{worker_id}"]["worker_ids"] == [listed[0]]
    assert by_endpoint["GET /workers/{worker_id}/exposure"]["worker_ids"] == [listed[1]]
    assert all(w in exported for w in by_endpoint["GET /risk-list.csv"]["worker_ids"])
    assert {entry["role"] for entry in entries} == {"hr"}


def _latest_entry(client, app, tokens, role, started):
    token_id = app.state.access.authenticate(tokens[role]).token_id
    return _entries(client, token_id=token_id, since=started.isoformat())["items"][0]


@pytest.mark.parametrize(("role", "method", "url", "body", "parameters", "asked"), [
    ("manager_a1", "GET", "/workers/W030", None, {"worker_id": "W030"}, ["W030"]),
    ("hr_b", "GET", "/workers/W001/exposure", None, {"worker_id": "W001"}, ["W001"]),
    ("manager_a1", "GET", "/teams/team-b1", None, {"team_id": "team-b1"}, []),
    ("hr_a", "GET", "/risk-list?team_id=team-b1", None, {"team_id": "team-b1"}, []),
    ("hr_a", "GET", "/risk-list.csv?organisation_id=org-b", None, {"organisation_id": "org-b"}, []),
    ("sector", "GET", "/workers/W001", None, {"worker_id": "W001"}, ["W001"]),
    ("hr_a", "POST", "/handover-plans", {"worker_id": "W030"}, {}, ["W030"]),
], ids=["worker", "exposure", "team", "risk-list-team", "export-organisation", "sector-individual", "handover"])
def test_a_refused_attempt_is_logged_with_who_tried_what(as_role, client, app, tokens, role, method, url, body,
                                                       parameters, asked):
    started = datetime.now(UTC)
    answer = as_role(role).request(method, url, json=body)

    entry = _latest_entry(client, app, tokens, role, started)
    assert answer.status_code == 403
    assert (entry["status"], entry["role"], entry["parameters"], entry["worker_ids"]) == (403, role.split("_")[0], parameters, asked)
    assert entry["endpoint"].startswith(f"{method} /")


def test_an_id_unknown_to_admin_is_a_404_and_no_attempt_to_log(client):
    assert client.get("/workers/NOBODY").status_code == 404

    assert _entries(client, worker_id="NOBODY")["total"] == 0


def test_list_reads_are_logged_with_their_query_parameters(as_role, client, app, tokens):
    manager = as_role("manager_a2_b1")
    reads = [
        ("/risk-list", {"team_id": "team-b1", "horizon": "13", "page_size": "3"}),
        ("/risk-list.csv", {"occupation": "Wmo-consulent"}),
        ("/teams/team-a2", {"horizon": "13"}),
    ]
    for path, query in reads:
        started = datetime.now(UTC)
        assert manager.get(path, params=query).status_code == 200

        entry = _latest_entry(client, app, tokens, "manager_a2_b1", started)
        path_parameters = {"team_id": "team-a2"} if path.startswith("/teams/") else {}
        assert (entry["status"], entry["parameters"]) == (200, {**query, **path_parameters})
        assert entry["worker_ids"]


def test_audit_filters_by_worker_endpoint_and_time_and_pages(as_role, client):
    manager = as_role("manager_a1")
    for _ in range(3):
        manager.get("/workers/W002")
    by_worker = _entries(client, worker_id="W002", endpoint="GET /workers/{worker_id}")
    page = client.get("/audit", params={"worker_id": "W002", "page_size": 2, "page": 2}).json()
    future = _entries(client, since=(datetime.now(UTC) + timedelta(hours=1)).isoformat())
    past = _entries(client, until="2000-01-01T00:00:00")

    assert by_worker["total"] >= 3
    assert all(e["worker_ids"] == ["W002"] and e["endpoint"] == "GET /workers/{worker_id}" for e in by_worker["items"])
    assert [e["id"] for e in by_worker["items"]] == sorted((e["id"] for e in by_worker["items"]), reverse=True)
    assert len(page["items"]) == min(2, page["total"] - 2)
    assert future["total"] == past["total"] == 0


HR, MANAGER = Grant("tok_hr", Role.hr, "org-a"), Grant("tok_mgr", Role.manager, teams=frozenset({"t1"}))


@pytest.fixture
def logged(tmp_path) -> tuple[AccessStore, list[datetime]]:
    """A log of six reads by two tokens through three endpoints in three rounds, W1 in three of
    them; with the moments between the rounds."""
    store = AccessStore(tmp_path / "access.db")
    rounds = [
        [(HR, "GET /risk-list", ["W1", "W2"]), (MANAGER, "GET /workers/{worker_id}", ["W1"])],
        [(HR, "GET /workers/{worker_id}", ["W3"]), (MANAGER, "GET /risk-list", ["W2", "W3"])],
        [(HR, "GET /workers/{worker_id}", ["W1"]), (MANAGER, "GET /workers/{worker_id}/exposure", ["W2"])],
    ]
    between = []
    for reads in rounds:
        between.append(datetime.now(UTC))
        for grant, endpoint, workers in reads:
            store.record([Read(grant, endpoint, tuple(workers)).line()])
    return store, between


@pytest.mark.parametrize(("filters", "expected"), [
    ({}, [6, 5, 4, 3, 2, 1]),
    ({"worker_id": "W1"}, [5, 2, 1]),
    ({"token_id": "tok_hr"}, [5, 3, 1]),
    ({"endpoint": "GET /workers/{worker_id}"}, [5, 3, 2]),
    ({"since": 1, "until": 2}, [4, 3]),
    ({"worker_id": "W2", "token_id": "tok_mgr"}, [6, 4]),
    ({"worker_id": "W1", "endpoint": "GET /workers/{worker_id}", "since": 1}, [5]),
    ({"worker_id": "W9"}, []),
])
def test_audit_filters_count_and_page_the_matching_reads(logged, filters, expected):
    store, between = logged
    filters = {k: between[v] if k in ("since", "until") else v for k, v in filters.items()}
    total, first_page = store.audit(**filters, limit=2)
    _, second_page = store.audit(**filters, limit=2, offset=2)

    assert total == len(expected)
    assert [entry["id"] for entry in first_page + second_page] == expected[:4]


def test_audit_entries_list_the_workers_of_each_read_in_order(logged):
    _, entries = logged[0].audit(worker_id="W2", token_id="tok_hr")

    assert [(entry["endpoint"], entry["worker_ids"], entry["role"]) for entry in entries] == [
        ("GET /risk-list", ["W1", "W2"], "hr")
    ]


@pytest.mark.parametrize("filters", [
    {"worker_id": "W1"}, {"token_id": "tok_hr"}, {"endpoint": "GET /risk-list"},
    {"since": datetime(2024, 6, 2)}, {"until": datetime(2024, 6, 2)},
])
def test_each_audit_filter_is_answered_from_an_index_not_a_scan_of_the_log(logged, filters):
    """The total of a filtered page must not read the whole log, which grows with every read."""
    where, params = audit_filter(**filters)
    con = logged[0]._connection()
    plan = [row[-1] for row in con.execute(f"explain query plan select count(*) from audit_log a where {where}", params)]

    assert not [step for step in plan if step.startswith("SCAN")], plan


@pytest.fixture
def journal(tmp_path) -> AuditJournal:
    return AuditJournal(AccessStore(tmp_path / "access.db"))


def test_a_read_is_in_the_journal_file_on_return_and_in_the_log_once_applied(journal):
    journal.record(HR, "GET /workers/{worker_id}", ["W1"])

    assert b"W1" in journal._current.read_bytes()  # what a crash of the process would leave
    assert journal.access.audit()[0] == 0
    journal.apply()
    total, (entry,) = journal.access.audit()
    assert (total, entry["worker_ids"], entry["token_id"], entry["endpoint"]) == (1, ["W1"], "tok_hr", "GET /workers/{worker_id}")
    assert list(journal.folder.iterdir()) == []  # the applied batch is gone, and no read came since


def test_reads_are_logged_in_the_order_they_were_made_across_batches(journal):
    for i in range(5):
        journal.record(HR, "GET /workers/{worker_id}", [f"W{i}"])
        if i % 2:
            journal.apply()
    journal.apply()

    _, entries = journal.access.audit()
    assert [entry["worker_ids"] for entry in reversed(entries)] == [[f"W{i}"] for i in range(5)]


def test_a_journal_left_by_a_process_that_ended_is_logged_by_the_next_once(tmp_path):
    store = AccessStore(tmp_path / "access.db")
    ended = AuditJournal(store)
    ended.record(HR, "GET /workers/{worker_id}", ["W1"])
    ended.record(MANAGER, "GET /risk-list", ["W1", "W2"])
    os.close(ended._fd)  # the process ends: its lock goes, its file stays
    ended._fd = None
    running = AuditJournal(store)
    running.record(HR, "GET /workers/{worker_id}", ["W3"])

    running.apply()
    running.apply()

    total, entries = store.audit()
    assert total == 3
    assert sorted(tuple(entry["worker_ids"]) for entry in entries) == [("W1",), ("W1", "W2"), ("W3",)]


def test_a_journal_still_appended_to_is_left_to_its_process(tmp_path):
    store = AccessStore(tmp_path / "access.db")
    other, this = AuditJournal(store), AuditJournal(store)
    other.record(HR, "GET /workers/{worker_id}", ["W1"])

    this.apply()

    assert store.audit()[0] == 0
    assert other._current.exists()


def test_a_batch_logged_before_a_crash_is_not_logged_again(journal):
    """A crash between the commit and the removal of the file must not log the reads twice."""
    journal.record(HR, "GET /workers/{worker_id}", ["W1"])
    journal.apply()
    done = journal.folder / "crashed.000000001.done"
    read = Read(HR, "GET /risk-list", ("W2",)).line()
    done.write_text(read + "\n")
    assert journal.access.record([read], batch=done.name)

    journal.apply()

    assert journal.access.audit()[0] == 2
    assert not done.exists()


def test_a_line_cut_short_by_a_crash_is_left_out_not_fatal(journal):
    done = journal.folder / "crashed.000000001.done"
    whole = Read(HR, "GET /workers/{worker_id}", ("W1",)).line()
    done.write_text(whole + "\n" + whole[:20])

    journal.apply()

    total, (entry,) = journal.access.audit()
    assert (total, entry["worker_ids"]) == (1, ["W1"])


def _chained_log(path, reads: int = 6) -> AccessStore:
    """A log of ``reads`` reads of one or two workers each, applied from the journal in three batches."""
    journal = AuditJournal(AccessStore(path))
    for i in range(1, reads + 1):
        journal.record(HR if i % 2 else MANAGER, "GET /risk-list", [f"W{i}", f"W{i + 1}"][: 1 + i % 2],
                       parameters={"team_id": "t1", "page": str(i)})
        if i % 2 == 0:
            journal.apply()
    journal.apply()
    return journal.access


def test_the_chain_is_intact_after_reads_and_refusals_in_batches(tmp_path):
    store = _chained_log(tmp_path / "access.db")
    store.record([Read(MANAGER, "GET /workers/{worker_id}", ("W9",), status=403, parameters={"worker_id": "W9"}).line()])

    check = store.verify()
    (last_hash,) = store._connection().execute("select row_hash from audit_log order by id desc limit 1").fetchone()
    assert (check.intact, check.broken_at, check.head) == (7, None, last_hash)


TAMPERING = {
    "edited": ["update audit_log set token_id = 'tok_someone_else' where id = 3"],
    "edited parameters": ["update audit_log set parameters = '{\"team_id\":\"t2\",\"page\":\"3\"}' where id = 3"],
    "worker edited": ["update audit_workers set worker_id = 'W99' where audit_id = 3"],
    "worker removed": ["delete from audit_workers where rowid = (select max(rowid) from audit_workers where audit_id = 3)"],
    "deleted": ["delete from audit_workers where audit_id = 3", "delete from audit_log where id = 3"],
    "inserted": ["insert into audit_log (id, at, token_id, role, endpoint, status, parameters, row_hash) "
                 "select 7, at, token_id, role, endpoint, status, parameters, row_hash from audit_log where id = 6"],
    "swapped": ["update audit_log set id = -id where id in (3, 4)", "update audit_log set id = 7 + id where id in (-3, -4)"],
}


@pytest.mark.parametrize(("tampering", "broken_at", "intact_before"), [
    ("edited", 3, 2), ("edited parameters", 3, 2), ("worker edited", 3, 2), ("worker removed", 3, 2),
    ("deleted", 4, 2), ("inserted", 7, 6), ("swapped", 3, 2),
])
def test_a_row_edited_deleted_or_slipped_in_breaks_the_chain_there(tmp_path, tampering, broken_at, intact_before):
    path = tmp_path / "access.db"
    _chained_log(path).close()
    with sqlite3.connect(path) as con:
        for statement in TAMPERING[tampering]:
            con.execute(statement)

    check = AccessStore(path).verify()

    assert (check.broken_at, check.intact) == (broken_at, intact_before)


RELEASE_1_AUDIT = """
create table audit_log (id integer primary key autoincrement, at text not null, token_id text not null,
                        role text not null, endpoint text not null);
create table audit_workers (audit_id integer not null references audit_log (id), worker_id text not null);
insert into audit_log (at, token_id, role, endpoint) values
    ('2024-06-10T09:00:00.000000+00:00', 'tok_hr', 'hr', 'GET /risk-list'),
    ('2024-06-10T09:01:00.000000+00:00', 'tok_mgr', 'manager', 'GET /workers/{worker_id}');
insert into audit_workers values (1, 'W1'), (1, 'W2'), (2, 'W1');
"""


def test_a_log_of_an_earlier_release_is_chained_at_first_open_and_reads_chain_on(tmp_path):
    path = tmp_path / "access.db"
    with sqlite3.connect(path) as con:
        con.executescript(RELEASE_1_AUDIT)
    old_line = json.dumps(["2024-06-10T09:02:00.000000+00:00", "tok_hr", "hr", "GET /workers/{worker_id}", ["W3"]])

    store = AccessStore(path)
    store.record([old_line, Read(HR, "GET /teams/{team_id}", ("W4",), parameters={"team_id": "t1"}).line()])

    _, entries = store.audit()
    check = store.verify()
    assert (check.intact, check.broken_at) == (4, None)
    assert [(e["id"], e["status"], e["parameters"], e["worker_ids"]) for e in reversed(entries)] == [
        (1, 200, None, ["W1", "W2"]), (2, 200, None, ["W1"]), (3, 200, None, ["W3"]), (4, 200, {"team_id": "t1"}, ["W4"]),
    ]
    with sqlite3.connect(path) as con:
        con.execute("update audit_log set endpoint = 'GET /risk-list.csv' where id = 1")
    assert AccessStore(path).verify().broken_at == 1


def test_journals_applied_by_two_processes_at_once_extend_one_chain(tmp_path):
    """Each applier reads the head and appends under SQLite's write lock, so the chain cannot fork."""
    path = tmp_path / "access.db"
    stores = [AccessStore(path), AccessStore(path)]

    def apply(store: AccessStore, name: str) -> None:
        for batch in range(40):
            store.record([Read(HR, "GET /workers/{worker_id}", (f"{name}{batch}",)).line()] * 3, batch=f"{name}.{batch}")

    threads = [threading.Thread(target=apply, args=(store, name)) for store, name in zip(stores, "AB")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    check = stores[0].verify()
    assert (check.intact, check.broken_at) == (240, None)
