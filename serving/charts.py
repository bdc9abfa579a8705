"""The survival curve, and the sector page's hires and leavers per region over the years, as inline SVG drawn on
the server, so the page needs no JavaScript."""

from __future__ import annotations

from dataclasses import dataclass

WEEKS = 52


@dataclass(frozen=True)
class Plot:
    """A plot area in SVG units: survival 1 at the top, 0 at the bottom, week 0 to 52 left to right."""

    width: int = 520
    height: int = 200
    left: int = 40
    top: int = 10

    def x(self, week: float) -> float:
        return self.left + self.width * week / WEEKS

    def y(self, survival: float) -> float:
        return self.top + self.height * (1 - survival)

    def path(self, points: list[dict[str, float]]) -> str:
        """An SVG path 'M x,y L x,y ...' through the (week, survival) points; empty without points."""
        steps = [f"{self.x(p['week']):.1f},{self.y(p['survival']):.1f}" for p in points]
        return ("M" + " L".join(steps)) if steps else ""


SERIES = ("hires", "exits")
"""The flows a region's chart draws: hires and leavers of every reason, as ``sector_history`` and the inflow name
them."""


@dataclass(frozen=True)
class YearsPlot:
    """A plot area in SVG units for counts per year: one column per past year, then one per forecast horizon,
    left to right; 0 at the bottom, ``most`` (a whole number of ``step``) at the top."""

    columns: int
    step: int
    most: int
    width: int = 360
    height: int = 120
    left: int = 44
    top: int = 10

    def x(self, column: float) -> float:
        return self.left + self.width * (column + 0.5) / self.columns

    def y(self, count: float) -> float:
        return self.top + self.height * (1 - count / self.most)

    @property
    def ticks(self) -> range:
        return range(0, self.most + 1, self.step)


def years_chart(past: list[dict], forecast: list[dict]) -> dict:
    """What a region's chart draws: ``past`` (a dict per year, oldest first: year_end, year, hires, exits) as a line per
    series through its points, then ``forecast`` (a dict per horizon: years, and per series the expected count
    per year with its interval, or None) as points with their intervals; each with its SVG coordinates."""
    figures = [f[s] for f in forecast for s in SERIES if f[s]]
    highest = max([p[s] for p in past for s in SERIES] + [f["high"] for f in figures] + [1])
    step = _step(highest / 4)
    plot = YearsPlot(len(past) + len(forecast), step, step * -(-int(highest) // step))
    offset = {"hires": -4, "exits": 4}  # the two series' forecasts side by side, not on top of each other
    points = [{"series": s, "x": round(plot.x(i), 1), "y": round(plot.y(p[s]), 1), "year_end": p["year_end"],
               "year": p["year"], "count": p[s]} for i, p in enumerate(past) for s in SERIES]
    ahead = [{"series": s, "years": f["years"], "x": round(plot.x(len(past) + i) + offset[s], 1),
              **{f"y_{k}": round(plot.y(f[s][k]), 1) for k in ("expected", "low", "high")}, "figure": f[s]}
             for i, f in enumerate(forecast) for s in SERIES if f[s]]
    lines = {s: "M" + " L".join(f"{p['x']},{p['y']}" for p in points if p["series"] == s) if past else ""
             for s in SERIES}
    return {"plot": plot, "lines": lines, "past": points, "forecast": ahead}


def _step(value: float) -> int:
    """The least whole count of 1, 2 or 5 times a power of ten at or above ``value``: the axis' tick spacing, so that
    the highest figure sits under the fourth or fifth tick."""
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= value:
                return step * scale
        scale *= 10
