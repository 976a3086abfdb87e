"""Organisers keep their own listing fresh through a personal link sent by e-mail.

The link carries a token signed with the app's secret (itsdangerous) over a random nonce and
the listing's id. The nonce is stored in `organiser_links`, which makes each link good for one
listing only, expiring and revocable, and records what it was used for. Opening the link
changes nothing (mail scanners open links); each answer is a form posted from the page:
"Yes, still running" records an organiser-confirmed verification, "Something changed" sends
the changes to moderation, "It has stopped" marks the listing for a coordinator.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from assetmap import values, vocab
from assetmap.community import outbox as mail
from assetmap.community.moderation import current_values, describe_value
from assetmap.community.suggestions import (
    FieldChecker,
    SuggestionInvalid,
    locate,
)
from assetmap.errors import AssetMapError, ScheduleError, ValidationError
from assetmap.listings.changes import Actor, apply_changes
from assetmap.listings.referral import set_intake
from assetmap.listings.verification import record_verification
from assetmap.models import Activity, OrganiserLink, OutboxMessage, ReviewItem, utcnow
from assetmap.schedule import describe_all
from assetmap.schedule import parse_schedule as parse_schedule_text
from assetmap.values import clean_text, cost_as_typed, parse_cost

SALT = "assetmap.organiser-link"
DEFAULT_DAYS = 30
ANSWERS = ("confirmed", "changed", "stopped")
# The short "something changed" form: these fields, prefilled with what the listing says now.
CHANGE_FIELDS: tuple[str, ...] = (
    "name", "description", "schedule", "cost", "venue_name", "address", "postcode",
    "contact_name", "contact_email", "contact_phone", "contact_url",
)


class LinkRefused(AssetMapError):
    """A link that cannot be used: the page says why, and nothing is changed."""

    STATUS = {"tampered": 400, "unknown": 404, "expired": 410, "stopped": 410}

    def __init__(self, reason: str) -> None:
        super().__init__(f"organiser link refused: {reason}")
        self.reason = reason
        self.status_code = self.STATUS[reason]


def _days(config: Mapping) -> int:
    return int(config.get("ORGANISER_LINK_DAYS") or DEFAULT_DAYS)


def create_link(session: Session, activity: Activity, *, email: str, config: Mapping,
                reminder_level: int = 0, now: datetime | None = None
                ) -> tuple[OrganiserLink, str]:
    """A new link row and its signed token (the token is not stored, only its nonce)."""
    now = now or utcnow()
    link = OrganiserLink(activity_id=activity.id, nonce=secrets.token_urlsafe(32), email=email,
                         created_at=now, expires_at=now + timedelta(days=_days(config)),
                         reminder_level=reminder_level)
    session.add(link)
    session.flush()
    return link, sign_token(config, {"a": activity.id, "n": link.nonce})


def sign_token(config: Mapping, payload: dict, *, salt: str = SALT) -> str:
    """The one signing scheme for links sent to organisers; `salt` keeps each use apart."""
    return URLSafeTimedSerializer(config["SECRET_KEY"], salt=salt).dumps(payload)


def read_token(config: Mapping, token: str | None, *, max_age_days: int,
               salt: str = SALT) -> dict:
    """A signed payload holding a nonce "n", or LinkRefused("expired"/"tampered")."""
    try:
        data = URLSafeTimedSerializer(config["SECRET_KEY"], salt=salt).loads(
            token or "", max_age=max_age_days * 86400)
    except SignatureExpired:
        raise LinkRefused("expired") from None
    except BadSignature:
        raise LinkRefused("tampered") from None
    if not isinstance(data, dict) or not isinstance(data.get("n"), str):
        raise LinkRefused("tampered")
    return data


def link_url(config: Mapping, token: str) -> str:
    return f"{config['PUBLIC_URL'].rstrip('/')}/organiser/check?token={token}"


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def listing_summary(activity: Activity) -> list[tuple[str, str]]:
    """The listing as (label, text) pairs, for the e-mail and the organiser's page."""
    values = current_values(activity)
    where = describe_value("venue", values["venue"]) or {
        "online": "Online", "phone": "By phone"}.get(activity.mode, "Not given")
    return [
        ("Name", _one_line(activity.name)),
        ("What", vocab.CATEGORY_LABELS.get(activity.category, activity.category)),
        ("When", describe_all(activity.schedules) or "Not given"),
        ("Where", _one_line(where)),
        ("Cost", cost_as_typed(values["cost"]) or "Not given"),
        ("Contact", ", ".join(p for p in (activity.contact_name, activity.contact_phone,
                                          activity.contact_email, activity.contact_url) if p)
         or "Not given"),
    ]


