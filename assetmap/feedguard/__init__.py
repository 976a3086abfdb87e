"""Keeping feeds from wedging a source: locks that die with the process that holds them."""
