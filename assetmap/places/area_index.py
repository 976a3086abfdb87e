"""The areas of the place served (wards, boroughs), held in memory per process: a search
places its start in them and names the areas phone and online listings serve, and a place's
few hundred areas are read once, not searched in SQL search after search. Every write to
`areas` replaces their change token (migration 0019, `assetmap.models.changes`), so the next
reader sees it."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from weakref import WeakKeyDictionary

import shapely
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from assetmap.db import engine_of
from assetmap.models import Area
from assetmap.models.changes import AREAS, Tokens, change_token, has_written

#: A service area that is everywhere: a phone or online listing open to anyone.
ANYWHERE = "anywhere"


def serves(service_area: list[str] | None, origin_codes: Iterable[str]) -> bool:
    """Whether a listing's service area (area codes, or ["anywhere"]) covers a point inside
    the areas `origin_codes`."""
    if not service_area:
        return False
    return service_area == [ANYWHERE] or not set(service_area).isdisjoint(origin_codes)


def origin_areas(session: Session, lat: float, lon: float,
                 tokens: Tokens | None = None) -> dict[str, str]:
    """{code: name} of every area (ward, borough) the point lies in."""
    return held_areas(session, tokens).containing(lat, lon)


def area_names(session: Session, codes: Iterable[str],
               tokens: Tokens | None = None) -> dict[str, str]:
    """{code: name} of the areas with these codes (unknown codes and "anywhere" left out)."""
    names = held_areas(session, tokens).names
    return {code: names[code] for code in codes if code in names}


@dataclass(frozen=True)
class AreaIndex:
    """Every area's name and shape, as held in memory."""

    token: int | None  # the areas' change token it was read at
    names: dict[str, str]  # code -> name
    codes: tuple[str, ...]  # the code of each shape in the tree
    tree: shapely.STRtree

    def containing(self, lat: float, lon: float) -> dict[str, str]:
        """{code: name} of the areas containing the point (not on their edge: as
        `ST_Contains`)."""
        inside = self.tree.query(shapely.Point(lon, lat), predicate="within")
        return {self.codes[i]: self.names[self.codes[i]] for i in sorted(inside.tolist())}


_HELD: WeakKeyDictionary[Engine, AreaIndex] = WeakKeyDictionary()
_HELD_LOCK = threading.Lock()


def held_areas(session: Session, tokens: Tokens | None = None) -> AreaIndex:
    """The areas as this session sees them now; `tokens`, when the caller has read them,
    hold the areas' change token (`assetmap.models.changes`)."""
    engine = engine_of(session)
    token = change_token(session, AREAS) if tokens is None else tokens[AREAS]
    with _HELD_LOCK:
        held = _HELD.get(engine)
    if held is not None and token is not None and held.token == token:
        return held
    rows = session.execute(select(Area.code, Area.name, func.ST_AsBinary(Area.geom))).all()
    index = AreaIndex(token, {code: name for code, name, _shape in rows},
                      tuple(code for code, _name, _shape in rows),
                      shapely.STRtree(shapely.from_wkb([bytes(shape) for *_x, shape in rows])))
    if not has_written(session):
        with _HELD_LOCK:
            _HELD[engine] = index
    return index
