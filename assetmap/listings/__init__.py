"""Listings and venues: changes with history, checks, import/export, queries."""
