"""A listing's fields and the form's fields, and their values, as people say them: history,
proposal, conflict and error pages never show a column name or a code."""

from __future__ import annotations

from typing import Any

from assetmap import vocab
from assetmap.schedule import ScheduleRule, describe_all

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
}


def field_words(name: str | None) -> str:
    """'cost_amount' -> 'Cost (amount)'; an unknown name is made readable rather than shown raw."""
    if not name:
        return ""
    return FIELD_WORDS.get(name) or name.replace("_id", "").replace("_", " ").capitalize()


def value_words(field: str, value: Any) -> str:
    """A field's value in plain words ("" when empty): labels for categories and tags, a
    schedule described, yes/no. One rule for history and proposals; plain text (templates
    escape it)."""
    if value in (None, "", [], {}):
        return ""
    if field == "category":
        return vocab.CATEGORY_LABELS.get(value, str(value))
    if field == "tags" and isinstance(value, list):
        return ", ".join(vocab.TAG_LABELS.get(t, str(t)) for t in value)
    if field == "schedules" and isinstance(value, list):
        try:
            return describe_all(ScheduleRule.from_dict(r) for r in value)
        except (TypeError, ValueError, KeyError):  # an old record in another shape: as stored
            return "; ".join(map(str, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
