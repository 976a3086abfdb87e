"""Which areas a person's pages start with: their own areas, everything for admins."""

from __future__ import annotations

from sqlalchemy.orm import Session

from assetmap.models import User
from assetmap.places.status import place_bounds

# The roles whose maps open on the areas they look after; an administrator sees every area.
MAP_ON_OWN_AREAS = frozenset({"coordinator", "connector"})


def my_default_area(user: User | object, asked: str | None) -> int | None:
    """The area a coordinator's freshness queue opens on when they asked for none: their
    first area by name. Admins, people without areas, or an explicit choice get None."""
    if asked is not None:
        return None
    if not isinstance(user, User) or user.role != "coordinator" or not user.areas:
        return None
    return sorted(user.areas, key=lambda a: a.name)[0].id


def my_areas(user: User | object) -> list:
    """A coordinator's areas by name; [] (meaning all) for admins and everyone else."""
    if not isinstance(user, User) or user.role != "coordinator":
        return []
    return sorted(user.areas, key=lambda a: a.name)


def map_bounds(session: Session, user: User | object,
               ) -> tuple[float, float, float, float] | None:
    """The box every map opens on (min_lon, min_lat, max_lon, max_lat): a signed-in
    coordinator's or connector's own live areas, so they start where they work; otherwise
    (the public, administrators, people without areas or whose areas were all retired) the
    deployment's whole place. None when the place has no areas at all."""
    if isinstance(user, User) and user.role in MAP_ON_OWN_AREAS and user.areas:
        mine = place_bounds(session, [area.id for area in user.areas])
        if mine is not None:
            return mine
    return place_bounds(session)
