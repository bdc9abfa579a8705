"""The model card and data sheet: every section, and fairness figures equal to the logged audit."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from continuity.advisory import OUT_OF_SCOPE_USES
from continuity.config import Settings
from continuity.features.feature_spec import MODEL_FEATURES
from continuity.models.card import (
    FAIRNESS, FAIRNESS_COLUMNS, FAIRNESS_FILE, FILES, SECTIONS, CardFacts, card_texts, model_card, render,
)
from continuity.horizons import HORIZONS
from continuity.models.registry import Champion, load_champion, log_text, logged_text, tracking_client
from continuity.publication import Publications


def _audit(seed: int = 0) -> pd.DataFrame:
    """A fairness audit in the agreed columns, with a group name that would break a Markdown table."""
    rng = np.random.default_rng(seed)
    rows = []
    for attribute, groups in (("gender", ("f", "m", "x")), ("occupation", ("Wmo-consulent", "a|b"))):
        for group in groups:
            for h in (13, 26, 52):
                auc = float(rng.uniform(0.6, 0.8))
                rows.append({"attribute": attribute, "group": group, "horizon": h, "n": int(rng.integers(20, 900)),
                             "leavers": int(rng.integers(0, 90)), "c_index": float(rng.uniform(0.6, 0.8)),
                             "auc": auc, "auc_low": auc - 0.05, "auc_high": auc + 0.05,
                             "observed_expected": float(rng.uniform(0.7, 1.3)), "oe_low": 0.6, "oe_high": 1.4,
                             "flag_rate": float(rng.uniform(0, 0.2)), "recall": np.nan if group == "x" else 0.3,
                             "false_flag_rate": 0.08, "status": "insufficient" if group == "x" else "ok",
                             "model_version": "7"})
    return pd.DataFrame(rows)


def _facts(fairness: pd.DataFrame | None) -> CardFacts:
    return CardFacts(model_name="continuity-voluntary-leaving", model_version="7", forecaster="xgboost",
                     features=MODEL_FEATURES, training_rows=12_345, training_events=321,
                     params={"test_from": "2024-01-01", "validation_from": "2023-06-05"},
                     metrics={"test_c_index": 0.71, "test_auc_26w": 0.68, "oracle_auc_26w": 0.74}, fairness=fairness)


def card_table_under(markdown: str, heading: str) -> pd.DataFrame:
    """The Markdown table under a heading of a rendered card, cells as text ("\\|" read as "|")."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("#") and line.lstrip("#").strip() == heading)
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("#"):
            break
        if line.startswith("|"):
            cells = line.strip()[1:-1].replace("\\|", "\0").split("|")
            rows.append([cell.strip().replace("\0", "|") for cell in cells])
    header, _, *body = rows
    return pd.DataFrame(body, columns=header)


def fairness_figures_match(markdown: str, logged: pd.DataFrame) -> None:
    shown = card_table_under(markdown, "Audit")
    assert list(shown.columns) == list(FAIRNESS_COLUMNS)
    assert len(shown) == len(logged)
    for column in FAIRNESS_COLUMNS:
        if pd.api.types.is_float_dtype(logged[column]):
            expected = [("-" if pd.isna(v) else f"{v:.3f}") for v in logged[column]]
        else:
            expected = logged[column].astype(str).tolist()
        assert shown[column].tolist() == expected, column


def interval_figures_match(markdown: str, metrics: dict[str, float]) -> None:
    """The card's measured intervals are the run's `test_interval_*` metrics, '-' where it logged none."""
    shown = card_table_under(markdown, "Measured").set_index("horizon (weeks)")
    assert shown.index.tolist() == [str(h) for h in HORIZONS]
    for h in HORIZONS:
        width, coverage = metrics.get(f"test_interval_width_{h}w"), metrics.get(f"test_interval_coverage_{h}w")
        assert shown.loc[str(h), "median width"] == ("-" if width is None else f"{width:.3f}"), h
        assert shown.loc[str(h), "deciles within"] == ("-" if coverage is None else f"{coverage:.0f} of 10"), h


def test_the_cards_intervals_section_shows_the_measured_width_and_coverage():
    facts = _facts(None)
    metrics = {**facts.metrics, "test_interval_width_13w": 0.0412, "test_interval_coverage_13w": 9.0,
               "test_interval_width_26w": 0.0734, "test_interval_coverage_26w": 7.0}
    markdown = render(model_card(replace(facts, metrics=metrics)))["markdown"]
    interval_figures_match(markdown, metrics)
    shown = card_table_under(markdown, "Measured").set_index("horizon (weeks)")
    assert shown.loc["26"].tolist() == ["0.073", "7 of 10"] and shown.loc["52"].tolist() == ["-", "-"]


