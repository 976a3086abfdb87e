"""A listing's fields and the form's fields as people say them, and their values as people
read them: history, conflict and error pages never show a column name or a code."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from assetmap import vocab
from assetmap.listings.service_area import MODE_WORDS, area_words
from assetmap.models import Organisation, Venue
from assetmap.places.area_index import area_names
from assetmap.referral.intake import INTAKE_LABELS
from assetmap.referral.languages import language_names
from assetmap.schedule import ScheduleRule, describe_all

EMPTY = "(nothing)"
COST_KIND_WORDS = {"free": "Free", "amount": "An amount", "small-fee": "A small fee",
                   "unknown": "Not known"}

FIELD_WORDS: dict[str, str] = {
    "name": "Name", "description": "What happens", "category": "Kind of activity",
    "organisation_id": "Organisation", "venue_id": "Venue", "mode": "In person / online / phone",
    "cost_kind": "Cost (free or paid)", "cost_amount": "Cost (amount)",
    "cost_text": "Cost (in words)", "cost": "Cost", "age_min": "Youngest age",
    "age_max": "Oldest age", "gender": "Who can come (men, women, anyone)", "status": "Status",
    "contact_name": "Contact name", "contact_email": "Contact e-mail",
    "contact_phone": "Contact phone", "contact_url": "Website", "first_visit": "First visit",
    "possibly_closed": "Possibly closed", "intake": "Taking newcomers", "languages": "Languages",
    "interpreter": "Interpreter", "service_area": "Area it serves", "join_how": "How to join",
    "tags": "Suits", "schedules": "When", "schedule": "When it happens",
    "venue_name": "Venue name", "venue_address": "Venue address",
    "venue_postcode": "Venue postcode", "postcode": "Postcode", "minutes": "Walk (minutes)",
    "language": "Spoken in", "newcomers": "Taking newcomers", "needs": "Needs",
    "interests": "Interests", "day": "Day", "time": "Time of day", "pace": "Pace",
    "ids": "Shortlist",
    "csrf_token": "The form's security token (csrf_token): reload the page and try again",
    "assigned_user_id": "Assigned to", "weeks": "Weeks the trends show",
    "id": "AssetMap number", "organisation": "Organisation", "address": "Venue address",
    "lat": "Latitude", "lon": "Longitude", "last_verified_at": "Last checked",
    "verified_method": "How it was checked", "file": "File",
}


def field_words(name: str | None) -> str:
    """'cost_amount' -> 'Cost (amount)'; an unknown name is made readable rather than shown raw."""
    if not name:
        return ""
    return FIELD_WORDS.get(name) or name.replace("_id", "").replace("_", " ").capitalize()


def value_words(session: Session, field: str, value: Any) -> str:
    """A stored value in words: a venue's name, "A few places left", "Somali, English",
    "Kentish Town", "In person" (never an id or a code); "(nothing)" when empty."""
    if value in (None, "", [], {}):
        return EMPTY
    if field == "venue_id":
        venue = session.get(Venue, int(value))
        return ", ".join(p for p in (venue.name, venue.postcode) if p) if venue else "a venue"
    if field == "organisation_id":
        org = session.get(Organisation, int(value))
        return org.name if org else "an organisation"
    if field == "service_area" and isinstance(value, list):
        return area_words(value, area_names(session, value))
    return plain_value_words(field, value)


def plain_value_words(field: str, value: Any) -> str:
    """The same words for values that need no lookup ("" when empty): what a community
    suggestion's proposal shows beside the listing's current values."""
    if value in (None, "", [], {}):
        return ""
    if field == "category":
        return vocab.CATEGORY_LABELS.get(value, str(value))
    if field == "tags" and isinstance(value, list):
        return ", ".join(vocab.TAG_LABELS.get(t, str(t)) for t in value)
    if field == "intake":
        return INTAKE_LABELS.get(str(value), str(value))
    if field == "languages" and isinstance(value, list):
        return ", ".join(language_names(value))
    if field == "cost_kind":
        return COST_KIND_WORDS.get(str(value), str(value))
    if field == "mode":
        return MODE_WORDS.get(str(value), "in person").capitalize()
    if field == "schedules" and isinstance(value, list):
        try:
            return describe_all(ScheduleRule.from_dict(r) for r in value)
        except (TypeError, ValueError, KeyError):  # an old record in another shape: as stored
            return "; ".join(map(str, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)
