"""Deterministic demo extracts and the demo load."""