def _body(activity: Activity, url: str, expires: datetime, reminder_level: int) -> str:
    lines = ["Hello,", ""]
    if reminder_level:
        lines += ["We wrote to you before about this listing and have not heard back.", ""]
    lines += [
        "AssetMap lists your group so that social-prescribing link workers and the people "
        "they support can find it. Is this still right?", "",
    ]
    width = max(len(label) for label, _ in listing_summary(activity)) + 2
    lines += [f"  {label + ':':<{width}}{text}" for label, text in listing_summary(activity)]
    lines += [
        "", "Please open your personal link and answer with one click:", "", f"  {url}", "",
        "There you can say \"Yes, still running\", tell us what has changed, or tell us it "
        "has stopped.",
        f"The link is for this listing only and works until {expires:%d %B %Y}.", "",
        "If you did not expect this e-mail, you can ignore it.", "", "-- AssetMap",
    ]
    return "\n".join(lines) + "\n"


def send_organiser_check(session: Session, activity: Activity, config: Mapping, *,
                         reminder_level: int = 0) -> OutboxMessage:
    """Ask the listing's contact "Is this still right?" with a fresh personal link.

    The message goes into the outbox and is sent at once; its row records the result (a
    failed send stays queued for retry). Raises ValidationError when there is no e-mail.
    """
    email = (activity.contact_email or "").strip()
    if not email:
        raise ValidationError("contact_email",
                              f"listing {activity.id} has no contact e-mail to send a link to")
    link, token = create_link(session, activity, email=email, config=config,
                              reminder_level=reminder_level)
    subject = ("Reminder: " if reminder_level else "") + (
        f"Is your listing still right? {_one_line(activity.name)}")
    message = mail.queue_message(
        session, kind="organiser-reminder" if reminder_level else "organiser-check", to=email,
        subject=subject, body=_body(activity, link_url(config, token), link.expires_at,
                                    reminder_level),
        activity_id=activity.id, meta={"link_id": link.id, "reminder_level": reminder_level})
    mail.send(session, message, config)
    return message


def open_link(session: Session, token: str | None, config: Mapping, *,
              now: datetime | None = None) -> OrganiserLink:
    """The link a token stands for, or LinkRefused saying why it cannot be used."""
    data = read_token(config, token, max_age_days=_days(config))
    link = session.scalar(select(OrganiserLink).where(OrganiserLink.nonce == data["n"]))
    if link is None:
        raise LinkRefused("unknown")
    if link.activity_id != data.get("a"):
        raise LinkRefused("tampered")
    if link.used_for == "stopped":
        raise LinkRefused("stopped")
    if (now or utcnow()) >= link.expires_at:
        raise LinkRefused("expired")
    return link


def organiser_actor(link: OrganiserLink) -> Actor:
    return Actor("organiser", f"organiser ({link.email})")


def _used(link: OrganiserLink, answer: str) -> None:
    link.used_at = utcnow()
    link.used_for = answer


def confirm(session: Session, link: OrganiserLink, *, intake: str | None = None) -> None:
    """"Yes, still running": the strongest kind of check, straight from the organiser, who
    may also say whether the group is taking newcomers (recorded as said by the organiser)."""
    activity = session.get(Activity, link.activity_id)
    assert activity is not None  # the link row cascades with its listing
    if (intake or "").strip():
        set_intake(session, activity, intake, organiser_actor(link), role="organiser")
    record_verification(session, activity, "organiser-confirmed", organiser_actor(link),
                        note="Confirmed through the organiser's link.")
    _used(link, "confirmed")


