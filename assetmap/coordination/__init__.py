"""Coordinators' work on many listings at once: queue actions and the weekly digest."""
