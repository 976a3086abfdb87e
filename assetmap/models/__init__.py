"""ORM models, one module per aggregate. Import from here."""

from assetmap.models.base import Base, utcnow
from assetmap.models.changes import ChangeToken, ListingChange
from assetmap.models.community import (
    CoverageResult,
    OrganiserLink,
    OutboxMessage,
    ReviewItem,
    Suggestion,
)
from assetmap.models.freshness import FreshnessSnapshot, VerificationEvent
from assetmap.models.handoffs import Handoff, UnmetNeed
from assetmap.models.history import ChangeRecord
from assetmap.models.listing import Activity, ActivityTag, Organisation, ScheduleEntry, Venue
from assetmap.models.people import Area, User, user_areas
from assetmap.models.places import Postcode
from assetmap.models.sources import ScrapeRun, Source, SourceLink

__all__ = [
    "Activity",
    "ActivityTag",
    "Area",
    "Base",
    "ChangeRecord",
    "ChangeToken",
    "CoverageResult",
    "FreshnessSnapshot",
    "Handoff",
    "ListingChange",
    "Organisation",
    "OrganiserLink",
    "OutboxMessage",
    "Postcode",
    "ReviewItem",
    "ScheduleEntry",
    "ScrapeRun",
    "Source",
    "SourceLink",
    "Suggestion",
    "UnmetNeed",
    "User",
    "Venue",
    "VerificationEvent",
    "user_areas",
    "utcnow",
]
