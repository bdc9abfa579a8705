"""The scale benchmark: the real weekly flow on a sector of N positions, stage by stage.

`scale_benchmark` generates the sector in a child process (cached under
`HOME/bench/sector-<N>x<Y>-seed<S>/`, so a second run at the same size measures the flow
only), runs `flows.weekly.weekly` on a fresh home beside it, and records per stage (the
`continuity.progress` stages of the flow) its seconds, the peak resident memory of the whole
process tree while it ran (the flow process, Prefect's temporary server and any worker it
starts) and the rows it handled. The sampler reads the tree every `RSS_INTERVAL_S`; a peak
shorter than that can be missed, which the figures of one or more GiB this benchmark is about
are not.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import tempfile
import threading
import time
from pathlib import Path

import psutil

from continuity.config import Settings
from continuity.progress import Stage, observe

# The stages, in the order the flow runs them; `total_seconds` is their sum.
STAGES = ("ingest", "features", "train", "evaluate", "register", "score", "exposure", "publish")
# A fifth of a second between memory samples: a stage of the flow lasts seconds at least, and the sampler's
# own cost (one /proc read per process of the tree) stays far below a percent of one core.
RSS_INTERVAL_S = 0.2
GIB = 2**30
# The sample sizes, in workers, for `--sample-curve`; those above the sector's workers are skipped.
CURVE_SIZES = (2_500, 5_000, 10_000, 20_000, 40_000, 80_000)
CURVE_SEEDS = (0, 1, 2)
# The default training sample is the smallest whose mean validation C-index lies within this of the largest
# sample's (the rule): a thousandth or two is below the spread between seeds at the small sizes.
CURVE_TOLERANCE = 0.002
# Weeks from the validation stretch to the test weeks, as the weekly run cuts them (`split.plan_windows`): 52
# test weeks, and before them a stretch of 13 weeks followed for 52.
TEST_WEEKS, STRETCH_WEEKS = 52, 13 + 52


class TreeMemory:
    """Samples the resident memory of this process and all its descendants in a thread, with timestamps on
    `time.monotonic`, the clock `progress.Stage` starts on."""

    def __init__(self, interval: float = RSS_INTERVAL_S):
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-memory", daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = psutil.Process()
        while True:
            self.samples.append((time.monotonic(), tree_rss(me)))
            if self._stop.wait(self.interval):
                return

    def peak_gib(self, start: float = float("-inf"), end: float = float("inf")) -> float:
        """The highest sample from `start` to `end` (one sample either side, so a short stage still has one)."""
        inside = [rss for t, rss in self.samples if start - self.interval <= t <= end + self.interval]
        return round(max(inside, default=0) / GIB, 3)


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of `process` and its descendants; one that ends while being read counts as gone."""
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total


def sector_dir(settings: Settings, workers: int, years: int, seed: int) -> Path:
    return settings.home / "bench" / f"sector-{workers}x{years}-seed{seed}"


def _generate(out: str, workers: int, years: int, seed: int) -> None:
    from continuity.synth.generate import generate_sector

    generate_sector(Path(out), workers=workers, years=years, seed=seed)


def _load_week(home: str, answer: multiprocessing.Queue) -> None:
    from continuity.serving.app import create_app

    week = create_app(Settings(home=Path(home))).state.store.current()
    answer.put(len(week.by_worker))


def in_child(target, *args, timeout: float | None = None) -> tuple[float, float]:
    """Seconds and peak resident memory (GiB, the child's process tree) of ``target(*args)`` run in a spawned
    child, which must exit cleanly within ``timeout`` seconds (else it is killed and TimeoutError raised): its
    memory is its own, measured as such, and none of it stays behind."""
    child = multiprocessing.get_context("spawn").Process(target=target, args=args)
    started = time.monotonic()
    child.start()
    peak = 0
    watched = psutil.Process(child.pid)
    while child.is_alive():
        peak = max(peak, tree_rss(watched))
        child.join(RSS_INTERVAL_S)
        if timeout is not None and time.monotonic() - started > timeout and child.is_alive():
            child.kill()
            child.join()
            raise TimeoutError(f"{target.__name__} did not finish in {timeout:.0f} s (peak {peak / GIB:.2f} GiB)")
    if child.exitcode != 0:
        raise RuntimeError(f"{target.__name__} failed in its child process (exit code {child.exitcode})")
    return time.monotonic() - started, peak / GIB


