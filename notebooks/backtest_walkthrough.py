# %% [markdown]
# # Backtest of the current champion: would it have warned us in time?
#
# A walkthrough for analysts, in jupytext percent format (open it as a notebook with
# jupytext, or run it as a script). It reads the warehouse and the MLflow registry of the
# settings in the environment (`CONTINUITY_HOME` and friends), refits the champion's
# configuration at rolling quarterly origins, and shows rank, size and timing of its
# forecasts beside the oracle's where the data is the synthetic sector.
#
# Knobs for small data: `CONTINUITY_BACKTEST_ORIGINS` (default 4) and
# `CONTINUITY_BACKTEST_HORIZONS` (default `13,26,52`); plots go to
# `CONTINUITY_NOTEBOOK_OUT` (default `<home>/notebook`).

# %%
import os
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from sklearn.base import clone

from continuity.config import Settings
from continuity.benchmarks import plots
from continuity.models.backtest import rolling_backtest
from continuity.models.registry import load_champion

settings = Settings()
origins = int(os.environ.get("CONTINUITY_BACKTEST_ORIGINS", "4"))
horizons = tuple(int(h) for h in os.environ.get("CONTINUITY_BACKTEST_HORIZONS", "13,26,52").split(","))
out = Path(os.environ.get("CONTINUITY_NOTEBOOK_OUT", settings.home / "notebook"))
pd.set_option("display.width", 160)

# %% [markdown]
# ## The data: weekly snapshots of every active worker, and what became of them

# %%
with duckdb.connect(str(settings.warehouse), read_only=True) as con:
    snapshots = con.table("snapshots").df()
    labels = con.table("labels").df()
    has_oracle = bool(con.execute(
        "select count(*) from information_schema.tables where table_name = 'oracle_hazard'").fetchall()[0][0])
    oracle = con.table("oracle_hazard").df() if has_oracle else None
print(f"{len(snapshots):,} snapshot rows, {snapshots['snapshot_date'].nunique()} weeks, "
      f"{snapshots['worker_id'].nunique():,} workers")
print(labels.drop_duplicates("worker_id", keep="last")["exit_reason"].value_counts())

# %% [markdown]
# ## The champion, refitted at each origin on what was known then

# %%
champion = load_champion(settings)
print(f"champion: {champion.forecaster.name} version {champion.version}")
backtest = rolling_backtest(snapshots, labels, origins=origins, horizons=horizons,
                            candidates=[clone(champion.forecaster)], oracle=oracle)
for origin in backtest.origins:
    print(origin.date.date(), {name: round(m["c_index"], 3) for name, m in origin.metrics.items()})
pooled = pd.DataFrame(backtest.pooled)
pooled

# %% [markdown]
# ## Curves of sample workers at the latest origin
# P(not yet left voluntarily) = 1 - the cumulative incidence of voluntary leaving, with
# dismissal, retirement and contract ends as competing risks; calibrated, as the worker page shows it.

# %%
latest = backtest.origins[-1]
scored = latest.scored[champion.forecaster.name]
order = np.argsort(scored.risk.iloc[:, -1].to_numpy())
sample = {f"risk percentile {q}": order[int(q / 100 * (len(order) - 1))] for q in (10, 50, 90)}
weeks = np.arange(1, scored.incidence.shape[1] + 1)
plots.survival_curves(weeks, pd.DataFrame({k: 1 - scored.incidence[i] for k, i in sample.items()}), out / "survival.png")

# %% [markdown]
# ## Calibration: do the stated probabilities come true? (before and after calibration)

# %%
for h in horizons:
    print(h, "weeks: ECE", round(pooled.loc[f"ece_uncalibrated_{h}w", champion.forecaster.name], 4),
          "->", round(pooled.loc[f"ece_{h}w", champion.forecaster.name], 4))
    plots.calibration_curve(backtest.calibration_tables(h), h, out / f"calibration_{h}w.png")
backtest.calibration_tables(horizons[-1])[champion.forecaster.name]

# %% [markdown]
# ## Early warning: weeks between first making the top-decile list and leaving

# %%
lead = {name: pd.concat([o.scored[name].lead_weeks for o in backtest.origins]) for name in backtest.sources}
plots.lead_time_histogram(lead, out / "lead_time.png")
pd.DataFrame({name: {"median lead (weeks)": s.median(), "leavers ever listed": s.notna().mean()}
              for name, s in lead.items()})

# %% [markdown]
# ## Drivers: why the top of the latest list is there, in a manager's words

# %%
fitted = latest.forecasters[champion.forecaster.name]
at_origin = snapshots[pd.to_datetime(snapshots["snapshot_date"]) == latest.date]
top = at_origin.loc[scored.risk.iloc[:, -1].nlargest(3).index]
for worker, explained in zip(top["worker_id"], fitted.explain(top)):
    print(worker, "; ".join(f"{d['label']} ({d['direction']}, x{d['hazard_ratio']:.2f})" for d in explained.drivers))
