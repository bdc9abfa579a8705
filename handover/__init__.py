"""Handover plans for managers: a successor for each client of a leaving worker, from the published week."""