def cached_sector(settings: Settings, workers: int, years: int, seed: int) -> tuple[Path, dict]:
    """The sector's folder, generated in a child process (``in_child``) when it is not cached yet, and what that
    took; written to a temporary folder and renamed, so an interrupted generation never leaves a half sector
    in the cache."""
    out = sector_dir(settings, workers, years, seed)
    figures: dict = {"workers": workers, "years": years, "seed": seed, "cached": out.exists()}
    if out.exists():
        return out, figures
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        seconds, peak = in_child(_generate, str(partial), workers, years, seed)
    except RuntimeError:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    partial.rename(out)
    return out, figures | {"seconds": round(seconds, 1), "peak_rss_gib": round(peak, 3)}


SERVING_TIMEOUT_S = 1200
"""How long the service may take to load a week before the benchmark gives up on it and says so: twenty times the
issue's minute, so that one slow step leaves the flow's own figures standing."""


def serving_load(settings: Settings, timeout: float = SERVING_TIMEOUT_S) -> dict:
    """What the service spends before its first answer on the week the run published: a fresh process starts
    the app and reads and prepares the week (``serving.store``), as ``continuity serve`` does; ``error`` instead
    of the seconds when it did not finish within ``timeout``."""
    answer = multiprocessing.get_context("spawn").Queue()
    try:
        seconds, peak = in_child(_load_week, str(settings.home), answer, timeout=timeout)
    except TimeoutError as stopped:
        return {"seconds": None, "error": str(stopped)}
    return {"seconds": round(seconds, 2), "peak_rss_gib": round(peak, 3), "workers": answer.get(timeout=10)}


def scale_benchmark(settings: Settings, workers: int, years: int, seed: int = 0, sample_curve: bool = False) -> dict:
    """Generate (or reuse) the sector, run the weekly flow on a fresh home and return the issue's JSON; with
    `sample_curve`, also `sample_curve_benchmark` on the warehouse that run built."""
    from continuity.flows.weekly import weekly

    sector, synth = cached_sector(settings, workers, years, seed)
    run_home = Path(tempfile.mkdtemp(prefix=f"run-{workers}x{years}-", dir=settings.home / "bench"))
    run_settings = Settings(home=run_home, export_dir=sector / "exports")
    stages: list[Stage] = []
    try:
        with TreeMemory() as memory, observe(stages.append):
            result = weekly(settings=run_settings)
        rows = _table_rows(run_settings)
        serving = serving_load(run_settings)
        curve = sample_curve_benchmark(run_settings) if sample_curve else None
    finally:
        shutil.rmtree(run_home, ignore_errors=True)
    by_name = {s.name: s for s in stages}
    missing = [name for name in STAGES if name not in by_name]
    if missing:
        raise RuntimeError(f"the weekly flow reported no stage {', '.join(missing)}")
    measured = {name: {"seconds": round(by_name[name].seconds, 2),
                       "peak_rss_gib": memory.peak_gib(by_name[name].started,
                                                       by_name[name].started + by_name[name].seconds),
                       "rows": by_name[name].rows}
                for name in STAGES}
    metrics = result.metrics
    return ({"sample_curve": curve} if curve else {}) | {
        "stages": measured,
        "total_seconds": round(sum(s["seconds"] for s in measured.values()), 1),
        "peak_rss_gib": max(s["peak_rss_gib"] for s in measured.values()),
        "scoring_seconds": round(by_name["scoring"].seconds, 2),
        "serving_load": serving,
        "synth": synth,
        "rows": rows | {"scored_workers": result.scored_workers},
        "training": by_name["train"].facts,
        "quality": {"chosen": result.chosen,
                    "c_index": metrics[result.chosen]["c_index"],
                    "oracle_c_index": metrics["oracle"]["c_index"] if "oracle" in metrics else None},
    }


