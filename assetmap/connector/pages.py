"""What the connector's pages need to show and ask about referrals (choices and labels)."""

from __future__ import annotations

from assetmap.db import get_session
from assetmap.listings.service_area import area_words
from assetmap.places.area_index import area_names
from assetmap.referral.intake import INTAKE_LABELS
from assetmap.referral.languages import LANGUAGE_CHOICES, LANGUAGES


def service_area_words(codes: list[str] | None) -> str:
    """ "Kentish Town, Haverstock" for a listing's area codes (page rendering only)."""
    return area_words(codes, area_names(get_session(), codes or ()))


def referral_choices() -> dict:
    """Template context for the referral partials (`templates/connector/_referral_*.html`)."""
    return {"INTAKE_LABELS": INTAKE_LABELS, "LANGUAGE_CHOICES": LANGUAGE_CHOICES,
            "LANGUAGE_NAMES": LANGUAGES, "service_area_words": service_area_words,
            "MODE_CHOICES": (("in-person", "In person, at a venue"), ("phone", "By phone"),
                             ("online", "Online"))}
