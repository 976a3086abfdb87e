"""Checked parameters for the API, pages and CLI: whole numbers (minutes, pages, limits), ids
and date-times."""

from __future__ import annotations

from datetime import UTC, datetime

from assetmap.errors import ValidationError


def int_param(raw: object, name: str, *, default: int, low: int, high: int) -> int:
    """`raw` as a whole number in [low, high]; `default` when empty; ValidationError naming
    `name` otherwise."""
    text = "" if raw is None else str(raw).strip()
    if not text:
        return default
    try:
        value = int(text) if len(text) <= 40 else int("x")  # int() of 5000 digits is slow
    except ValueError:
        raise ValidationError(name, f"{text[:40]!r} is not a whole number ({low}-{high})"
                              ) from None
    return in_range(value, name, low, high)


def in_range(value: int, name: str, low: int, high: int) -> int:
    """`value` when in [low, high]; ValidationError naming `name` otherwise (the range rule for
    typed values too, so a service given an int says what a parameter would)."""
    if not low <= value <= high:
        raise ValidationError(name, f"{value} is outside {low}-{high}")
    return value


def list_param(raw: str | None) -> tuple[str, ...]:
    """A comma-separated parameter as its non-empty, stripped parts."""
    return tuple(p.strip() for p in (raw or "").split(",") if p.strip())


#: The largest id (or other whole number) every backend's `integer` column holds: PostgreSQL's
#: is 32-bit (SQLite's is 64-bit), so one range serves both.
ID_MAX = 2**31 - 1


def as_id(raw: object) -> int | None:
    """`raw` as a database id (1 to ID_MAX), or None when it is not one (for values that may
    be an id or a name)."""
    text = "" if raw is None or isinstance(raw, bool) else str(raw).strip()
    if not text or len(text) > len(str(ID_MAX)) or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if 1 <= value <= ID_MAX else None


def id_param(raw: object, name: str, *, what: str = "listing") -> int:
    """`raw` as a database id (1 to ID_MAX); ValidationError naming `name` otherwise, so an
    out-of-range number never reaches a query."""
    text = "" if raw is None else str(raw).strip()
    if not text:
        raise ValidationError(name, f"give the number of a {what}")
    value = as_id(text)
    if value is None:
        raise ValidationError(name, f"{text[:40]!r} is not the number of a {what}")
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
