"""Gridbase package."""
