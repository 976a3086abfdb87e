"""Which area a person's pages start with: a coordinator's own areas, everything for admins."""

from __future__ import annotations

from assetmap.models import User


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
