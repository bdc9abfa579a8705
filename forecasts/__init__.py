"""Forecasts for sector bodies: aggregates with intervals and small-cell suppression, and scenarios, from the published week."""
