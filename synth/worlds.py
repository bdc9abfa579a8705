"""The worlds the synthetic sector can be drawn from: which hazard model decides voluntary leaving.

`proportional` (the default) is `hazard.voluntary_ratio`, one fixed hazard ratio per driver;
`interactions` is `interactions.voluntary_ratio`, the same drivers with effects that change
with tenure, interact, bend and wear off. Each world has its own baseline, calibrated so that
both reach the same yearly leaving; everything else about the sector is drawn the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import hazard, interactions


@dataclass(frozen=True)
class World:
    name: str
    baseline_weekly: float  # the reference worker's weekly probability of leaving voluntarily
    ratio: Callable[[hazard.Drivers], np.ndarray]  # the combined hazard ratio against that worker

    def voluntary_hazard(self, d: hazard.Drivers) -> np.ndarray:
        """Weekly probability of voluntary leaving for an average-frailty worker: the oracle's hazard."""
        return self.baseline_weekly * self.ratio(d)


WORLDS: dict[str, World] = {
    "proportional": World("proportional", hazard.BASELINE_VOLUNTARY_WEEKLY, hazard.voluntary_ratio),
    "interactions": World("interactions", interactions.BASELINE_VOLUNTARY_WEEKLY, interactions.voluntary_ratio),
}
DEFAULT_WORLD = "proportional"
