"""The synthetic Dutch social-work sector: export files in the data-contract format plus oracle hazards."""

from .generate import SectorSummary, generate_sector

__all__ = ["SectorSummary", "generate_sector"]
