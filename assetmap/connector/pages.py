"""What the connector's pages need to show and ask about referrals (choices and labels)."""

from __future__ import annotations

from assetmap.connector.intake import INTAKE_LABELS
from assetmap.connector.languages import LANGUAGE_CHOICES, LANGUAGES


def referral_choices() -> dict:
    """Template context for the referral partials (`templates/connector/_referral_*.html`)."""
    return {"INTAKE_LABELS": INTAKE_LABELS, "LANGUAGE_CHOICES": LANGUAGE_CHOICES,
            "LANGUAGE_NAMES": LANGUAGES}
