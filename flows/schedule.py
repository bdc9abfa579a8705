"""`continuity schedule`: the weekly flow as a Prefect deployment that runs by itself (Monday 06:00 by default).

Prefect's temporary server, which a flow called without ``PREFECT_API_URL`` talks to, runs no scheduler and
stops with its process, so a schedule needs a server that stays up:

- with ``PREFECT_API_URL`` set (a self-hosted ``prefect server start``, on PostgreSQL by configuration), the
  deployment is created on that server;
- without it (the embedded default), the command starts one itself: ``prefect server start`` on 127.0.0.1
  as a child process, its SQLite under ``HOME/prefect-server``, apart from the temporary server's
  ``HOME/prefect``, so that a ``continuity run`` meanwhile never waits on its database's lock. The server
  stops with the command.

Either way the runs appear in the Prefect UI with their task states and logs. The command serves the
deployment: it polls the server for due runs and starts each in a process of its own, with this
process's environment (the ``CONTINUITY_*`` settings), so the runs read and publish under the same HOME as
``continuity serve``. Each run records itself beside the published weeks (``continuity.run_record``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from continuity.private import private_folder

DEPLOYMENT = "continuity-weekly"
DEFAULT_CRON = "0 6 * * 1"  # Monday 06:00: the week's list is there before the working week starts
TIMEZONE = "Europe/Amsterdam"  # the sector's clock, so 06:00 stays 06:00 across daylight saving time
SERVER_PORT = 4200  # Prefect's own default port, where its documentation sends a reader for the UI
# As the temporary server's start-up limit (`cli._prefect_env`): a first start migrates the database, which on a
# busy 2-core machine took over 20 s.
SERVER_STARTUP_S = 120.0
SERVER_STOP_S = 30.0  # a clean stop finishes the request in flight and closes the database
# One weekly run at a time, across every process serving the deployment: two runs would contend for the
# warehouse's single writer and publish weeks out of order.
CONCURRENT_RUNS = 1


class ServerDidNotStart(RuntimeError):
    """The embedded Prefect server exited or did not answer in time; the message says why, from its log."""


def weekly_deployment(cron: str = DEFAULT_CRON, timezone: str = TIMEZONE):
    """The weekly flow as a deployment on ``cron`` in ``timezone``; ValueError, in one sentence, for a cron
    expression or time zone that Prefect refuses."""
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    from continuity.flows.weekly import weekly

    # The cron expression and the time zone are the only inputs here: Prefect checks the first when the schedule
    # is made and the second when the deployment is (pydantic's ValidationError is a ValueError).
    try:
        # By module path, not file path: the runs import the installed package, from whatever folder.
        return weekly.to_deployment(
            name=DEPLOYMENT, schedules=[Cron(cron, timezone=timezone)], concurrency_limit=CONCURRENT_RUNS,
            tags=["continuity"], entrypoint_type=EntrypointType.MODULE_PATH,
            description="The weekly early-warning run: ingest, features, train, evaluate, register, score, publish.",
        )
    except ValueError as error:
        reason = error.errors()[0]["msg"] if hasattr(error, "errors") else str(error)
        raise ValueError(f"--cron {cron!r} --timezone {timezone!r} is not a schedule Prefect accepts: "
                         f"{reason.removeprefix('Value error, ')}") from None


def _prefect_command() -> list[str]:
    """Prefect's command line from this interpreter's environment, whatever PATH holds."""
    return [sys.executable, "-m", "prefect"]


@contextmanager
def local_server(home: Path, port: int = SERVER_PORT, host: str = "127.0.0.1") -> Iterator[str]:
    """A Prefect server (API, UI and scheduler) of its own under ``home``, for as long as the block runs;
    yields its API URL. ServerDidNotStart, with the end of its log, when it exits (a port in use) or does
    not answer within SERVER_STARTUP_S."""
    home = private_folder(Path(home).resolve())
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    env |= {"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    log_path = home / "server.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen([*_prefect_command(), "server", "start", "--host", host, "--port", str(port)],
                                   env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)  # Ctrl-C stops the runner first, which pauses the schedule
    url = f"http://{host}:{port}/api"
    try:
        _wait_until_up(process, url, log_path)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(SERVER_STOP_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(process: subprocess.Popen, url: str, log_path: Path) -> None:
    import httpx

    deadline = time.monotonic() + SERVER_STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerDidNotStart(f"`prefect server start` exited with code {process.returncode} before "
                                    f"answering at {url}; the end of {log_path}:\n{_tail(log_path)}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise ServerDidNotStart(f"`prefect server start` did not answer at {url} within {SERVER_STARTUP_S:.0f} s; "
                            f"the end of {log_path}:\n{_tail(log_path)}")


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def serve_weekly(prefect_home: Path, cron: str = DEFAULT_CRON, timezone: str = TIMEZONE,
                 port: int = SERVER_PORT, announce=print) -> None:
    """Serve the weekly deployment until stopped: on the server PREFECT_API_URL names, else on an embedded one
    under ``prefect_home`` at ``port``. ``announce`` is told where the runs and the UI are."""
    from prefect import serve
    from prefect.settings import PREFECT_API_URL, temporary_settings

    deployment = weekly_deployment(cron, timezone)  # a bad schedule is refused before any server starts
    given = PREFECT_API_URL.value()
    with nullcontext(given) if given else local_server(prefect_home, port) as api_url:
        with temporary_settings({PREFECT_API_URL: api_url}):  # the runs it starts inherit it too
            announce(f"Serving weekly/{DEPLOYMENT} on {api_url} ({cron}, {timezone}); the UI is at "
                     f"{api_url.removesuffix('/api')}. Stop with Ctrl-C.")
            serve(deployment, limit=CONCURRENT_RUNS, print_starting_message=False)
