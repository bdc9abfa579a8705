"""The survival curve as an inline SVG path, drawn on the server so the page needs no JavaScript."""

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