def _table_rows(settings: Settings) -> dict[str, int]:
    from continuity.warehouse import connect, has_table

    with connect(settings.warehouse, read_only=True) as con:
        return {name: con.execute(f'select count(*) from "{name}"').fetchall()[0][0]
                for name in ("workers", "hr_events", "assignments", "contacts", "snapshots")
                if has_table(con, name)}


def write_json(result: dict, out: Path) -> None:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str))


def sample_curve_benchmark(settings: Settings) -> dict:
    """Validation C-index and fit time of both models on growing worker samples (`CURVE_SIZES`, `CURVE_SEEDS`).

    Every sample is fitted on its workers' rows before the validation stretch, as the weekly run fits
    the model it validates (`calibration.calibrate_held_out`), and judged on one fixed set of rows: the
    stretch's rows of the largest sample drawn with a seed of its own, labels censored at the test weeks,
    so that the sizes differ only in what they were fitted on. `default` applies `CURVE_TOLERANCE`.
    """
    import pandas as pd

    from continuity.features.feature_spec import MODEL_FEATURES, model_features
    from continuity.features.snapshots import training_rows
    from continuity.models.metrics import concordance, held_out_outcomes
    from continuity.models.split import censor_at
    from continuity.models.training import default_candidates
    from continuity.warehouse import open_warehouse

    with open_warehouse(settings, read_only=True) as con:
        available = con.execute("select count(distinct worker_id) from snapshots").fetchall()[0][0]
        sizes = [n for n in CURVE_SIZES if n <= available] or [available]
        judged, judged_labels, _ = training_rows(con, MODEL_FEATURES, workers=max(sizes), seed=len(CURVE_SEEDS))
        dates = pd.to_datetime(judged["snapshot_date"])
        test_from = dates.max() - pd.Timedelta(weeks=TEST_WEEKS - 1)
        start = test_from - pd.Timedelta(weeks=STRETCH_WEEKS)
        in_stretch = ((dates >= start) & (dates < test_from)).to_numpy()
        validation = judged[in_stretch]
        outcomes = held_out_outcomes(validation, censor_at(judged_labels[in_stretch], test_from))
        points = []
        for n in sizes:
            for seed in CURVE_SEEDS:
                snapshots, labels, _ = training_rows(con, MODEL_FEATURES, workers=n, seed=seed)
                before = (pd.to_datetime(snapshots["snapshot_date"]) < start).to_numpy()
                fit_rows, fit_labels = snapshots[before], censor_at(labels[before], start)
                for candidate in default_candidates(model_features(settings.health_inputs)):
                    started = time.monotonic()
                    candidate.fit(fit_rows, fit_labels)
                    seconds = time.monotonic() - started
                    risk = candidate.predict_risk(validation, (TEST_WEEKS,), calibrated=False).iloc[:, 0]
                    points.append({"model": candidate.name, "workers": n, "seed": seed, "rows": len(fit_rows),
                                   "c_index": round(concordance(outcomes, risk, TEST_WEEKS)["c_index"], 4),
                                   "fit_seconds": round(seconds, 2)})
    frame = pd.DataFrame(points)
    means = frame.groupby(["model", "workers"])[["c_index", "fit_seconds"]].mean().round(4)
    enough = []
    for model, curve in means.groupby(level="model"):
        c_index = curve["c_index"].droplevel("model")
        enough.append(int(c_index[c_index >= c_index.iloc[-1] - CURVE_TOLERANCE].index.min()))
    return {"points": points,
            "means": [{"model": m, "workers": int(n), **row} for (m, n), row in means.to_dict("index").items()],
            "validation_rows": len(validation), "tolerance": CURVE_TOLERANCE, "default": max(enough)}
