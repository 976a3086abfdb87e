"""Where a phone or online listing serves: a list of area codes (wards, boroughs, as loaded
into `areas`) or ["anywhere"]. Checked for form here; whether the codes exist is checked
where a database session is at hand (`assetmap.connector.remote.resolve_areas`)."""

from __future__ import annotations

import re

from assetmap.errors import ValidationError

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
