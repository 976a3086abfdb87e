"""Setting what a referral needs on a listing (taking newcomers, languages, interpreter) as a
person, through the one path every change takes (`apply_changes`: history, provenance)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import cast

from sqlalchemy.orm import Session

from assetmap.errors import NotFound
from assetmap.listings.changes import Actor, apply_changes
from assetmap.listings.service_area import check_remote_area, resolve_areas
from assetmap.models import Activity, utcnow
from assetmap.referral.intake import ROLE_WORDS, parse_intake
from assetmap.referral.languages import parse_languages, parse_yes_no


def said_by(role: str) -> str:
    """Words for who gave an answer: "organiser", "connector", "coordinator"."""
    return ROLE_WORDS.get(role, role)


def set_intake(session: Session, activity: Activity, raw: object, actor: Actor, *,
               role: str, note: str | None = None) -> bool:
    """Record whether the group is taking newcomers. Saying the same again still counts: it
    renews "who said so and when". Returns whether the value itself changed."""
    value = parse_intake(raw)
    records = apply_changes(session, activity, {"intake": value}, actor,
                            note=note or f"taking newcomers, said by the {said_by(role)}")
    if value is not None:
        activity.intake_by, activity.intake_at = said_by(role), utcnow()
    return bool(records)


def set_referral_fields(session: Session, activity_id: int, form: Mapping[str, object],
                        actor: Actor, *, role: str) -> list[str]:
    """The connector's "what a referral needs" form: the fields given, checked; returns the
    names of the fields that changed. ValidationError names the form field."""
    activity = session.get(Activity, activity_id)
    if activity is None:
        raise NotFound(f"There is no activity with id {activity_id}.")
    changed: list[str] = []
    fields: dict[str, object] = {}
    if "languages" in form:
        fields["languages"] = parse_languages(form.get("languages"))
    if "interpreter" in form:
        fields["interpreter"] = parse_yes_no(form.get("interpreter"), "interpreter")
    if form.get("category"):
        fields["category"] = str(form.get("category"))
    if "tags_shown" in form:  # the tag boxes were on the form: none ticked means none
        getlist = getattr(form, "getlist", None)
        fields["tags"] = (list(getlist("tags")) if getlist
                          else [str(tag) for tag in cast(Iterable[object], form.get("tags") or [])])
    if "mode" in form:
        fields["mode"] = str(form.get("mode") or "in-person")
    if "service_area" in form:
        fields["service_area"] = resolve_areas(session, form.get("service_area"))
    if "join_how" in form:
        fields["join_how"] = str(form.get("join_how") or "").replace("\r\n", "\n")
    mode = fields.get("mode", activity.mode)
    area = fields.get("service_area", activity.service_area)
    check_remote_area(cast(str | None, mode), cast(list[str] | None, area))
    if fields:
        changed += [r.field for r in apply_changes(session, activity, fields, actor,
                                                    note=f"set by a {said_by(role)}")]
    said = "intake" in form and str(form.get("intake") or "").strip()
    if said and set_intake(session, activity, form.get("intake"), actor, role=role):
        changed.append("intake")
    session.flush()
    return changed
