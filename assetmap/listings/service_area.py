"""Where a phone or online listing serves: a list of area codes (wards, boroughs, as loaded
into `areas`) or ["anywhere"]. Checked for form here; whether the codes exist is checked
where a database session is at hand (`resolve_areas`)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from weakref import WeakKeyDictionary

import shapely
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from assetmap.errors import ValidationError
from assetmap.models import Area
from assetmap.models.changes import AREAS, Tokens, change_token, has_written

ANYWHERE = "anywhere"
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,39}$")


def parse_service_area(raw: object, field: str = "service_area") -> list[str] | None:
    """Codes from a list or text split on ';' or ','; "anywhere" alone means anywhere."""
    if raw is None:
        return None
    if isinstance(raw, str):
        parts = re.split(r"[;,]", raw)
    elif isinstance(raw, (list, tuple)):
        parts = [str(p) for p in raw]
    else:
        raise ValidationError(field, "give area codes separated by ';', or anywhere")
    codes = [p.strip() for p in parts if p.strip()]
    if not codes:
        return None
    if any(c.lower() == ANYWHERE for c in codes):
        if len(codes) > 1:
            raise ValidationError(field, "'anywhere' cannot be combined with areas")
        return [ANYWHERE]
    for code in codes:
        if not _CODE.match(code):
            raise ValidationError(field, f"{code[:40]!r} is not an area code")
    return list(dict.fromkeys(code.upper() for code in codes))


def serves(service_area: list[str] | None, origin_codes: set[str]) -> bool:
    """Whether a listing's area covers a point inside the areas `origin_codes`."""
    if not service_area:
        return False
    return service_area == [ANYWHERE] or bool(origin_codes & set(service_area))


REMOTE_MODES = ("phone", "online")


MODE_WORDS = {"phone": "by phone", "online": "online"}


def check_remote_area(mode: str | None, service_area: list[str] | None) -> None:
    """A phone or online listing is found by the area it serves, so it must say one."""
    if mode in REMOTE_MODES and not service_area:
        raise ValidationError("service_area", "say which wards or borough it serves, or "
                                              "anywhere, so it is found by phone or online")


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
    """Every area's name and shape, as held in memory: a search places its start in its
    areas and names the areas its phone and online listings serve, and a place's few
    hundred wards are read once, not searched in SQL search after search."""

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
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
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


def resolve_areas(session: Session, raw: object, field: str = "service_area"
                  ) -> list[str] | None:
    """Area codes from codes or names ("Kentish Town; Camden"), each checked to exist."""
    if isinstance(raw, str):
        parts = [p.strip() for p in raw.replace(",", ";").split(";") if p.strip()]
    elif isinstance(raw, (list, tuple)):
        parts = [str(p).strip() for p in raw if str(p).strip()]
    elif raw is None:
        return None
    else:
        raise ValidationError(field, "give area names or codes separated by ';', or anywhere")
    if not parts:
        return None
    if len(parts) == 1 and parts[0].lower() == ANYWHERE:
        return [ANYWHERE]
    known = {code.upper(): code for code, in session.execute(select(Area.code))}
    by_name = {name.lower(): code for code, name in session.execute(
        select(Area.code, Area.name))}
    codes = []
    for part in parts:
        code = known.get(part.upper()) or by_name.get(part.lower())
        if code is None:
            raise ValidationError(field, f"no ward or borough called {part[:60]!r}")
        codes.append(code)
    return parse_service_area(codes, field)


def area_words(service_area: list[str] | None, names: dict[str, str]) -> str:
    if not service_area:
        return "No area given"
    if service_area == [ANYWHERE]:
        return "Anywhere"
    return ", ".join(names.get(code, code) for code in service_area)
