"""Suitability from people who know: what the venue has, and what connectors found.

A need such as "step-free access" is met by the listing's own tag or by its venue's recorded
accessibility (step-free, accessible toilet, hearing loop, wheelchair). Connectors' answers
when they record a visit are counted on the listing: "welcoming to newcomers? yes" more than
once raises its rank (and the "why" says so); "accessible as listed? no" more than once puts
it in the coordinators' review queue.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from assetmap.listings.changes import Actor
from assetmap.models import Activity, ReviewItem, Venue

VENUE_NEEDS: dict[str, ColumnElement[bool]] = {
    "step-free": Venue.step_free.is_(True),
    "accessible-toilet": Venue.accessible_toilet.is_(True),
    "hearing-loop": Venue.hearing_loop.is_(True),
    "wheelchair-accessible": Venue.wheelchair == "yes",
}
REPEATS = 2  # "repeated": at least this many answers
WELCOMING_POINTS = 8
NOT_ACCESSIBLE_KIND = "not-accessible"


def welcoming_points(welcoming_yes: int | None) -> float:
    return WELCOMING_POINTS if (welcoming_yes or 0) >= REPEATS else 0


def welcoming_words(welcoming_yes: int | None) -> str | None:
    if (welcoming_yes or 0) < REPEATS:
        return None
    return f"connectors found it welcoming to newcomers ({welcoming_yes} visits)"


def count_answers(session: Session, activity: Activity, judgement: Mapping[str, str],
                  actor: Actor) -> ReviewItem | None:
    """Count a visit's answers on the listing; a repeated "not accessible as listed" opens a
    review item for coordinators (one at a time). Returns the item when one was opened."""
    if judgement.get("welcoming") == "yes":
        activity.welcoming_yes = (activity.welcoming_yes or 0) + 1
    if judgement.get("accessible") != "no":
        return None
    activity.accessible_no = (activity.accessible_no or 0) + 1
    if activity.accessible_no < REPEATS:
        return None
    item = session.scalar(select(ReviewItem).where(
        ReviewItem.activity_id == activity.id, ReviewItem.kind == NOT_ACCESSIBLE_KIND,
        ReviewItem.status == "open"))
    if item is not None:
        item.payload = {**item.payload, "answers": activity.accessible_no}
        return None
    item = ReviewItem(kind=NOT_ACCESSIBLE_KIND, activity_id=activity.id,
                      payload={"answers": activity.accessible_no},
                      raised_by=actor.label, raised_by_user_id=actor.user_id)
    session.add(item)
    return item
