"""TODO docstring."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from assetmap.community import outbox as mail
from assetmap.freshness import queue as fq
from assetmap.freshness.rules import STATE_LABELS, VERY_STALE_AFTER
from assetmap.models import Activity, Area, OutboxMessage, User

DIGEST_KIND = "freshness-digest"


DIGEST_EVERY = timedelta(days=7)


DIGEST_SLACK = timedelta(hours=12)  # a job that runs a little earlier next week still sends


DIGEST_LINES = 25


def send_digests(session: Session, config: Mapping, *, now: datetime) -> int:
    """A digest to each active coordinator who has had none for a week."""
    sent = 0
    coordinators = session.scalars(select(User).where(User.role == "coordinator",
                                                      User.active.is_(True))
                                   .order_by(User.id)).all()
    for user in coordinators:
        last = session.scalar(select(OutboxMessage.created_at).where(
            OutboxMessage.kind == DIGEST_KIND, OutboxMessage.to_address == user.email)
            .order_by(OutboxMessage.created_at.desc()).limit(1))
        if last is not None and last > now - DIGEST_EVERY + DIGEST_SLACK:
            continue
        subject, body = digest(session, user, config, now=now)
        message = mail.queue_message(session, kind=DIGEST_KIND, to=user.email,
                                     subject=subject, body=body,
                                     meta={"as_of": now.isoformat(), "user_id": user.id})
        message.created_at = now  # the job's clock, so "a week since the last" holds in tests
        mail.send(session, message, config)
        sent += 1
    return sent


def digest(session: Session, user: User, config: Mapping, *, now: datetime
           ) -> tuple[str, str]:
    """Subject and plain-text body of one coordinator's weekly digest."""
    week = now - DIGEST_EVERY
    areas: list[Area | None] = [*sorted(user.areas, key=lambda a: a.name)] or [None]
    base = config["PUBLIC_URL"].rstrip("/")
    lines = ["Hello,", "", f"What changed in the freshness of AssetMap's listings in the week "
             f"to {now:%d %B %Y}:", ""]
    became_stale = became_very = 0
    for area in areas:
        flt = fq.QueueFilter(area_id=area.id if area else None,
                             area_name=area.name if area else None, states=fq.STATES)
        stale = fq.queue_items(session, fq.QueueFilter(
            flt.area_id, flt.area_name, states=("stale",)), now=now, where=(
            Activity.freshness_due_at > week))
        very = fq.queue_items(session, fq.QueueFilter(
            flt.area_id, flt.area_name, states=("very-stale",)), now=now, where=(
            Activity.freshness_due_at > week - VERY_STALE_AFTER))
        closed = fq.queue_items(session, fq.QueueFilter(
            flt.area_id, flt.area_name, states=("possibly-closed",)), now=now)
        counts = fq.summary(session, flt, now=now)["counts"]
        became_stale += len(stale)
        became_very += len(very)
        lines += [f"== {area.name if area else 'All wards'} =="]
        lines += ["Now: " + ", ".join(f"{counts[s]} {STATE_LABELS[s].lower()}"
                                      for s in fq.STATES), ""]
        for title, items in (("Became stale this week", stale),
                             ("Became very stale this week (no answer to any reminder)",
                              very),
                             ("Possibly closed", closed)):
            lines.append(f"{title}: {len(items)}")
            for item in items[:DIGEST_LINES]:
                where = f", {item['area']}" if item["area"] and area is None else ""
                why = f" — {item['reason']}" if item["reason"] else ""
                lines.append(f"  - {_one_line(item['name'])}{where} ({item['checked']})"
                             f"{why}: {base}{item['url']}")
            if len(items) > DIGEST_LINES:
                lines.append(f"  ... and {len(items) - DIGEST_LINES} more")
            lines.append("")
    lines += ["The work queue, with filters and bulk actions:",
              f"  {base}/coordinator/freshness", "", "-- AssetMap"]
    subject = (f"AssetMap weekly freshness: {became_stale} became stale, {became_very} very "
               "stale")
    return subject, "\n".join(lines) + "\n"


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())
