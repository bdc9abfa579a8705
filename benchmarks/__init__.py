"""Benchmarks that print figures (``continuity bench ...``): model quality next to the oracle, and API load."""
