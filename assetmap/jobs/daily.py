"""The daily freshness job: re-cache due dates, remind organisers, tell coordinators.

Run once a day by the scheduler (`assetmap.scheduler`), or by hand with `assetmap freshness
run`. Every step can run again without repeating itself, so a missed day or a second run the
same day does no harm:

* reminders: a listing with a contact e-mail is asked "Is this still right?" when it comes due,
  and again (escalating) when still unanswered `REMINDER_DAYS` after its due date — by default
  0, 91 and 182 days, which for a regular group checked every six months is at 6, 9 and 12
  months. An answer (any check) moves the due date, which starts a new round. Each message
  carries the due date and level it was sent for, so no level is sent twice in a round; if the
  job was off for a while only the highest level due is sent.
* digest: once a week each coordinator gets what became stale or very stale in the past week
  in their wards (all wards if they have none), and what is possibly closed.
* coverage: recomputed for every ward a walking network covers.

Every message goes through the outbox (`services.mail`) and is sent at once; failures stay
queued for the scheduler's outbox job to retry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from assetmap.community import outbox as mail
from assetmap.db import session_scope
from assetmap.errors import ConfigError
from assetmap.freshness import queue as fq
from assetmap.freshness.rules import STATE_LABELS, VERY_STALE_AFTER, Rules
from assetmap.models import Activity, OutboxMessage, User

REMINDER_KINDS: tuple[str, ...] = ("organiser-check", "organiser-reminder")
DIGEST_KIND = "freshness-digest"
DEFAULT_REMINDER_DAYS: tuple[int, ...] = (0, 91, 182)
DIGEST_EVERY = timedelta(days=7)
DIGEST_SLACK = timedelta(hours=12)  # a job that runs a little earlier next week still sends
DIGEST_LINES = 25


def reminder_offsets(config: Mapping) -> tuple[timedelta, ...]:
    """FRESHNESS_REMINDER_DAYS: days after the due date, e.g. "0,91,182"."""
    raw = config.get("FRESHNESS_REMINDER_DAYS") or ",".join(map(str, DEFAULT_REMINDER_DAYS))
    try:
        days = sorted(int(part) for part in str(raw).split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"FRESHNESS_REMINDER_DAYS: {raw!r} is not a list of whole days, "
                          "e.g. '0,91,182'") from None
    if not days or days[0] < 0:
        raise ConfigError("FRESHNESS_REMINDER_DAYS: give at least one day, none negative")
    return tuple(timedelta(days=d) for d in days)


@dataclass
class JobReport:
    recomputed: fq.RecomputeReport | None = None
    reminders: dict[int, int] = field(default_factory=dict)  # level -> sent
    reminders_failed: int = 0
    digests: int = 0
    coverage: str | None = None

    def lines(self) -> list[str]:
        out = []
        if self.recomputed is not None:
            states = ", ".join(f"{n} {STATE_LABELS[s].lower()}"
                               for s, n in self.recomputed.by_state.items() if n)
            out.append(f"freshness: {self.recomputed.listings} listings ({states}); "
                       f"{self.recomputed.changed} re-cached")
        sent = ", ".join(f"{n} at level {level + 1}" for level, n in sorted(
            self.reminders.items()))
        out.append(f"reminders: {sum(self.reminders.values())} sent"
                   + (f" ({sent})" if sent else "")
                   + (f"; {self.reminders_failed} not delivered yet (will retry)"
                      if self.reminders_failed else ""))
        out.append(f"digests: {self.digests} sent")
        if self.coverage:
            out.append(f"coverage: {self.coverage}")
        return out


def run_daily(app: Flask, *, now: datetime | None = None, coverage: bool = True) -> JobReport:
    """The whole job, each step in its own transaction."""
    report = JobReport()
    with app.app_context():
        now = now or fq.clock(app.config)
        rules = Rules.from_config(app.config)
        with session_scope(app) as session:
            report.recomputed = fq.recompute(session, now=now, rules=rules)
        with session_scope(app) as session:
            report.reminders, report.reminders_failed = send_reminders(
                session, app.config, now=now)
        with session_scope(app) as session:
            report.digests = send_digests(session, app.config, now=now)
        if coverage:
            report.coverage = _coverage(app, now)
    return report


def _coverage(app: Flask, now: datetime) -> str:
    from assetmap.coverage import gaps as cov
    from assetmap.matching.rank import walking_service

    minutes = int(app.config.get("COVERAGE_MINUTES") or cov.DEFAULT_MINUTES)
    with session_scope(app) as session:
        done = cov.run(session, walking_service(app).registry, now=now, minutes=minutes)
    wards = len({r.area_id for r in done.results})
    text = f"{wards} wards at {minutes} minutes"
    if done.skipped:
        text += f"; no walking network covers {', '.join(done.skipped)}"
    return text


# -- reminders -----------------------------------------------------------------------------

def send_reminders(session: Session, config: Mapping, *, now: datetime
                   ) -> tuple[dict[int, int], int]:
    """Remind the organisers of listings that came due; ({level: sent}, failed)."""
    offsets = reminder_offsets(config)
    limit = int(config.get("FRESHNESS_REMINDERS_PER_RUN") or 200)
    candidates = session.execute(
        select(Activity.id, Activity.freshness_due_at)
        .where(Activity.status.in_(fq.LIVE_STATUSES), Activity.freshness_due_at.is_not(None),
               Activity.freshness_due_at <= now - offsets[0],
               Activity.contact_email.is_not(None), Activity.contact_email != "")
        .order_by(Activity.freshness_due_at, Activity.id)).all()
    sent: dict[int, int] = {}
    failed = 0
    for start in range(0, len(candidates), fq.CHUNK):
        if sum(sent.values()) >= limit:
            break
        chunk = candidates[start:start + fq.CHUNK]
        rounds = _sent_levels(session, [c[0] for c in chunk])
        for activity_id, due_at in chunk:
            level = max(i for i, offset in enumerate(offsets) if now >= due_at + offset)
            if rounds.get((activity_id, due_at.isoformat()), -1) >= level:
                continue
            activity = session.get(Activity, activity_id)
            if activity is None or not (activity.contact_email or "").strip():
                continue
            message = remind(session, activity, config, level=level, due_at=due_at)
            sent[level] = sent.get(level, 0) + 1
            failed += message.status != "sent"
            if sum(sent.values()) >= limit:
                break
    return sent, failed


def _sent_levels(session: Session, ids: list[int]) -> dict[tuple[int, str], int]:
    """(listing, due date) -> the highest reminder level already sent for that round."""
    out: dict[tuple[int, str], int] = {}
    for activity_id, meta in session.execute(
            select(OutboxMessage.activity_id, OutboxMessage.meta)
            .where(OutboxMessage.activity_id.in_(ids),
                   OutboxMessage.kind.in_(REMINDER_KINDS))):
        due = (meta or {}).get("due_at")
        if due:
            key = (activity_id, due)
            out[key] = max(out.get(key, -1), int(meta.get("reminder_level") or 0))
    return out


def remind(session: Session, activity: Activity, config: Mapping, *, level: int = 0,
           due_at: datetime | None = None) -> OutboxMessage:
    """Send the organiser their "Is this still right?" link (a reminder from level 1 on),
    noting the round it belongs to. ValidationError when the listing has no e-mail."""
    from assetmap.community.organiser import send_organiser_check

    message = send_organiser_check(session, activity, config, reminder_level=level)
    due_at = due_at or activity.freshness_due_at
    message.meta = {**(message.meta or {}),
                    "due_at": due_at.isoformat() if due_at else None}
    return message


# -- the weekly digest ---------------------------------------------------------------------

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
    areas = sorted(user.areas, key=lambda a: a.name) or [None]
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