def test_the_card_has_every_section_in_markdown_and_html():
    texts = render(model_card(_facts(_audit())))
    headings = [line.lstrip("#").strip() for line in texts["markdown"].splitlines() if line.startswith("# ")]
    assert headings == list(SECTIONS)
    for section in SECTIONS:
        assert f"<h1>{section}</h1>" in texts["html"]
    for use in OUT_OF_SCOPE_USES:
        assert f"<li>{use}</li>" in texts["html"]
    assert "12,345 worker-weeks with 321" in texts["markdown"]
    per_horizon = card_table_under(texts["markdown"], "Per horizon").set_index("horizon (weeks)")
    assert per_horizon.loc["26", "AUC"] == "0.680" and per_horizon.loc["26", "oracle AUC"] == "0.740"
    assert per_horizon.loc["13", "AUC"] == "-"


def test_the_cards_fairness_figures_are_the_audits_and_its_text_is_escaped():
    audit = _audit()
    texts = render(model_card(_facts(audit)))
    fairness_figures_match(texts["markdown"], audit)
    assert ">a|b</td>" in texts["html"]
    hostile = render(model_card(_facts(audit.assign(group="<script>alert(1)</script>"))))["html"]
    assert "<script>" not in hostile and "&lt;script&gt;" in hostile


def test_a_card_without_a_logged_audit_says_so():
    markdown = render(model_card(_facts(None)))["markdown"]
    assert "No fairness audit was logged" in markdown
    with pytest.raises(StopIteration):
        card_table_under(markdown, "Audit")
    assert f"# {FAIRNESS}" in markdown


def test_the_published_card_is_the_one_logged_with_the_version_that_scored(weekly_run):
    settings, result = weekly_run
    publication = Publications(settings.published).current()
    published = publication.table("model_card").set_index("format")["text"]
    champion = load_champion(settings)
    assert champion.version == publication.model_version == result.model_version
    for fmt, name in FILES.items():
        assert published[fmt] == logged_text(settings, champion.run_id, name)
    assert f"v{result.model_version}" in published["markdown"]
    logged = logged_text(settings, champion.run_id, FAIRNESS_FILE)
    if logged is not None:  # the weekly run's own audit, once it logs one
        fairness_figures_match(published["markdown"], pd.DataFrame(json.loads(logged)))


def test_the_published_cards_interval_figures_are_the_ones_logged_with_the_version(weekly_run):
    settings, _ = weekly_run
    markdown = Publications(settings.published).current().table("model_card").set_index("format").loc["markdown", "text"]
    logged = tracking_client(settings).get_run(load_champion(settings).run_id).data.metrics
    assert any(k.startswith("test_interval_width_") for k in logged)  # the run measured its intervals
    interval_figures_match(markdown, logged)


def test_a_versions_card_shows_the_fairness_figures_logged_with_it(weekly_run, tmp_path):
    settings, _ = weekly_run
    home = tmp_path / "home"
    shutil.copytree(settings.home, home, ignore=shutil.ignore_patterns("prefect"))
    copied = Settings(home=home, export_dir=settings.export_dir)
    champion = load_champion(copied)
    client = MlflowClient(copied.tracking_uri)
    run = client.create_run(client.get_run(champion.run_id).info.experiment_id)
    client.log_metric(run.info.run_id, "test_c_index", 0.705)
    client.log_param(run.info.run_id, "test_from", "2024-01-01")
    log_text(copied, run.info.run_id, FAIRNESS_FILE, _audit(seed=4).to_json(orient="records"))
    version = Champion(forecaster=champion.forecaster, name=champion.name, version="99", run_id=run.info.run_id)

    texts = card_texts(copied, version)
    logged = pd.DataFrame(json.loads(logged_text(copied, run.info.run_id, FAIRNESS_FILE)))
    fairness_figures_match(texts["markdown"], logged)
    assert card_table_under(texts["markdown"], "Overall").set_index("figure").loc["Harrell's C", "model"] == "0.705"
    # logged with the version, and read back rather than rewritten
    assert logged_text(copied, run.info.run_id, FILES["html"]) == texts["html"]
    assert card_texts(copied, version) == texts
