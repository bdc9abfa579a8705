"""continuity: forecasts social-worker turnover and its cost to clients."""
