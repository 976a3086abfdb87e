"""What needs a coordinator today: the counts on their home, each with where to act.

A coordinator with areas sees their areas' listings; an admin (or a coordinator without
areas) sees every area. Counts are cheap aggregate queries, so the home opens quickly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assetmap.community import moderation
from assetmap.coordination import outbox
from assetmap.coverage import gaps as coverage
from assetmap.freshness import queue as fq
from assetmap.freshness.rules import STATES
from assetmap.models import ScrapeRun, Source, User
from assetmap.people.areas import my_areas


@dataclass(frozen=True)
class Need:
    """One count on the home: how many, the words after the number, where to act, and
    whether it needs someone."""

    key: str
    count: int
    words: str
    endpoint: str
    args: dict[str, str] = field(default_factory=dict)
    attention: bool = False


@dataclass(frozen=True)
class Home:
    needs: list[Need]
    areas: list[str]  # the names of the areas counted; [] means every area
    gap: coverage.CoverageRow | None
    gap_minutes: int


def _plural(n: int, one: str, many: str) -> str:
    """The words after the count: 'listing' or 'listings'."""
    return one if n == 1 else many


def failing_sources(session: Session) -> int:
    """Enabled feeds whose latest run failed."""
    latest = (select(ScrapeRun.source_id, func.max(ScrapeRun.started_at).label("at"))
              .group_by(ScrapeRun.source_id).subquery())
    return session.scalar(
        select(func.count()).select_from(ScrapeRun)
        .join(latest, (latest.c.source_id == ScrapeRun.source_id)
              & (latest.c.at == ScrapeRun.started_at))
        .join(Source, Source.id == ScrapeRun.source_id)
        .where(Source.enabled.is_(True), ScrapeRun.status == "failed")) or 0


#: The queue of checks assigned and not done: the home's count and where it links agree.
ASSIGNED = {"area": "all", "state": "all", "assigned": "any"}


def outstanding_assignments(session: Session, now: datetime) -> int:
    """Live listings with a check assigned to someone (every state, every area)."""
    return fq.count(session, fq.QueueFilter(states=STATES, assigned="any"), now=now)


def _needs_check(session: Session, user: User, now: datetime) -> list[Need]:
    areas = my_areas(user)
    needs = []
    for area in areas or [None]:  # None: every area
        flt = fq.QueueFilter(area_id=area.id if area else None,
                             area_name=area.name if area else None)
        n = fq.summary(session, flt, now=now)["needs_check"]
        where = f" in {area.name}" if area else ""
        args = {"area": str(area.id)} if area else {"area": "all"}
        needs.append(Need(f"stale-{area.id if area else 'all'}", n,
                          _plural(n, "listing", "listings") + f" due or overdue for a check{where}",
                          "coordinator.freshness", args, attention=n > 0))
    return needs


def build(session: Session, user: User, config: Mapping, *, now: datetime) -> Home:
    waiting = moderation.pending_count(session)
    failing = failing_sources(session)
    undelivered = outbox.undelivered_count(session)
    assigned = outstanding_assignments(session, now)
    needs = [
        *_needs_check(session, user, now),
        Need("moderation", waiting, _plural(waiting, "suggestion or report", "suggestions and "
                                            "reports") + " waiting for a decision",
             "coordinator.suggestions_queue", attention=waiting > 0),
        Need("feeds", failing, _plural(failing, "feed", "feeds") + " failing on the last run",
             "coordinator.sources", attention=failing > 0),
        Need("outbox", undelivered, _plural(undelivered, "message", "messages")
             + " not delivered", "coordinator.outbox", attention=undelivered > 0),
        Need("assignments", assigned, _plural(assigned, "check", "checks")
             + " assigned to connectors and not done yet", "coordinator.freshness",
             ASSIGNED),
    ]
    minutes = int(config.get("COVERAGE_MINUTES") or 15)
    gaps = coverage.worst_gaps(session, minutes=minutes, limit=1)
    return Home(needs, [a.name for a in my_areas(user)], gaps[0] if gaps else None, minutes)
