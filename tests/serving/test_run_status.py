"""Where people look, the page and /health say how old the list is and how the last weekly run ended."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from continuity.access import create_token
from continuity.config import Settings
from continuity.publication import MANIFEST, Publications
from continuity.run_record import recorded_run
from continuity.serving.app import create_app

SITE = "http://testserver"


def _serving_copy(settings: Settings, home: Path) -> Settings:
    """A home of its own serving a copy of the fixture's published weeks."""
    shutil.copytree(settings.published, home / "published", dirs_exist_ok=True)
    return Settings(home=home)


def _page(settings: Settings, lang: str) -> str:
    browser = TestClient(create_app(settings), headers={"Origin": SITE}, cookies={"lang": lang})
    token = create_token(settings, "hr", organisation="org-a")
    assert browser.post("/ui/login", data={"token": token}).status_code == 200
    page = browser.get("/ui/risk-list")
    assert page.status_code == 200
    return page.text


def test_a_failed_weekly_run_is_said_on_every_page_and_by_health(settings, prefect_harness, tmp_path, admin_client):
    from continuity.features.ingest import UnusableInput
    from continuity.flows.weekly import weekly

    home = Settings(home=tmp_path / "home")
    # This week's run fails: its export is missing ...
    with pytest.raises(UnusableInput):
        weekly(settings=Settings(home=home.home, export_dir=tmp_path / "missing" / "exports",
                                 pseudonym_key="a-real-key"))
    # ... and the service goes on serving the weeks published before (the fixture's).
    _serving_copy(settings, home.home)

    health = admin_client(home).get("/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    run = health.json()["last_run"]
    assert run["succeeded"] is False and run["ended_at"] >= run["started_at"] and run["flow_run_id"]
    assert health.json()["up_to_date"] is False and "failed" in health.json()["behind"]
    ended = datetime.fromisoformat(run["ended_at"]).strftime("%Y-%m-%d %H:%M")
    dutch, english = _page(home, "nl"), _page(home, "en")
    assert 'class="freshness stale" role="alert"' in dutch
    assert "Deze lijst is verouderd." in dutch and f"eindigde {ended} UTC en is mislukt" in dutch
    assert f"The last weekly run ended {ended} UTC and failed: this week's list was not published." in english


def test_this_weeks_list_after_a_run_that_succeeded_is_up_to_date(settings, tmp_path, admin_client):
    home = _serving_copy(settings, tmp_path / "home")
    # The served week made this week's, as a run this Monday would publish it.
    monday = datetime.now(UTC).date() - timedelta(days=datetime.now(UTC).weekday())
    manifest_path = Publications(home.published).current().folder / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps(manifest | {"score_date": monday.isoformat(),
                                                    "data_end": (monday - timedelta(days=1)).isoformat()}))
    with recorded_run(home.published, "flow-run-1"):
        pass

    health = admin_client(home).get("/health").json()
    assert (health["week"], health["data_end"]) == (monday.isoformat(), (monday - timedelta(days=1)).isoformat())
    assert health["up_to_date"] is True and health["behind"] is None and health["last_run"]["succeeded"] is True
    english = _page(home, "en")
    assert "stale" not in english and f"Data up to {monday - timedelta(days=1)}." in english
    assert "UTC and succeeded." in english

