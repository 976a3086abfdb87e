"""The "what a referral needs to know" form, saved safely when two people edit one listing.

The form carries the listing's version and the values it showed. If someone else changed any
of those fields since, nothing is saved: the connector gets the conflict page (the same one as
quick edits), field by field, in words ("Full", "Somali, English", "Kentish Town"), and
chooses what to keep. Every field then goes through `set_referral_fields` as before (history,
provenance, "who said so and when" for taking newcomers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from assetmap import vocab
from assetmap.connector.session import EditConflict, MergeChoice, merged_values
from assetmap.errors import ValidationError
from assetmap.listings.field_words import EMPTY, field_words, value_words
from assetmap.listings.service_area import resolve_areas
from assetmap.models import Activity, ChangeRecord
from assetmap.referral.intake import parse_intake
from assetmap.referral.languages import parse_languages, parse_yes_no

#: The fields of the referral form, in the order the form asks them.
REFERRAL_KEYS: tuple[str, ...] = ("intake", "languages", "interpreter", "category", "tags",
                                  "mode", "service_area", "join_how")
GROUPS: tuple[tuple[str, ...], ...] = tuple((key,) for key in REFERRAL_KEYS)
_LISTS = frozenset({"languages", "tags", "service_area"})


def referral_values(activity: Activity) -> dict[str, str]:
    """A listing's referral fields as one canonical text each (codes; lists joined by ';'),
    so what a form showed can be compared with what is saved now."""
    interpreter = activity.interpreter
    return {
        "intake": activity.intake or "",
        "languages": ";".join(activity.languages or ()),
        "interpreter": "" if interpreter is None else "yes" if interpreter else "no",
        "category": activity.category or "",
        "tags": ";".join(sorted(activity.tags)),
        "mode": activity.mode or "in-person",
        "service_area": ";".join(activity.service_area or ()),
        "join_how": (activity.join_how or "").replace("\r\n", "\n").strip(),
    }


def typed_values(session: Session, form: Mapping[str, Any], base: Mapping[str, str]
                 ) -> dict[str, str]:
    """What the connector put in the form, in the same canonical text; a field the form did
    not send (or "taking newcomers" left unanswered) is as it was. ValidationError names the
    field."""
    typed = dict(base)
    getlist = getattr(form, "getlist", None)
    if str(form.get("intake") or "").strip():
        typed["intake"] = parse_intake(form.get("intake")) or ""
    if "languages" in form:
        typed["languages"] = ";".join(parse_languages(form.get("languages")) or ())
    if "interpreter" in form:
        said = parse_yes_no(form.get("interpreter"), "interpreter")
        typed["interpreter"] = "" if said is None else "yes" if said else "no"
    if form.get("category"):
        category = vocab.resolve_category(str(form.get("category")))
        if category is None:
            raise ValidationError("category", f"unknown category {form.get('category')!r}")
        typed["category"] = category
    if "tags_shown" in form:
        tags = []
        for raw in (getlist("tags") if getlist else form.get("tags") or []):
            tag = vocab.resolve_tag(str(raw))
            if tag is None:
                raise ValidationError("tags", f"unknown suitability tag {raw!r}")
            tags.append(tag)
        typed["tags"] = ";".join(sorted(set(tags)))
    if "mode" in form:
        typed["mode"] = str(form.get("mode") or "in-person")
    if "service_area" in form:
        typed["service_area"] = ";".join(resolve_areas(session, form.get("service_area")) or ())
    if "join_how" in form:
        typed["join_how"] = str(form.get("join_how") or "").replace("\r\n", "\n").strip()
    return typed


def shown_from(form: Mapping[str, Any]) -> dict[str, str]:
    """The values the form was opened with (its hidden `orig_` fields)."""
    return {key: str(form.get(f"orig_{key}") or "") for key in REFERRAL_KEYS}


def stale(activity: Activity, version: int | None, shown: Mapping[str, str]) -> bool:
    """Someone saved a referral field since the form was opened (a newer version alone, from
    a visit or a quick edit of other fields, is not a conflict)."""
    if version is None or activity.version == version:
        return False
    now = referral_values(activity)
    return any(now[key] != shown[key] for key in REFERRAL_KEYS)


def describe(session: Session, activity: Activity, base: Mapping[str, str],
             mine: Mapping[str, str]) -> EditConflict:
    """Both versions of every referral field, in words, for the conflict page."""
    theirs = referral_values(activity)

    def words(values: Mapping[str, str]) -> dict[str, str]:
        return {key: _words(session, key, values[key]) for key in REFERRAL_KEYS}

    choices = [MergeChoice((key,), field_words(key), {key: base[key]}, {key: mine[key]},
                           {key: theirs[key]},
                           {"base": words(base), "mine": words(mine), "theirs": words(theirs)})
               for key in REFERRAL_KEYS]
    changes = list(session.scalars(
        select(ChangeRecord).where(ChangeRecord.activity_id == activity.id)
        .order_by(ChangeRecord.changed_at.desc(), ChangeRecord.id.desc()).limit(6)))
    return EditConflict(activity.version, choices, theirs, changes)


def _words(session: Session, key: str, text: str) -> str:
    if not text:
        return ""
    value: Any = text.split(";") if key in _LISTS else text
    if key == "interpreter":
        value = text == "yes"
    words = value_words(session, key, value)
    return "" if words == EMPTY else words


def merged_form(form: Mapping[str, Any]) -> tuple[MultiDict, list[str]]:
    """The referral form as chosen on the conflict page (only what differs from what is saved
    now, so keeping "saved now" changes nothing), and the fields still needing a choice."""
    chosen, missing = merged_values(form, GROUPS)
    out: MultiDict = MultiDict()
    for key in REFERRAL_KEYS:
        value = chosen[key]
        if value == str(form.get(f"theirs_{key}") or ""):
            continue
        if key == "tags":
            out.add("tags_shown", "1")
            for tag in filter(None, value.split(";")):
                out.add("tags", tag)
        else:
            out.add(key, value)
    return out, missing
