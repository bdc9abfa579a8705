"""The API load benchmark, briefly, against a real uvicorn server over the weekly flow's published week."""

from __future__ import annotations

import pytest

from continuity.access import list_tokens
from continuity.benchmarks.api import ENDPOINTS, run_api_bench


def test_a_short_low_rate_run_reports_every_endpoint_without_errors(weekly_run):
    settings = weekly_run[0]
    before = {token["token_id"] for token in list_tokens(settings)}
    report = run_api_bench(rate=40, duration=2.0, settings=settings)
    made = [token for token in list_tokens(settings) if token["token_id"] not in before]

    assert (report["rate"], report["duration_s"]) == (40, 2.0)
    assert set(report["endpoints"]) == set(ENDPOINTS) >= {"GET /workers/{worker_id}", "GET /risk-list",
                                                           "GET /workers/{worker_id}/exposure", "GET /aggregates"}
    assert sum(e["requests"] for e in report["endpoints"].values()) == 80
    for figures in report["endpoints"].values():
        assert figures["errors"] == 0
        assert 0 < figures["p50_ms"] <= figures["p99_ms"]
    # the CPU the client took from the machine the server runs on, and the server's own
    cpu = report["cpu"]
    assert cpu["wall_s"] >= 79 / 40 and cpu["cores"] >= 1  # the last of 80 requests is due 79/40 s in
    assert 0 < cpu["client_s"] < cpu["wall_s"] * cpu["cores"]
    assert cpu["server_s"] is None or 0 < cpu["server_s"] < cpu["wall_s"] * cpu["cores"]
    # the benchmark's own admin token does not outlive the run
    assert [(token["role"], token["revoked_at"] is not None) for token in made] == [("admin", True)]


def test_too_few_requests_for_every_endpoint_is_refused(weekly_run):
    with pytest.raises(ValueError, match="at least 4 requests"):
        run_api_bench(rate=1, duration=1.0, settings=weekly_run[0])
