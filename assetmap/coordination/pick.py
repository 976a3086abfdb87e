"""Finding a listing by what people know of it (its name, its venue, a postcode), so no
coordinator has to know a listing's number."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from assetmap.errors import ValidationError
from assetmap.models import Activity, Venue

MAX_QUERY = 200


@dataclass(frozen=True)
class Found:
    activity_id: int
    name: str
    venue: str | None
    postcode: str | None
    status: str
    contact_email: str | None

    @property
    def where(self) -> str:
        return ", ".join(p for p in (self.venue, self.postcode) if p) or "no venue"


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def search(session: Session, text: str, *, limit: int = 20) -> list[Found]:
    """Listings whose name, venue name or postcode contain every word typed (any case),
    live ones first, then by name."""
    text = " ".join((text or "").split())
    if not text:
        raise ValidationError("q", "Type part of the listing's name or its venue")
    if len(text) > MAX_QUERY:
        raise ValidationError("q", f"Type at most {MAX_QUERY} characters")
    stmt = (select(Activity.id, Activity.name, Venue.name, Venue.postcode, Activity.status,
                   Activity.contact_email)
            .outerjoin(Venue, Venue.id == Activity.venue_id))
    for word in text.split()[:8]:
        pattern = _like(word)
        stmt = stmt.where(or_(func.lower(Activity.name).like(pattern, escape="\\"),
                              func.lower(Venue.name).like(pattern, escape="\\"),
                              func.lower(Venue.postcode).like(pattern, escape="\\")))
    live_first = (Activity.status != "active")
    rows = session.execute(stmt.order_by(live_first, func.lower(Activity.name), Activity.id)
                           .limit(limit))
    return [Found(*row) for row in rows]
