"""`continuity schedule`: the weekly flow served as a Prefect deployment on a schedule.

The deployment is created by the command itself, run as an operator runs it, on a Prefect server this test
starts (``flows.schedule.local_server``, what the command starts without PREFECT_API_URL); a run triggered
through the API runs the real weekly flow to completion. It scores with the champion of the session's weekly
run (``retrain=False``, on a copy of its home): the deployment, the runner, the run's own process and its record
are the same as for a run that retrains, which on this machine's 2 busy cores took 130 s more (training and
evaluation are tested in tests/test_flow.py on that same session run).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from command_line import invoke

from continuity.config import Settings
from continuity.flows.schedule import DEPLOYMENT, TIMEZONE, ServerDidNotStart, local_server
from continuity.publication import Publications
from continuity.run_record import read_last_run

CONTINUITY = str(Path(sys.executable).with_name("continuity"))
# Seconds for the command to create its deployment (it imports Prefect and the flow: about 10 s on 2 busy cores).
DEPLOYMENT_WAIT_S = 90
# Seconds for the triggered run: a process of its own imports the flow (about 10 s) and scores the tiny sector
# with the champion (about 15 s); on 2 busy cores it took up to twice as long.
RUN_WAIT_S = 180
# The run's process sends its logs in batches, the last as it exits, which can be after its final state is set.
LOG_WAIT_S = 30
LAST_LOG_LINE = "retention: removed"  # the weekly flow's last task logs it (flows/weekly.py, purge_expired)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory) -> Iterator[str]:
    with local_server(tmp_path_factory.mktemp("prefect-server"), port=_free_port()) as api_url:
        yield api_url


@pytest.fixture
def scheduled(prefect_server, weekly_run, tmp_path) -> Iterator[Settings]:
    """`continuity schedule` serving the weekly flow on the test's server, for a copy of the session weekly run's
    home (its warehouse, champion and published week), reading the same tiny sector."""
    ran = weekly_run[0]
    shutil.copytree(ran.home, tmp_path / "home")
    settings = Settings(home=tmp_path / "home", export_dir=ran.exports)
    env = os.environ | {"PREFECT_API_URL": prefect_server, "CONTINUITY_HOME": str(settings.home),
                        "CONTINUITY_EXPORT_DIR": str(settings.exports),
                        "PREFECT_RUNNER_POLL_FREQUENCY": "1"}  # the default 10 s between polls for due runs
    with open(tmp_path / "schedule.log", "wb") as log:
        command = subprocess.Popen([CONTINUITY, "schedule", "--cron", "0 6 * * 1"], env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    try:
        yield settings
    finally:
        command.send_signal(signal.SIGINT)  # Ctrl-C: the command stops serving and pauses the schedule
        try:
            command.wait(30)
        except subprocess.TimeoutExpired:
            command.kill()
            command.wait()
        print((tmp_path / "schedule.log").read_text(errors="replace")[-4000:])  # shown when the test fails


def _deployment(client_factory, name: str):
    """The deployment once the command has created it."""
    from prefect.exceptions import ObjectNotFound

    deadline = time.monotonic() + DEPLOYMENT_WAIT_S
    while True:
        with client_factory() as client:
            try:
                return client.read_deployment_by_name(name)
            except ObjectNotFound:
                if time.monotonic() > deadline:
                    raise
        time.sleep(1)


def _logs(client, flow_run_id) -> list[str]:
    """The run's log lines, as the UI shows them, once its last one has arrived (or LOG_WAIT_S have passed)."""
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.client.schemas.sorting import LogSort

    deadline = time.monotonic() + LOG_WAIT_S
    while True:
        lines = [log.message for log in client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])),
                                                          sort=LogSort.TIMESTAMP_ASC, limit=200, offset=0)]
        if any(line.startswith(LAST_LOG_LINE) for line in lines) or time.monotonic() > deadline:
            return lines
        time.sleep(1)


def test_the_deployment_runs_the_weekly_flow_through_the_api_to_completion(prefect_server, scheduled):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    name = f"weekly/{DEPLOYMENT}"
    with temporary_settings({PREFECT_API_URL: prefect_server}):
        deployment = _deployment(lambda: get_client(sync_client=True), name)
        flow_run = run_deployment(name, parameters={"retrain": False}, timeout=RUN_WAIT_S, poll_interval=2)
        with get_client(sync_client=True) as client:
            tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])),
                                          sort=TaskRunSort.EXPECTED_START_TIME_ASC, limit=100)
            logs = _logs(client, flow_run.id)

    schedule = deployment.schedules[0].schedule
    assert (schedule.cron, schedule.timezone, deployment.global_concurrency_limit.limit) == ("0 6 * * 1", TIMEZONE, 1)
    assert flow_run.state.is_completed(), flow_run.state
    # In the Prefect UI: each step's task run, completed, and the run's logs.
    states = {task.name.rsplit("-", 1)[0]: task.state.type.value for task in tasks}
    assert {"require_champion", "ingest_exports", "build_features", "score", "publish"} <= set(states)
    assert set(states.values()) == {"COMPLETED"}
    assert any(line.startswith(LAST_LOG_LINE) for line in logs)
    # The run published a week of its own under the command's HOME and recorded itself there.
    week = Publications(scheduled.published).current()
    last_run = read_last_run(scheduled.published)
    assert week.folder.parent == scheduled.published and week.manifest["published_at"] > last_run.started_at.isoformat()
    assert week.data_end is not None and week.data_end < week.score_date
    assert (last_run.succeeded, last_run.flow_run_id) == (True, str(flow_run.id))


def test_a_schedule_prefect_refuses_is_said_before_any_server_starts(tmp_path, monkeypatch):
    monkeypatch.setenv("CONTINUITY_HOME", str(tmp_path))

    code, output = invoke("schedule", "--cron", "0 6 * * 8")

    assert code == 2 and "--cron '0 6 * * 8'" in output and "Invalid cron string" in output
    assert not (tmp_path / "prefect-server").exists()


def test_an_embedded_server_that_cannot_start_says_why(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(ServerDidNotStart, match=rf"exited with code \d+ before answering at "
                                                     rf"http://127.0.0.1:{port}/api"), local_server(tmp_path, port):
            pass
