"""Checked parameters for the API, pages and CLI: whole numbers (minutes, pages, limits) and
date-times."""

from __future__ import annotations

from datetime import UTC, datetime

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


def datetime_param(raw: str, name: str, *, example: str) -> datetime:
    """`raw` as an ISO date or date-time, in UTC unless it says otherwise (a trailing Z
    too); ValidationError naming `name`, with `example`, otherwise."""
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(name, f"{raw!r} is not a {example}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def flag_param(raw: object, name: str) -> bool:
    """A 1/0 flag (yes/no and true/false too); anything else names the parameter."""
    value = str(raw or "0").strip().lower()
    if value not in ("0", "1", "true", "false", "yes", "no"):
        raise ValidationError(name, f"{value!r} is not 1 or 0", allowed=["1", "0"])
    return value in ("1", "true", "yes")
