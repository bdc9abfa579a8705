"""Hostile or odd requests get a 4xx that says why, and no answer gives away the server's insides."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from continuity.access import create_token
from continuity.config import Settings
from continuity.serving.app import create_app

JSON = {"Content-Type": "application/json"}
CHUNK = 64 * 1024


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        ("/handover-plans", '{"worker_id": NaN}', "body.worker_id"),
        ("/scenarios", '{"scenario": NaN}', "body.scenario"),
        ("/scenarios", '{"scenario": "caseload_at_norm", "horizon": Infinity}', "body.horizon"),
        ("/handover-plans", '{"worker_id": "W001", "pinned": {"a": NaN}}', "body.pinned.a"),
        ("/scenarios", "[-Infinity]", "body"),
    ],
)
def test_nan_or_infinity_in_a_body_is_a_422_naming_the_field(client, path, body, where):
    """Python's JSON reader takes NaN and Infinity; the error echoing them back must still be JSON."""
    response = client.post(path, content=body, headers=JSON)

    assert response.status_code == 422
    assert response.json()["message"].startswith(f"{where}: ")
    assert response.json()["detail"][0]["input"] in ("NaN", "Infinity", ["-Infinity"])


def _post(app, headers: list[tuple[bytes, bytes]], body_bytes: int) -> tuple[int, int]:
    """POST a body of ``body_bytes`` straight to the ASGI app without a token, in 64 KiB messages;
    the status of the answer and how many of the messages the app pulled."""
    pulled, answer = 0, []
    chunks = [b"x" * CHUNK] * (body_bytes // CHUNK)

    async def receive() -> dict:
        nonlocal pulled
        pulled += 1
        if pulled > len(chunks):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunks[pulled - 1], "more_body": pulled < len(chunks)}

    async def send(message: dict) -> None:
        answer.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/scenarios", "raw_path": b"/scenarios", "root_path": "", "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 1), "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    return answer[0]["status"], pulled


def test_a_body_declared_too_large_is_refused_before_a_byte_is_read(tmp_path: Path):
    """Before, the whole body was read and then the caller found to have no token (401)."""
    app = create_app(Settings(home=tmp_path, max_body_bytes=200_000))

    status, pulled = _post(app, [(b"content-length", str(4 * 1024 * 1024).encode())], 4 * 1024 * 1024)

    assert (status, pulled) == (413, 0)


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(tmp_path: Path):
    app = create_app(Settings(home=tmp_path, max_body_bytes=200_000))

    status, pulled = _post(app, [(b"transfer-encoding", b"chunked")], 4 * 1024 * 1024)

    assert status == 413
    assert pulled * CHUNK <= 200_000 + CHUNK


def test_the_limit_is_a_megabyte_by_default_and_a_413_says_so(tmp_path: Path):
    client = TestClient(create_app(Settings(home=tmp_path)))

    refused = client.post("/scenarios", content=b"x" * 1_000_001, headers=JSON)
    assert refused.status_code == 413
    assert "larger than 1000000 bytes" in refused.json()["detail"]
    at_the_limit = b'{"pad": "' + b"x" * (1_000_000 - 11) + b'"}'
    assert client.post("/scenarios", content=at_the_limit, headers=JSON).status_code == 401


def test_a_trailing_slash_is_not_redirected_to_the_host_the_caller_named(client):
    response = client.get("/risk-list/", headers={"Host": "evil.example"}, follow_redirects=False)

    assert "evil.example" not in response.headers.get("location", "")
    assert response.status_code == 404


def test_answers_name_no_path_interpreter_or_process(tmp_path: Path):
    """Nothing published: the 503s and /health say so, without where the service keeps its files."""
    settings = Settings(home=tmp_path)
    client = TestClient(create_app(settings), headers={"Authorization": f"Bearer {create_token(settings, 'admin')}"})

    for endpoint in ("/health", "/risk-list", "/workers/W001"):
        response = client.get(endpoint)
        assert response.status_code == 503, endpoint
        assert str(tmp_path) not in response.text and sys.executable not in response.text
        assert "PID" not in response.text


def test_health_names_no_path(client, settings):
    response = client.get("/health")

    assert response.status_code == 200
    assert str(settings.home) not in response.text and str(settings.home.resolve()) not in response.text
