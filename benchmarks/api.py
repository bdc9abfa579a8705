"""Load benchmark of the API: a real uvicorn server on loopback, driven at a constant request rate.

The load is open-loop: request i is due at start + i / rate whatever the answers before it
did, and its latency counts from that moment, so a server that falls behind shows it in
the percentiles instead of silently slowing the client down (coordinated omission).
Requests go round-robin over the endpoints a working day hits most; worker ids are drawn
from the published week, so every individual read is a real, audited read. The server
runs in its own process against the published week in ``settings``; the client only ever
connects to 127.0.0.1 and sends at most ``rate * duration`` requests.
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import h11
import httpx
import numpy as np

from continuity.access import create_token, revoke_token
from continuity.config import Settings
from continuity.publication import Publications

HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 5.0
DRAIN_TIMEOUT_S = 30.0
CONNECTIONS = 64

ENDPOINTS: dict[str, Callable[[random.Random, list[str]], str]] = {
    "GET /workers/{worker_id}": lambda rng, ids: f"/workers/{rng.choice(ids)}",
    "GET /risk-list": lambda rng, ids: "/risk-list",
    "GET /workers/{worker_id}/exposure": lambda rng, ids: f"/workers/{rng.choice(ids)}/exposure",
    "GET /aggregates": lambda rng, ids: "/aggregates?by=region&horizon=26",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@contextmanager
def _server(settings: Settings, port: int) -> Iterator[subprocess.Popen]:
    """uvicorn serving ``create_app()`` in a child process configured through the environment."""
    env = os.environ | {
        "CONTINUITY_HOME": str(settings.home.resolve()),
        "CONTINUITY_PUBLISHED_DIR": str(settings.published.resolve()),
        "CONTINUITY_ACCESS_DB_PATH": str(settings.access_db.resolve()),
        "CONTINUITY_MLFLOW_TRACKING_URI": settings.tracking_uri,
    }
    command = [sys.executable, "-m", "uvicorn", "continuity.serving.app:create_app", "--factory",
               "--host", HOST, "--port", str(port), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _cpu_seconds(pid: int) -> float | None:
    """User and system CPU a process has used so far, from /proc; None where there is no /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _wait_until_serving(base: str, headers: dict[str, str], server: subprocess.Popen) -> None:
    """Until /health answers 200, then one request per endpoint so no first-request cost is measured."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    with httpx.Client(base_url=base, headers=headers, timeout=REQUEST_TIMEOUT_S) as client:
        while True:
            try:
                if client.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None:
                raise RuntimeError(f"the API server exited with {server.returncode}: {server.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the API at {base} did not become healthy within {STARTUP_TIMEOUT_S:.0f} s")
            time.sleep(0.2)
        rng = random.Random(0)
        ids = [item["worker_id"] for item in client.get("/risk-list", params={"page_size": 1}).json()["items"]]
        for name, path in ENDPOINTS.items():
            response = client.get(path(rng, ids))
            if response.status_code != 200:
                raise RuntimeError(f"{name} answered {response.status_code} before the load: {response.text[:200]}")


async def _exchange(connection: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    request: h11.Request) -> int:
    """One request and its whole answer on a kept-alive connection; the status code."""
    writer.write(connection.send(request) + connection.send(h11.EndOfMessage()))
    await writer.drain()
    status = 0
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            connection.receive_data(await reader.read(65536))
        elif isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
            break
    connection.start_next_cycle()
    return status


async def _drive(port: int, headers: dict[str, str], ids: list[str], rate: int, duration: float,
                 seed: int) -> dict[str, tuple[list[float], int]]:
    """Send ``rate * duration`` requests at their due times over ``CONNECTIONS`` kept-alive
    connections; per endpoint (latencies in ms, errors).

    The load runs on h11 over asyncio streams rather than httpx: on a 2-core machine the
    httpx client spent 3 to 4.5 ms of CPU per request, more than the server, and could not
    send 500 a second; h11 parses the same HTTP/1.1 for a fraction of that. Requests not
    answered ``DRAIN_TIMEOUT_S`` after the last was due count as errors, with the time they waited."""
    rng = random.Random(seed)
    names = list(ENDPOINTS)
    latencies: dict[str, list[float]] = {name: [] for name in names}
    errors = dict.fromkeys(names, 0)
    due_requests: asyncio.Queue = asyncio.Queue()
    header_list = [("Host", f"{HOST}:{port}"), *headers.items()]

    async def connection_worker() -> None:
        reader = writer = None
        while True:
            name, path, due = await due_requests.get()
            ok = False
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(HOST, port)
                    connection = h11.Connection(h11.CLIENT)
                request = h11.Request(method="GET", target=path, headers=header_list)
                status = await asyncio.wait_for(_exchange(connection, reader, writer, request), REQUEST_TIMEOUT_S)
                ok = status == 200
            except (OSError, TimeoutError, h11.ProtocolError):
                if writer is not None:
                    writer.close()
                reader = writer = None
            finally:
                latencies[name].append((time.perf_counter() - due) * 1000.0)
                errors[name] += not ok
                due_requests.task_done()

    workers = [asyncio.create_task(connection_worker()) for _ in range(CONNECTIONS)]
    start = time.perf_counter()
    for i in range(int(rate * duration)):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        name = names[i % len(names)]
        due_requests.put_nowait((name, ENDPOINTS[name](rng, ids), due))
    try:
        await asyncio.wait_for(due_requests.join(), DRAIN_TIMEOUT_S)
    except TimeoutError:
        now = time.perf_counter()
        while not due_requests.empty():
            name, _, due = due_requests.get_nowait()
            latencies[name].append((now - due) * 1000.0)
            errors[name] += 1
    for worker in workers:
        worker.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    return {name: (latencies[name], errors[name]) for name in names}


def run_api_bench(rate: int = 500, duration: float = 20.0, settings: Settings | None = None) -> dict:
    """Serve the published week in ``settings`` on a free loopback port and load it at ``rate`` requests
    per second for ``duration`` seconds; per endpoint the requests sent, errors (any answer but 200, or
    none) and the 50th and 99th percentile latency in milliseconds; and the CPU seconds the client and
    the server used while the load ran."""
    if rate * duration < len(ENDPOINTS):
        raise ValueError(f"rate x duration must give at least {len(ENDPOINTS)} requests, got {rate} x {duration}")
    settings = settings or Settings()
    ids = Publications(settings.published).current().table("risk_scores").worker_id.tolist()
    token = create_token(settings, "admin")
    headers = {"Authorization": f"Bearer {token}"}
    try:
        port = _free_port()
        base = f"http://{HOST}:{port}"
        with _server(settings, port) as server:
            _wait_until_serving(base, headers, server)
            # The client's own imports are long-lived objects too: a full collection of them (some
            # 75 ms) stalls every request in flight, which the percentiles would blame on the server.
            gc.collect()
            gc.freeze()
            before = time.perf_counter(), _own_cpu_seconds(), _cpu_seconds(server.pid)
            measured = asyncio.run(_drive(port, headers, ids, rate, duration, seed=rate))
            after = time.perf_counter(), _own_cpu_seconds(), _cpu_seconds(server.pid)
            gc.unfreeze()
    finally:
        revoke_token(settings, token)
    return {
        "rate": rate,
        "duration_s": duration,
        "workers_scored": len(ids),
        # The client shares the machine with the server: its CPU is CPU the server did not get.
        "cpu": {
            "cores": os.cpu_count(),
            "wall_s": after[0] - before[0],
            "client_s": after[1] - before[1],
            "server_s": None if before[2] is None else after[2] - before[2],
        },
        "endpoints": {
            name: {"requests": len(latencies), "errors": errors,
                   "p50_ms": float(np.percentile(latencies, 50)), "p99_ms": float(np.percentile(latencies, 99))}
            for name, (latencies, errors) in measured.items()
        },
    }
