"""Known departures at the score date t: scored workers whose last day is already set, not forecast.

Two facts known before t make a departure certain enough to plan for, with its date:

* **a notice** (``hr_events`` of type ``notice``, given before t): its ``end_date`` is the planned
  last day, fixed when the notice is given and read as such, like a ``contract_renewal``'s end date
  (``features/snapshot_sql.py``). The latest notice before t counts; one whose last day lies before t
  while the worker is still employed was evidently withdrawn or overtaken, and one without a last
  day gives no date to plan for;
* **a temporary contract ending within the longest horizon** (``max(HORIZONS)``, 52 weeks) with no
  renewal known at t. Contract type and end are read exactly as the model reads them at t (the
  snapshot's ``is_temporary`` and ``weeks_to_contract_end``: the hire's contract, or the latest
  ``contract_renewal`` dated before t), so a renewal signed before t moves the end or, to a
  permanent contract, removes it. Without a renewal the contract ends on that day by its own terms:
  the organisation knows the date as surely as a notice's. It is still a departure the organisation
  may prevent, by renewing; the page says "temporary contract ends", not that the worker leaves by
  choice. An end at or before t on a worker still employed means a continuation the export does not
  record (the snapshot reads it as 0 weeks): no known departure.

A worker with both gets the earlier day (on the same day, the notice: the worker's own word).
These are no forecasts and enter no model: the probabilities stay the model's, and the answers
show the known date beside them (``continuity.published.KNOWN_DEPARTURES``).
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd

from continuity.horizons import HORIZONS

NOTICE = "notice"  # the hr_events type, and the table's reason for it
CONTRACT_END = "contract_end"  # the table's reason for a temporary contract ending without renewal
LONGEST_HORIZON_WEEKS = max(HORIZONS)
COLUMNS = ["worker_id", "last_day", "reason"]

_NOTICES_SQL = """
select n.worker_id, max_by(n.end_date, n.event_date) as last_day
from hr_events n semi join _scored s on s.worker_id = n.worker_id
where n.event_type = $notice and n.event_date < $t
group by n.worker_id
having max_by(n.end_date, n.event_date) >= $t
"""


def notices(con: duckdb.DuckDBPyConnection, t: date, scored: pd.Series) -> pd.DataFrame:
    """worker_id, last_day of the scored workers' latest notice before t, where that day is t or later."""
    con.register("_scored", pd.DataFrame({"worker_id": scored}))
    try:
        found = con.execute(_NOTICES_SQL, {"t": t, "notice": NOTICE}).df()
    finally:
        con.unregister("_scored")
    return found.assign(reason=NOTICE)


def contract_ends(t: date, snapshot: pd.DataFrame) -> pd.DataFrame:
    """worker_id, last_day of the snapshot's temporary contracts ending after t and within the longest horizon."""
    weeks = snapshot.weeks_to_contract_end
    ending = snapshot[(snapshot.is_temporary == 1) & (weeks > 0) & (weeks <= LONGEST_HORIZON_WEEKS)]
    # The snapshot counts datediff('day', t, end) / 7: seven times it is the whole number of days again.
    days = (ending.weeks_to_contract_end * 7).round().astype(int)
    return pd.DataFrame({"worker_id": ending.worker_id.to_numpy(),
                         "last_day": [t + timedelta(days=int(d)) for d in days], "reason": CONTRACT_END})


def known_departures(con: duckdb.DuckDBPyConnection, t: date, snapshot: pd.DataFrame) -> pd.DataFrame:
    """One row per scored worker (``snapshot``, as ``snapshot_at`` gives it) with a known last day: worker_id,
    last_day, reason (``notice`` or ``contract_end``); the earlier day where both are known."""
    parts = (notices(con, t, snapshot.worker_id), contract_ends(t, snapshot))
    found = pd.concat([frame.astype({"last_day": "datetime64[ns]"}) for frame in parts], ignore_index=True)
    first = found.assign(notice_first=found.reason != NOTICE).sort_values(["worker_id", "last_day", "notice_first"])
    return first.drop_duplicates("worker_id")[COLUMNS].reset_index(drop=True)
