"""One home for each value a person or a file gives us: text, names, e-mail addresses, web
addresses, phone numbers and costs (read, and written back), plus the small rules every module
shares (time in words, many ids at a time).

Every way in (the web forms and request parameters, the JSON API, suggestions, the
organiser's form, quick edit, `assetmap import`) calls these, so a value refused by one is
refused by all, and what is stored can always be written out again (PostgreSQL text cannot
hold a NUL byte; a `mailto:` link must not carry `?bcc=`; a link must not run script).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit

from assetmap.errors import GeocodeError, ValidationError

# C0 controls but tab and line breaks, DEL, C1 controls, and the Unicode line and paragraph
# separators (which some clients treat as line breaks).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# The local part may hold what mail systems accept, but nothing a `mailto:` link reads as
# more than one address or as headers (? & % , ; :) and no quotes or brackets; the domain is
# dot-separated labels ending in a name of two or more letters.
EMAIL_PATTERN = re.compile(
    r"[^\s@?&%,;:\"\\()\[\]]+@[\w](?:[\w-]*[\w])?(?:\.[\w](?:[\w-]*[\w])?)*\.[^\W\d_]{2,}")
_PHONE = re.compile(r"\+?[0-9][0-9 ()\-.]{4,28}[0-9]")
_URL_UNSAFE = re.compile(r"[\s\\]")  # a backslash is a slash to browsers: no host tricks


def strip_controls(value: str) -> str:
    """`value` without control characters; CR LF and lone CR become LF, tabs stay."""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")
                        .replace("\u2028", "\n").replace("\u2029", "\n"))


def clean_text(value: str, *, multiline: bool = False) -> str:
    """Control characters dropped; a one-line field has its line breaks and runs of spaces
    folded into single spaces, a multi-line field keeps its lines (trailing spaces trimmed)."""
    value = strip_controls(value)
    if multiline:
        return "\n".join(line.rstrip() for line in value.strip().split("\n"))
    return " ".join(value.split())


def bounded(value: str, field: str, *, limit: int, multiline: bool = False) -> str:
    """Cleaned text of at most `limit` characters (the column's length: PostgreSQL refuses
    more, SQLite would keep it)."""
    text = clean_text(value, multiline=multiline)
    if len(text) > limit:
        raise ValidationError(field, f"is {len(text)} characters long; the most is {limit}")
    return text


def one_line(value: str, field: str, *, limit: int = 200) -> str:
    """A name or label: one line (line breaks folded into spaces), at most `limit` characters."""
    return bounded(value, field, limit=limit)


def email(value: str, field: str = "email") -> str:
    """An e-mail address that is safe in a `mailto:` link: nothing after it (`?bcc=`, a second
    address), no spaces."""
    text = value.strip()
    if len(text) > 320 or not EMAIL_PATTERN.fullmatch(text):
        raise ValidationError(field, "is not an e-mail address like name@example.org")
    return text


def url(value: str, field: str = "url") -> str:
    """A web page address: http or https with a host ('www.example.org' gains https://);
    never `javascript:`, `data:` or anything else a browser would run or open locally."""
    text = value.strip()
    if "://" not in text:
        text = "https://" + text  # so 'javascript:x' is read as a (bad) host, not a scheme
    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if (not port_ok or parts.scheme.lower() not in ("http", "https")
            or len(text) > 500 or not parts.hostname or "." not in parts.hostname
            or "@" in parts.netloc
            or _URL_UNSAFE.search(text)):
        raise ValidationError(field, "must be a web address starting https://, like "
                                     "https://example.org")
    return text


def phone(value: str, field: str = "phone") -> str:
    """A phone number as people write it: digits, spaces, brackets, dashes, a leading +."""
    text = value.strip()
    if not _PHONE.fullmatch(text):
        raise ValidationError(field, "write just the number, e.g. 020 7974 4444")
    return text


#: Cell starts a spreadsheet program reads as a formula (OWASP's list), and the quote that
#: marks a guarded cell, so a value that itself starts with a quote round-trips too.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def spreadsheet_cell(value: object) -> object:
    """A value for a CSV cell: text a spreadsheet would run as a formula gets a leading quote
    (which `from_spreadsheet_cell` removes again)."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def from_spreadsheet_cell(cell: str) -> str:
    """Undo `spreadsheet_cell`: the value as it was before export."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] in FORMULA_STARTS else cell


def span(days: int) -> str:
    """'1 day', '5 days', '3 weeks', '14 months', '2 years'."""
    if days == 1:
        return "1 day"
    if days < 14:
        return f"{days} days"
    if days < 61:
        return f"{days // 7} weeks"
    if days < 730:
        return f"{round(days / 30.44)} months"
    return f"{days // 365} years"


def size_words(limit_bytes: int | None) -> str:
    """'2.1 MB', '20 KB': a size limit as people read it (decimal units, as file managers)."""
    if not limit_bytes:
        return "the server's limit"
    if limit_bytes >= 1_000_000:
        return f"{limit_bytes / 1_000_000:.1f} MB"
    return f"{limit_bytes // 1000} KB"


def ago(then: datetime, now: datetime) -> str:
    """'today', 'yesterday', '3 days ago', '3 weeks ago', '14 months ago', '2 years ago'."""
    days = max(0, (now - then).days)
    if days == 0:
        return "today"
    if days == 1:
        return "yesterday"
    return f"{span(days)} ago"


T = TypeVar("T")

# -- cost ------------------------------------------------------------------------------------

COST_TEXT_MAX = 200
_UNKNOWN_COST_WORDS = frozenset({"unknown", "not sure", "don't know", "ask"})
_FREE_WORDS = frozenset({"free", "0", "£0", "0.00", "£0.00"})
_SMALL_FEE_WORDS = frozenset({"small fee", "small-fee", "donation", "small donation"})
_SMALL_FEE_WITH = re.compile(r"small[ -]fee\s*\((.+)\)", re.IGNORECASE)
_AMOUNT = re.compile(r"£?\s*(\d{1,5}(?:\.\d{1,2})?)")
COST_HINT = "write 'free', an amount like '£3.50', 'small fee' or 'small fee (details)'"


def unknown_cost() -> dict[str, Any]:
    """The cost fields of a listing whose cost nobody has said."""
    return {"cost_kind": "unknown", "cost_amount": None, "cost_text": None}


def parse_cost(text: str | None, *, field: str = "cost") -> dict[str, Any]:
    """A cost as people write it ('free', '£3.50', 'small fee (donation welcome)', blank or
    'not sure') as the listing's cost fields; the amount as a string of pounds and pence."""
    raw = (text or "").strip()
    lowered = raw.lower()
    if not raw or lowered in _UNKNOWN_COST_WORDS:
        return unknown_cost()
    if lowered in _FREE_WORDS:
        return {"cost_kind": "free", "cost_amount": None, "cost_text": None}
    if lowered in _SMALL_FEE_WORDS:
        return {"cost_kind": "small-fee", "cost_amount": None, "cost_text": None}
    match = _SMALL_FEE_WITH.fullmatch(raw)
    if match:
        details = match.group(1).strip()
        if len(details) > COST_TEXT_MAX:
            raise ValidationError(field, f"keep the details under {COST_TEXT_MAX} characters")
        return {"cost_kind": "small-fee", "cost_amount": None, "cost_text": details}
    match = _AMOUNT.fullmatch(lowered)
    if match:
        amount = Decimal(match.group(1))
        if amount == 0:
            return {"cost_kind": "free", "cost_amount": None, "cost_text": None}
        return {"cost_kind": "amount", "cost_amount": str(amount.quantize(Decimal("0.01"))),
                "cost_text": None}
    raise ValidationError(field, COST_HINT)


def cost_as_typed(listing: Mapping[str, Any] | Any) -> str:
    """The cost of a listing (its cost fields as a mapping, or the listing itself) as a person
    would type it, which `parse_cost` reads back unchanged ('' when nobody has said)."""
    get = listing.get if isinstance(listing, Mapping) else lambda key: getattr(listing, key)
    kind, amount, text = get("cost_kind"), get("cost_amount"), get("cost_text")
    if kind == "free":
        return "free"
    if kind == "amount" and amount is not None:
        return f"£{amount}"
    if kind == "small-fee":
        return f"small fee ({text})" if text else "small fee"
    return ""


def cost_in_words(cost: Mapping[str, Any]) -> str:
    """A listing's published cost (`kind`, `amount`, `text`, as the API gives it) for someone
    deciding whether to go: 'Free', '£3', 'A small fee (…)', 'Ask the organiser'."""
    kind, amount, text = cost.get("kind"), cost.get("amount"), cost.get("text")
    if kind == "free":
        return "Free"
    if kind == "amount" and amount:
        pounds = float(amount)
        return f"£{pounds:.0f}" if pounds == int(pounds) else f"£{pounds:.2f}"
    if kind == "small-fee":
        return "A small fee" + (f" ({text})" if text else "")
    return "Ask the organiser"


# -- postcodes ---------------------------------------------------------------------------------

# The UK format (outward code + inward code), per the Royal Mail/ONS rules; GIR 0AA is real.
#: Pattern text for the two halves, for callers that build on them (bulk imports, privacy).
OUTWARD_CODE = r"(?:[A-Z]{1,2}[0-9][A-Z0-9]?|GIR)"
INWARD_CODE = r"[0-9][A-Z]{2}"
_FULL_POSTCODE = re.compile(rf"({OUTWARD_CODE})\s*({INWARD_CODE})", re.IGNORECASE)
_OUTWARD_CODE = re.compile(OUTWARD_CODE, re.IGNORECASE)
_POSTCODE_IN_TEXT = re.compile(rf"\b({OUTWARD_CODE})\s*({INWARD_CODE})\b", re.IGNORECASE)


def full_postcode(text: str | None) -> str | None:
    """A full UK postcode written any way ('nw12db') as 'NW1 2DB', or None if it is not one."""
    match = _FULL_POSTCODE.fullmatch((text or "").strip())
    return f"{match.group(1)} {match.group(2)}".upper() if match else None


def normalise_postcode(raw: str | None, *, field: str = "postcode") -> str:
    """A full postcode ('NW1 2DB') or an outward code alone ('NW1'); GeocodeError naming
    `field` for anything else."""
    compact = re.sub(r"\s+", "", (raw or "").upper())
    if not compact:
        raise GeocodeError(field, "postcode is empty")
    full = full_postcode(compact)
    if full:
        return full
    if _OUTWARD_CODE.fullmatch(compact):
        return compact
    raise GeocodeError(field, f"{(raw or '').strip()!r} is not a UK postcode (e.g. NW1 2DB)")


def find_postcode(text: str | None) -> str | None:
    """The last full UK postcode in free text (addresses end with it), as 'NW1 2DB'."""
    found = _POSTCODE_IN_TEXT.findall(text or "")
    return f"{found[-1][0]} {found[-1][1]}".upper() if found else None


def without_postcode(text: str | None) -> str:
    """Free text with any UK postcode taken out (it is kept in its own field)."""
    return _POSTCODE_IN_TEXT.sub("", text or "").strip(" ,")


# -- many at a time --------------------------------------------------------------------------

#: Ids per IN list: far below SQLite's 32,766 bound parameters and PostgreSQL's 65,535.
CHUNK = 5000


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """`items` in consecutive slices of at most `size` (for IN lists and batched writes)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]
