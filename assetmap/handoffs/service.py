"""Let the group know, the organiser's one-click answer, and how it went.

A connector tells a listing's organiser that someone may come. The e-mail goes through the
outbox and carries one personal link, signed with the organiser-link scheme
(`community.organiser.sign_token`, its own salt) over a random nonce kept in the hand-off row:
the link answers for that hand-off and listing only, once, until it expires. Opening it changes
nothing (mail scanners open links); the answer is one button on the page.

Nothing identifies the client: the message is checked by `handoffs.privacy` and the row holds
only the listing, the connector, the message, the answer and the outcome. The connector gets a
short reference to copy into their own case notes instead.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assetmap import vocab
from assetmap.community import outbox as mail
from assetmap.community.organiser import LinkRefused, read_token, sign_token
from assetmap.errors import NotFound, ValidationError
from assetmap.handoffs.privacy import checked_text
from assetmap.models import Activity, Handoff, OutboxMessage, User, utcnow

if TYPE_CHECKING:
    from sqlalchemy import CursorResult

SALT = "assetmap.handoff-answer"
MAX_MESSAGE = 500
ANSWERS: dict[str, str] = {
    "looking-out": "We'll look out for them",
    "full": "We're full",
    "not-suitable": "Not suitable",
}
OUTCOMES: dict[str, str] = {
    "went-once": "Went once",
    "still-going": "Still going",
    "didnt-go": "Didn't go",
    "dont-know": "Don't know",
}
KNOWN_OUTCOMES = ("went-once", "still-going", "didnt-go")
_REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L to misread


class AnswerRefused(LinkRefused):
    """An organiser's answer link that cannot be used (tampered, unknown, expired, used)."""

    STATUS = {**LinkRefused.STATUS, "used": 409, "other-listing": 404}


def _answer_days(config: Mapping) -> int:
    return int(config.get("HANDOFF_ANSWER_DAYS") or 14)


def follow_up_days(config: Mapping) -> int:
    return int(config.get("HANDOFF_FOLLOW_UP_DAYS") or 21)


def _reference() -> str:
    chars = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))
    return f"H-{chars[:3]}-{chars[3:]}"


def _activity(session: Session, activity_id: int) -> Activity:
    activity = session.get(Activity, activity_id)
    if activity is None:
        raise NotFound(f"There is no activity with id {activity_id}.")
    return activity


def answer_url(config: Mapping, activity_id: int, token: str) -> str:
    return f"{config['PUBLIC_URL'].rstrip('/')}/group/answer/{activity_id}?token={token}"


def _body(activity: Activity, handoff: Handoff, url: str) -> str:
    lines = ["Hello,", "",
             f"A community connector (social prescribing link worker) has told someone about "
             f"\"{' '.join(activity.name.split())}\".", ""]
    if handoff.session_hint:
        lines += [f"They may come to the session on {handoff.session_hint}.", ""]
    lines += ["The connector's message:", ""]
    lines += [f"  {line}" for line in handoff.message.split("\n")]
    lines += [
        "", "Please answer with one click on this page:", "", f"  {url}", "",
        "There you can say \"We'll look out for them\", \"We're full\" or \"Not suitable\".",
        f"The link is for this message only and works until {handoff.expires_at:%d %B %Y}.",
        "", "We never send the person's name or details: the connector or the person will "
        "introduce themselves.", "", "-- AssetMap",
    ]
    return "\n".join(lines) + "\n"


