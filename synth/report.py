"""What `continuity synth` tells a person about the sector it wrote: where, how big, how much
outflow it reached, to set against the figures the sector was built to match (docs/evidence.md#outflow),
and the households, placements and notices its clients and workers have."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from .generate import SectorSummary

RATES = {
    "organisation_leaving_rate": "leaving an employer",
    "sector_outflow_rate": "leaving the sector",
    "move_rate": "moving to another employer of the sector",
    "transfer_rate": "of which teams passing to a tender's winner",
}


def print_sector(console: Console, summary: SectorSummary) -> None:
    console.print(f"Synthetic sector written to {summary.out_dir}: {summary.workers:,} positions in "
                  f"{summary.organisations} organisations and {summary.teams} teams, weekly from "
                  f"{summary.start} to {summary.export_date} (seed {summary.seed}, world {summary.world})")
    sizes = Table("export table", "rows", title="Export files")
    sizes.columns[1].justify = "right"
    for name, rows in summary.rows.items():
        sizes.add_row(name, f"{rows:,}")
    console.print(sizes)

    outflow = Table("outflow", "per worker-year", title="Outflow reached")
    outflow.columns[1].justify = "right"
    for key, label in RATES.items():
        outflow.add_row(label, f"{getattr(summary, key):.1%}")
    for reason, rate in summary.exit_rates.items():
        outflow.add_row(f"exits: {reason.replace('_', ' ')}", f"{rate:.1%}")
    console.print(outflow)
    console.print(f"Voluntary share of exits: {summary.voluntary_share:.0%}; "
                  f"share of worker-weeks on sick leave: {summary.sick_leave_share:.1%}")
    console.print(f"Clients in households of more than one: {summary.clients_in_multi_member_households:.0%}; "
                  f"placements out of home per year: {summary.placements_per_year:,.0f} "
                  f"(of which re-placements {summary.replacements_per_year:,.0f}), youth clients ever placed: "
                  f"{summary.youth_clients_placed:.0%}; notices per year: {summary.notices_per_year:,.0f}, "
                  f"pending at the export: {summary.notices_pending_at_export}")