def change_form_values(activity: Activity) -> dict[str, str]:
    """The change form, prefilled with what the listing says now."""
    values = current_values(activity)
    venue = values["venue"] or {}
    return {
        "name": activity.name or "", "description": activity.description or "",
        "schedule": describe_all(activity.schedules), "cost": cost_as_typed(values["cost"]),
        "venue_name": venue.get("name") or "", "address": venue.get("address") or "",
        "postcode": venue.get("postcode") or "", "contact_name": activity.contact_name or "",
        "contact_email": activity.contact_email or "",
        "contact_phone": activity.contact_phone or "",
        "contact_url": activity.contact_url or "",
    }


def propose_changes(session: Session, link: OrganiserLink, form: Mapping[str, Any], *,
                    data_dir: Path) -> ReviewItem:
    """Fields the organiser changed go to moderation; untouched fields are not re-checked."""
    activity = session.get(Activity, link.activity_id)
    assert activity is not None
    before = change_form_values(activity)
    check = FieldChecker(form)
    changed = {f for f in CHANGE_FIELDS if clean_text(
        str(form.get(f) or ""), multiline=f in ("description", "address")) != clean_text(
        before[f], multiline=f in ("description", "address"))}
    proposal: dict[str, Any] = {}
    if "name" in changed:
        proposal["name"] = check.text("name", required="A listing needs a name")
    if "description" in changed:
        proposal["description"] = check.text("description")
    if "schedule" in changed:
        text = check.text("schedule")
        try:
            proposal["schedules"] = [
                {k: v for k, v in rule.to_dict().items() if k != "text"}
                for rule in parse_schedule_text(text)] if text else []
        except ScheduleError as exc:
            check.fail("schedule", exc.message)
    if "cost" in changed:
        try:
            proposal["cost"] = parse_cost(check.text("cost"))
        except ValidationError as exc:
            check.fail("cost", exc.message)
    if changed & {"venue_name", "address", "postcode"}:
        name, address = check.text("venue_name"), check.text("address")
        postcode = check.text("postcode", required="Give the postcode of where it happens now")
        lat, lon, postcode, approximate = locate(check, postcode, None, data_dir, session)
        if lat is not None:
            proposal["venue"] = {"name": name or address or postcode, "address": address,
                                 "postcode": postcode, "lat": lat, "lon": lon,
                                 "approximate": approximate}
    for field, checker in (("contact_name", None), ("contact_email", values.email),
                           ("contact_phone", values.phone), ("contact_url", values.url)):
        if field not in changed:
            continue
        value = check.text(field)
        if value and checker:
            try:
                value = checker(value, field)
            except ValidationError as exc:
                check.fail(field, exc.message)
        proposal[field] = value
    message = check.text("message")
    if not check.errors and not proposal and not message:
        check.fail("message", "Nothing was changed: correct the details above, or tell us "
                              "here what is different")
    if check.errors:
        raise SuggestionInvalid(check.errors)
    return _for_review(session, link, "changed", "organiser-changes",
                       {"changes": proposal, "message": message, "email": link.email})


def report_stopped(session: Session, link: OrganiserLink, note: str | None) -> ReviewItem:
    """"It has stopped": the listing is marked possibly closed until a coordinator decides."""
    activity = session.get(Activity, link.activity_id)
    assert activity is not None
    note = clean_text(note or "", multiline=True)[:2000] or None
    apply_changes(session, activity, {"possibly_closed": True}, organiser_actor(link),
                  note="the organiser says it has stopped" + (f": {note}" if note else ""))
    return _for_review(session, link, "stopped", "organiser-stopped",
                       {"note": note, "email": link.email})


def _for_review(session: Session, link: OrganiserLink, answer: str, kind: str,
                payload: dict) -> ReviewItem:
    """The organiser's answer as an open item in the coordinators' queue; the link is used."""
    item = ReviewItem(kind=kind, activity_id=link.activity_id,
                      payload=payload, raised_by=f"organiser ({link.email})", status="open",
                      created_at=utcnow())
    session.add(item)
    _used(link, answer)
    session.flush()
    return item
