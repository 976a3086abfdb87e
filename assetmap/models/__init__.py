"""ORM models, one module per aggregate. Import from here."""

from assetmap.models.places import Postcode

from .base import Base, utcnow
from .community import CoverageResult, OrganiserLink, OutboxMessage, ReviewItem, Suggestion
from .freshness import VerificationEvent
from .handoffs import Handoff, UnmetNeed
from .history import ChangeRecord
from .listing import Activity, ActivityTag, Organisation, ScheduleEntry, Venue
from .people import Area, User, user_areas
from .sources import ScrapeRun, Source, SourceLink

__all__ = [
    "Activity",
    "ActivityTag",
    "Area",
    "Base",
    "ChangeRecord",
    "CoverageResult",
    "Handoff",
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
