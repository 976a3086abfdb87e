"""What the connector's pages need to show and ask about referrals (choices and labels)."""

from __future__ import annotations

from assetmap.connector.intake import INTAKE_LABELS
from assetmap.connector.languages import LANGUAGE_CHOICES, LANGUAGES
from assetmap.connector.remote import area_names, area_words
from assetmap.db import get_session


def service_area_words(codes: list[str] | None) -> str:
    """ "Kentish Town, Haverstock" for a listing's area codes (page rendering only)."""
    return area_words(codes, area_names(get_session(), codes or ()))


def referral_choices() -> dict:
    """Template context for the referral partials (`templates/connector/_referral_*.html`)."""
    return {"INTAKE_LABELS": INTAKE_LABELS, "LANGUAGE_CHOICES": LANGUAGE_CHOICES,
            "LANGUAGE_NAMES": LANGUAGES, "service_area_words": service_area_words,
            "MODE_CHOICES": (("in-person", "In person, at a venue"), ("phone", "By phone"),
                             ("online", "Online"))}


#: Listing fields as people say them, for history, conflict and error pages.
FIELD_WORDS: dict[str, str] = {
    "name": "Name", "description": "What happens", "category": "Kind of activity",
    "organisation_id": "Organisation", "venue_id": "Venue", "mode": "How it runs",
    "cost_kind": "Cost", "cost_amount": "Cost (amount)", "cost_text": "Cost (details)",
    "cost": "Cost", "age_min": "Youngest age", "age_max": "Oldest age", "gender": "Who can come",
    "status": "Status", "contact_name": "Contact name", "contact_email": "Contact e-mail",
    "contact_phone": "Contact phone", "contact_url": "Website",
    "first_visit": "What to expect on a first visit", "possibly_closed": "Possibly closed",
    "intake": "Taking newcomers", "languages": "Languages", "interpreter": "Interpreter",
    "service_area": "Area it serves", "join_how": "How to join", "tags": "Who it suits",
    "schedules": "When it happens", "schedule": "When it happens", "venue_name": "Venue name",
    "venue_address": "Venue address", "venue_postcode": "Venue postcode",
    "postcode": "Postcode", "minutes": "Walk (minutes)", "language": "Spoken in",
    "newcomers": "Taking newcomers", "needs": "Needs", "interests": "Interests",
    "day": "Day", "time": "Time of day", "pace": "Pace", "ids": "Shortlist",
    "csrf_token": "The form's security token (csrf_token): reload the page and try again",
}


def field_words(name: str | None) -> str:
    """ "venue_id" -> "Venue"; an unknown name is made readable rather than shown raw."""
    if not name:
        return ""
    return FIELD_WORDS.get(name, name.replace("_", " ").capitalize())