def send_handoff(session: Session, activity_id: int, user: User, config: Mapping, *,
                 message: str | None, session_hint: str | None = None,
                 now: datetime | None = None) -> Handoff:
    """Tell the organiser someone may come; the e-mail is queued and sent at once.

    Raises ValidationError (nothing stored) when the listing has no e-mail or the message
    seems to identify the client.
    """
    activity = _activity(session, activity_id)
    email = (activity.contact_email or "").strip()
    if not email:
        raise ValidationError("message", "This listing has no contact e-mail, so AssetMap "
                                         "cannot tell the group. Phone them instead.")
    text = checked_text("message", message, max_length=MAX_MESSAGE,
                        required="Write a short message for the group")
    hint = checked_text("session", session_hint, max_length=120) or None
    now = now or utcnow()
    handoff = Handoff(reference=_reference(), activity_id=activity.id, user_id=user.id,
                      message=text, session_hint=hint, nonce=secrets.token_urlsafe(32),
                      created_at=now, expires_at=now + timedelta(days=_answer_days(config)))
    session.add(handoff)
    session.flush()
    token = sign_token(config, {"a": activity.id, "h": handoff.id, "n": handoff.nonce},
                       salt=SALT)
    queued = mail.queue_message(
        session, kind="handoff", to=email,
        subject=f"Someone may come to {' '.join(activity.name.split())}",
        body=_body(activity, handoff, answer_url(config, activity.id, token)),
        activity_id=activity.id, meta={"handoff_id": handoff.id})
    mail.send(session, queued, config)
    return handoff


def open_answer(session: Session, activity_id: int, token: str | None, config: Mapping, *,
                now: datetime | None = None, for_answer: bool = False) -> Handoff:
    """The hand-off a token stands for, on its own listing's page, or AnswerRefused."""
    try:
        data = read_token(config, token, max_age_days=_answer_days(config), salt=SALT)
    except LinkRefused as exc:
        raise AnswerRefused(exc.reason) from None
    handoff = session.scalar(select(Handoff).where(Handoff.nonce == data["n"]))
    if handoff is None:
        raise AnswerRefused("unknown")
    if handoff.activity_id != data.get("a") or handoff.id != data.get("h"):
        raise AnswerRefused("tampered")
    if handoff.activity_id != activity_id:
        raise AnswerRefused("other-listing")
    if (now or utcnow()) >= handoff.expires_at:
        raise AnswerRefused("expired")
    if for_answer and handoff.answer is not None:
        raise AnswerRefused("used")
    return handoff


def record_answer(session: Session, handoff: Handoff, answer: str, *,
                  now: datetime | None = None) -> None:
    """The organiser's one click. A link answers once (checked again under the row lock)."""
    if answer not in ANSWERS:
        raise ValidationError("answer", f"unknown answer {answer!r}", allowed=list(ANSWERS))
    done = cast("CursorResult[Any]", session.execute(
        Handoff.__table__.update().where(Handoff.id == handoff.id, Handoff.answer.is_(None))
        .values(answer=answer, answered_at=now or utcnow())))
    if done.rowcount != 1:
        raise AnswerRefused("used")
    session.refresh(handoff)


# -- the connector's hand-offs and how they went --------------------------------------------

@dataclass
class HandoffView:
    handoff: Handoff
    activity_name: str
    category: str
    due: bool  # old enough to ask how it went, and not answered yet

    @property
    def answer_words(self) -> str:
        if self.handoff.answer:
            return ANSWERS[self.handoff.answer]
        return "No answer yet"

    @property
    def outcome_words(self) -> str | None:
        return OUTCOMES.get(self.handoff.outcome or "")


def handoffs_of(session: Session, user: User, config: Mapping, *, activity_id: int | None = None,
                now: datetime | None = None, limit: int = 200) -> list[HandoffView]:
    """A connector's own hand-offs, newest first; `due` ones are ready for "how did it go"."""
    now = now or utcnow()
    due_before = now - timedelta(days=follow_up_days(config))
    stmt = (select(Handoff, Activity.name, Activity.category)
            .join(Activity, Activity.id == Handoff.activity_id)
            .where(Handoff.user_id == user.id)
            .order_by(Handoff.created_at.desc(), Handoff.id.desc()).limit(limit))
    if activity_id is not None:
        stmt = stmt.where(Handoff.activity_id == activity_id)
    return [HandoffView(h, name, category, h.outcome is None and h.created_at <= due_before)
            for h, name, category in session.execute(stmt)]


def record_outcome(session: Session, handoff_id: int, user: User, outcome: str, *,
                   now: datetime | None = None) -> Handoff:
    """How it went, from the connector who made the hand-off (they may correct it later)."""
    if outcome not in OUTCOMES:
        raise ValidationError("outcome", "choose went once, still going, didn't go or "
                                         "don't know", allowed=list(OUTCOMES))
    handoff = session.get(Handoff, handoff_id)
    if handoff is None or handoff.user_id != user.id:
        raise NotFound("There is no hand-off of yours with that number.")
    handoff.outcome = outcome
    handoff.outcome_at = now or utcnow()
    session.flush()
    return handoff


