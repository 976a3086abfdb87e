"""Where a phone or online listing serves: a list of area codes (wards, boroughs, as loaded
into `areas`) or ["anywhere"]. Checked for form here; whether the codes exist is checked
where a database session is at hand (`resolve_areas`)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from assetmap.errors import ValidationError
from assetmap.models import Area
from assetmap.places.area_index import ANYWHERE

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


REMOTE_MODES = ("phone", "online")


MODE_WORDS = {"phone": "by phone", "online": "online"}


def check_remote_area(mode: str | None, service_area: list[str] | None) -> None:
    """A phone or online listing is found by the area it serves, so it must say one."""
    if mode in REMOTE_MODES and not service_area:
        raise ValidationError("service_area", "say which wards or borough it serves, or "
                                              "anywhere, so it is found by phone or online")


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
