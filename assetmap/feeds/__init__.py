"""Feeds in: one run of a source, and merging its records into listings."""
