"""One home for each value a person or a file gives us: text, names, e-mail addresses, web
addresses and phone numbers.

Every way in (the web forms and request parameters, the JSON API, suggestions, the
organiser's form, quick edit, `assetmap import`) calls these, so a value refused by one is
refused by all, and what is stored can always be written out again (PostgreSQL text cannot
hold a NUL byte; a `mailto:` link must not carry `?bcc=`; a link must not run script).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from assetmap.errors import ValidationError

# C0 controls but tab and line breaks, DEL, C1 controls, and the Unicode line and paragraph
# separators (which some clients treat as line breaks).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# The local part may hold what mail systems accept, but nothing a `mailto:` link reads as
# more than one address or as headers (? & % , ; :) and no quotes or brackets; the domain is
# dot-separated labels ending in a name of two or more letters.
_EMAIL = re.compile(
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
    if len(text) > 320 or not _EMAIL.fullmatch(text):
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
