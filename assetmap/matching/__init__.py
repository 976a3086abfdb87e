"""Needs plus reach: ranked matches for one person, each with its why."""
