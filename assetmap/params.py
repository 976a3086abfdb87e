"""Checked whole-number parameters (minutes, pages, limits) for the API, pages and CLI."""

from __future__ import annotations

from .errors import ValidationError


def int_param(raw: object, name: str, *, default: int, low: int, high: int) -> int:
    """`raw` as a whole number in [low, high]; `default` when empty; ValidationError naming
    `name` otherwise."""
    text = "" if raw is None else str(raw).strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValidationError(name, f"{text!r} is not a whole number ({low}-{high})") from None
    if not low <= value <= high:
        raise ValidationError(name, f"{value} is outside {low}-{high}")
    return value
