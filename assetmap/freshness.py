"""How fresh a listing is: the rules, in one place.

A listing is as fresh as its last human verification (a visit, a phone call, an organiser's
confirmation, an assured record from a directory). Each category has an expected re-check
interval; past it the listing is stale, past twice it very stale. A feed merely still listing
an activity does not make it fresh. Never verified: unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_INTERVAL = timedelta(days=182)  # about six months for regular groups
DUE_SOON_WINDOW = timedelta(days=30)
STATES: tuple[str, ...] = ("fresh", "due-soon", "stale", "very-stale", "possibly-closed",
                           "unknown")
STATE_LABELS = {
    "fresh": "Fresh", "due-soon": "Due a check soon", "stale": "Stale",
    "very-stale": "Very stale", "possibly-closed": "Possibly closed",
    "unknown": "Never checked",
}
METHOD_WORDS = {
    "source-seen": "seen in a feed",
    "source-assured": "assured by the directory that publishes it",
    "connector-visited": "on a connector visit",
    "phoned": "by phone",
    "organiser-confirmed": "confirmed by the organiser",
    "client-attended": "a client went",
    "coordinator-checked": "checked by a coordinator",
    "community-suggested": "suggested by the community, approved by a coordinator",
    "imported": "from a coordinator's list",
}


@dataclass(frozen=True)
class Freshness:
    state: str
    last_verified_at: datetime | None
    method: str | None
    due_at: datetime | None
    words: str

    @property
    def is_stale(self) -> bool:
        return self.state in ("stale", "very-stale", "possibly-closed", "unknown")

    def to_dict(self) -> dict:
        return {
            "state": self.state,
            "label": STATE_LABELS[self.state],
            "last_verified_at": self.last_verified_at.isoformat() if self.last_verified_at
            else None,
            "last_verified_method": self.method,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "words": self.words,
        }


def ago(then: datetime, now: datetime) -> str:
    """'today', '3 days ago', '3 weeks ago', '14 months ago', '2 years ago'."""
    days = max(0, (now - then).days)
    if days == 0:
        return "today"
    if days == 1:
        return "yesterday"
    if days < 14:
        return f"{days} days ago"
    if days < 61:
        return f"{days // 7} weeks ago"
    if days < 730:
        return f"{round(days / 30.44)} months ago"
    return f"{days // 365} years ago"


def assess(last_verified_at: datetime | None, method: str | None, now: datetime, *,
           interval: timedelta = DEFAULT_INTERVAL, possibly_closed: bool = False) -> Freshness:
    if last_verified_at is None:
        state = "possibly-closed" if possibly_closed else "unknown"
        return Freshness(state, None, None, None, "never checked")
    due_at = last_verified_at + interval
    age = now - last_verified_at
    if possibly_closed:
        state = "possibly-closed"
    elif age > 2 * interval:
        state = "very-stale"
    elif age > interval:
        state = "stale"
    elif now >= due_at - DUE_SOON_WINDOW:
        state = "due-soon"
    else:
        state = "fresh"
    how = METHOD_WORDS.get(method or "", method or "")
    when = ago(last_verified_at, now)
    words = f"checked {when}" + (f", {how}" if how else "")
    if state in ("stale", "very-stale"):
        words = f"not checked for {when.removesuffix(' ago')}" + (f" (last {how})" if how else "")
    return Freshness(state, last_verified_at, method, due_at, words)
