"""Turns published scores into handover plans and aggregate forecasts."""
