"""Keyed pseudonyms for client identifiers (HMAC-SHA256), computed once per distinct value.

Small files are pseudonymised here (``pseudonymise``); a sector's millions of client ids inside DuckDB
(``sql_pseudonym``: the same HMAC written with DuckDB's ``sha256``, on every core instead of one Python
call per id, the same pseudonyms).

The key comes from settings (``CONTINUITY_PSEUDONYM_KEY``) and is never written to the
warehouse; only ``key_check`` (a keyed hash of a fixed text) is, so that a load with a
different key can be noticed without revealing the key.
"""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd

PREFIX = "p_"
LENGTH = 20  # prefix included


def pseudonym(value: str, key: str) -> str:
    return _pseudonym(_keyed(key), value)


def _keyed(key: str):
    return hmac.new(key.encode("utf-8"), digestmod=hashlib.sha256)


def _pseudonym(keyed, value) -> str:
    # a copy of the keyed state skips hashing the key again: a sector has millions of client ids
    h = keyed.copy()
    h.update(str(value).strip().encode("utf-8"))
    return (PREFIX + h.hexdigest())[:LENGTH]


def pseudonymise(series: pd.Series, key: str) -> pd.Series:
    """Replace every value by its pseudonym; nulls stay null. Hashes each distinct value once."""
    if not key:
        raise ValueError("the pseudonym key is empty")
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    if not len(uniques):  # all null (an optional column the export leaves empty): nothing to hash
        return pd.Series(None, index=series.index, dtype=object)
    keyed = _keyed(key)
    hashed = np.array([*(_pseudonym(keyed, u) for u in uniques), None], dtype=object)  # code -1 (null) -> None
    return pd.Series(hashed[codes], index=series.index, dtype=object)


def sql_pseudonym(column: str, key: str) -> tuple[str, dict[str, bytes]]:
    """A DuckDB expression giving ``pseudonym`` of the text column ``column`` (already stripped, as the typed
    ids are), with its parameters: HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)) (RFC 2104), the key's
    pads computed here so that only they, never the key, reach the query."""
    if not key:
        raise ValueError("the pseudonym key is empty")
    block = hashlib.sha256().block_size
    raw = key.encode("utf-8")
    raw = (hashlib.sha256(raw).digest() if len(raw) > block else raw).ljust(block, b"\0")
    pads = {"pseudonym_ipad": bytes(b ^ 0x36 for b in raw), "pseudonym_opad": bytes(b ^ 0x5C for b in raw)}
    inner = f"unhex(sha256($pseudonym_ipad::BLOB || encode({column})))"
    return f"'{PREFIX}' || left(sha256($pseudonym_opad::BLOB || {inner}), {LENGTH - len(PREFIX)})", pads


def key_check(key: str) -> str:
    return hmac.new(key.encode("utf-8"), b"continuity-key-check", hashlib.sha256).hexdigest()[:12]
