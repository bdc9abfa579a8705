"""The pseudonyms DuckDB computes for a sector's ids are those of the Python HMAC, for any key and text."""

import sys

import duckdb
import pandas as pd
import pytest

from continuity.features.ingest_sql import _EDGE_SPACE
from continuity.features.pseudonymise import pseudonym, pseudonymise, sql_pseudonym

IDS = ["K1", "12345", "client 7", "Ünïcödé-ñ", "€", "a" * 300, "x"]


@pytest.mark.parametrize("key", ["k", "continuity-demo-key-not-for-production", "x" * 64, "é" * 40, "z" * 65])
def test_the_sql_pseudonym_is_the_python_one_for_short_block_sized_and_long_keys(key):
    sql, pads = sql_pseudonym("id", key)
    got = duckdb.connect().execute(f"select {sql} from unnest($ids::varchar[]) with ordinality as t(id, i) order by i",
                                   pads | {"ids": IDS}).fetchall()
    assert [g[0] for g in got] == [pseudonym(i, key) for i in IDS]
    assert len({g[0] for g in got}) == len(IDS) and all(g[0].startswith("p_") and len(g[0]) == 20 for g in got)
    assert list(pseudonymise(pd.Series(IDS), key)) == [g[0] for g in got]


def test_the_key_never_reaches_the_query_and_an_empty_key_is_refused():
    key = "a-secret-of-the-organisation"
    sql, pads = sql_pseudonym("id", key)
    assert key not in sql and all(key.encode() not in v for v in pads.values())
    with pytest.raises(ValueError, match="empty"):
        sql_pseudonym("id", "")


def test_ids_are_stripped_in_duckdb_as_python_strips_them_before_hashing():
    """The pandas path strips ids with ``str.strip``; DuckDB's codebook must strip the same characters, or one
    client exported with a no-break space would get two pseudonyms."""
    spaces = [chr(i) for i in range(sys.maxunicode + 1) if chr(i).isspace()]
    others = [chr(i) for i in range(1, 0x3100) if not chr(i).isspace() and not 0xD800 <= i < 0xE000]
    values = [f"{w}K{w}1{w}" for w in spaces] + [f"{o}K{o}" for o in others] + ["", "   ", "\u00a0\u3000"]
    sql = (f"select nullif(regexp_replace(v, '{_EDGE_SPACE}', '', 'g'), '') from "
           "unnest($v::varchar[]) with ordinality as t(v, i) order by i")
    got = duckdb.connect().execute(sql, {"v": values}).fetchall()
    assert [g[0] for g in got] == [v.strip() or None for v in values]
