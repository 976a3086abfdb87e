"""Taking newcomers: open, a few places, full or a waiting list, with who said so and when.

A group that is full is the commonest reason a referral fails, and the answer goes stale fast,
so the listing keeps who gave it (an organiser, a connector, a coordinator, a feed) and when,
and every place that shows it says both: "Full — organiser, 2 weeks ago".
"""

from __future__ import annotations

from datetime import datetime

from assetmap.errors import ValidationError
from assetmap.values import ago

INTAKE_LABELS: dict[str, str] = {
    "open": "Open to newcomers",
    "few-places": "A few places left",
    "full": "Full",
    "waiting-list": "Waiting list",
}
INTAKE_IDS = tuple(INTAKE_LABELS)
#: The values the "taking newcomers" filter keeps out. Not said is kept: most listings never
#: say, and hiding them all would hide most of the map.
NOT_TAKING = frozenset({"full", "waiting-list"})
#: Rank points: open groups a little up, full ones well down (below an open one just as far).
INTAKE_POINTS: dict[str | None, float] = {"open": 6, "few-places": 3, None: 0,
                                          "waiting-list": -20, "full": -30}
BEST_INTAKE_POINTS = max(INTAKE_POINTS.values())


def takes_newcomers(intake: str | None) -> bool:
    """Whether the "taking newcomers" filter keeps a listing (see `NOT_TAKING`)."""
    return intake not in NOT_TAKING

#: Words for who said so, by the kind of person or system.
ROLE_WORDS = {"organiser": "organiser", "connector": "connector",
              "coordinator": "coordinator", "admin": "coordinator"}


def parse_intake(raw: object, field: str = "intake") -> str | None:
    """An intake value from a form, file or feed ('' or None: not said)."""
    if raw is None:
        return None
    text = str(raw).strip().lower().replace(" ", "-").replace("_", "-")
    if not text:
        return None
    by_label = {label.lower().replace(" ", "-"): key for key, label in INTAKE_LABELS.items()}
    value = by_label.get(text, text)
    if value not in INTAKE_LABELS:
        raise ValidationError(field, f"unknown value {raw!r}", allowed=list(INTAKE_IDS))
    return value


def from_capacity(remaining: object) -> str | None:
    """A feed's remaining places (OpenActive remainingAttendeeCapacity, ORUK
    service_capacity) as an intake value; anything that is not a count says nothing."""
    if isinstance(remaining, bool) or not isinstance(remaining, (int, float, str)):
        return None
    try:
        places = int(float(remaining))
    except ValueError:
        return None
    if places < 0:
        return None
    if places == 0:
        return "full"
    return "few-places" if places <= 3 else "open"


def intake_words(intake: str | None, by: str | None, at: datetime | None,
                 now: datetime) -> str | None:
    """ "Full — organiser, 2 weeks ago" (None when nobody said)."""
    if intake not in INTAKE_LABELS:
        return None
    said = ", ".join(part for part in (by, ago(at, now) if at else None) if part)
    return INTAKE_LABELS[intake] + (f" — {said}" if said else "")


def intake_dict(intake: str | None, by: str | None, at: datetime | None,
                now: datetime) -> dict | None:
    """The intake as the API and pages show it."""
    if intake not in INTAKE_LABELS:
        return None
    return {"value": intake, "label": INTAKE_LABELS[intake], "by": by,
            "at": at.isoformat() if at else None,
            "taking_newcomers": takes_newcomers(intake),
            "words": intake_words(intake, by, at, now)}
