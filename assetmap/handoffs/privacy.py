"""Free text in the hand-off flows is checked for things that identify a client.

Names cannot be recognised reliably, so the forms ask people not to type them and the check
catches what it can: postcodes, phone numbers, e-mail addresses, dates of birth and a title
followed by a name ("Mrs Adebayo"). Text holding any of them is refused, never stored: the
form comes back with those parts taken out and a plain message, and the connector decides
what to send. The refused text is not logged either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial

from assetmap.errors import ValidationError
from assetmap.values import EMAIL_PATTERN, INWARD_CODE, OUTWARD_CODE, clean_text

# A full or partial UK postcode: "NW1 2DB", "nw12db", and an outward code on its own ("NW1").
_POSTCODE = re.compile(rf"\b(?:{OUTWARD_CODE}\s*{INWARD_CODE}|{OUTWARD_CODE})\b", re.IGNORECASE)
# Seven or more digits, allowing the spaces, dots, dashes and brackets people type in numbers.
_PHONE = re.compile(r"(?:\+|\b)\d(?:[\s().\-]*\d){6,}\b")
_EMAIL = EMAIL_PATTERN  # the one e-mail rule, searched for in free text
_DATE = re.compile(r"\b\d{1,2}\s*[/.\-]\s*\d{1,2}\s*[/.\-]\s*\d{2,4}\b")
_TITLED_NAME = re.compile(
    r"\b(?:mr|mrs|ms|miss|mx|dr|sir|dame|madam|mister)\b\.?\s+[A-Za-z][\w'\-]*",
    re.IGNORECASE)
# Words that look like an outward code but are ordinary in a message to a group.
_NOT_POSTCODES = frozenset({"A1", "B1", "M1"})

KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an e-mail address", _EMAIL),
    ("a date of birth or other date", _DATE),
    ("a phone number", _PHONE),
    ("a postcode", _POSTCODE),
    ("a name after a title (Mr, Mrs, Ms...)", _TITLED_NAME),
)


@dataclass(frozen=True)
class Checked:
    text: str
    found: tuple[str, ...]  # what was taken out, in words ("a postcode", ...)


def strip_identifiers(raw: str | None, *, multiline: bool = True) -> Checked:
    """The text with anything that looks like a client identifier taken out."""
    text = clean_text(str(raw or ""), multiline=multiline)
    found: list[str] = []
    for words, pattern in KINDS:
        text = pattern.sub(partial(_cut, words=words, pattern=pattern, found=found), text)
    return Checked(text, tuple(found))


def _cut(match: re.Match[str], words: str, pattern: re.Pattern[str], found: list[str]) -> str:
    if pattern is _POSTCODE and match.group(0).upper() in _NOT_POSTCODES:
        return match.group(0)
    if words not in found:
        found.append(words)
    return "[removed]"


class IdentifiersFound(ValidationError):
    """Free text that seems to identify a client; `suggestion` is the text without them."""

    def __init__(self, field: str, checked: Checked) -> None:
        kinds = " and ".join(checked.found) if len(checked.found) < 3 else (
            ", ".join(checked.found[:-1]) + " and " + checked.found[-1])
        super().__init__(field, f"This looks like it has {kinds} in it. AssetMap never "
                                "keeps details that could identify the person. We took "
                                "them out below: check the message and send it again.")
        self.suggestion = checked.text


def checked_text(field: str, raw: str | None, *, max_length: int, required: str | None = None
                 ) -> str:
    """Free text fit to store, or a ValidationError naming the field (nothing is kept)."""
    checked = strip_identifiers(raw)
    if checked.found:
        raise IdentifiersFound(field, checked)
    if required and not checked.text:
        raise ValidationError(field, required)
    if len(checked.text) > max_length:
        raise ValidationError(field, f"Keep it under {max_length} characters "
                                     f"(this is {len(checked.text)})")
    return checked.text