@dataclass
class Outcomes:
    """Hand-offs and how they went, for one listing or one category."""

    referred: int = 0
    counts: Counter = field(default_factory=Counter)

    @property
    def known(self) -> int:
        return sum(self.counts[o] for o in KNOWN_OUTCOMES)

    def words(self, period: str = "this year") -> str | None:
        """"3 of 4 people referred this year kept going" (only outcomes someone knows)."""
        if not self.known:
            return None
        people = "person" if self.known == 1 else "people"
        return (f"{self.counts['still-going']} of {self.known} {people} referred {period} "
                f"kept going")


def _year_start(now: datetime) -> datetime:
    return now.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)


def outcomes_by_listing(session: Session, ids: Sequence[int], *, now: datetime | None = None
                        ) -> dict[int, Outcomes]:
    """Word of mouth per listing, for hand-offs made since 1 January."""
    since = _year_start(now or utcnow())
    out: dict[int, Outcomes] = {}
    ids = list(ids)
    for start in range(0, len(ids), 5000):
        rows = session.execute(
            select(Handoff.activity_id, Handoff.outcome, func.count())
            .where(Handoff.activity_id.in_(ids[start:start + 5000]),
                   Handoff.created_at >= since)
            .group_by(Handoff.activity_id, Handoff.outcome))
        for activity_id, outcome, count in rows:
            said = out.setdefault(activity_id, Outcomes())
            said.referred += count
            if outcome:
                said.counts[outcome] += count
    return out


@dataclass
class CategoryRow:
    category: str
    label: str
    outcomes: Outcomes


def outcomes_by_category(session: Session, *, since: datetime, until: datetime
                         ) -> list[CategoryRow]:
    """Hand-offs made in [since, until) counted by the listing's category, most first."""
    rows = session.execute(
        select(Activity.category, Handoff.outcome, func.count()).select_from(Handoff)
        .join(Activity, Activity.id == Handoff.activity_id)
        .where(Handoff.created_at >= since, Handoff.created_at < until)
        .group_by(Activity.category, Handoff.outcome))
    by: dict[str, Outcomes] = {}
    for category, outcome, count in rows:
        said = by.setdefault(category, Outcomes())
        said.referred += count
        if outcome:
            said.counts[outcome] += count
    return sorted((CategoryRow(c, vocab.CATEGORY_LABELS.get(c, c), o) for c, o in by.items()),
                  key=lambda r: (-r.outcomes.referred, r.label))


CSV_HEADER = ("category", "category_label", "referred", "organiser_answered",
              *OUTCOMES, "no_outcome_yet", "kept_going_share")


def csv_rows(rows: Sequence[CategoryRow], answered: Mapping[str, int]) -> list[list]:
    """The coordinators' CSV: one row per category, counts only."""
    out: list[list] = []
    for row in rows:
        o = row.outcomes
        recorded = sum(o.counts.values())
        share = f"{o.counts['still-going'] / o.known:.2f}" if o.known else ""
        out.append([row.category, row.label, o.referred, answered.get(row.category, 0),
                    *(o.counts[k] for k in OUTCOMES), o.referred - recorded, share])
    return out


def answered_by_category(session: Session, *, since: datetime, until: datetime
                         ) -> dict[str, int]:
    return dict(session.execute(
        select(Activity.category, func.count()).select_from(Handoff)
        .join(Activity, Activity.id == Handoff.activity_id)
        .where(Handoff.created_at >= since, Handoff.created_at < until,
               Handoff.answer.is_not(None))
        .group_by(Activity.category)).tuples().all())


def outbox_for(session: Session, handoff: Handoff) -> OutboxMessage | None:
    """The e-mail a hand-off sent (for the connector's "sent / not sent yet")."""
    for message in session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "handoff", OutboxMessage.activity_id == handoff.activity_id)):
        if (message.meta or {}).get("handoff_id") == handoff.id:
            return message
    return None
