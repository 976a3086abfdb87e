"""Listings as JSON / GeoJSON: the one place that decides what leaves the server.

Private notes and connector judgements are included only when `include_private` is set, which
views do for signed-in connectors and coordinators; public pages and exports never set it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from assetmap import vocab
from assetmap.freshness.rules import of_listing
from assetmap.listings.query import ListingSummary, VenueShown
from assetmap.models import Activity, Venue
from assetmap.referral.intake import intake_dict
from assetmap.referral.languages import languages_words
from assetmap.schedule import ScheduleRule, Session, describe_all, next_sessions, schedule_words


def venue_to_dict(venue: Venue | VenueShown | None, lat: float | None,
                  lon: float | None) -> dict | None:
    if venue is None:
        return None
    return {
        "id": venue.id,
        "name": venue.name,
        "address": venue.address,
        "postcode": venue.postcode,
        "address_derived": bool(venue.address_derived),
        "lat": lat,
        "lon": lon,
        "location_approximate": venue.location_approximate,
        "accessibility": {
            "step_free": venue.step_free,
            "accessible_toilet": venue.accessible_toilet,
            "hearing_loop": venue.hearing_loop,
            "parking": venue.parking,
            "near_public_transport": venue.near_public_transport,
            "wheelchair": venue.wheelchair,
        },
    }


def activity_to_dict(activity: Activity, *, now: datetime, lat: float | None = None,
                     lon: float | None = None, include_private: bool = False,
                     sessions: int = 3) -> dict[str, Any]:
    rules = activity.schedules
    data = _shown(activity, activity.venue, lat, lon, activity.tags, rules,
                  now=now, sessions=sessions)
    data.update({
        "schedule": [dict(rule.to_dict()) for rule in rules],
        "schedule_words": schedule_words(rules),  # for people; schedule_text parses back
        "description": activity.description,
        "status": activity.status,
        "organisation": {"id": activity.organisation.id, "name": activity.organisation.name,
                         "url": activity.organisation.url} if activity.organisation else None,
        "audience": {"age_min": activity.age_min, "age_max": activity.age_max,
                     "gender": activity.gender},
        "first_visit": activity.first_visit,
        "sources": [{"source_id": link.source_id, "url": link.url,
                     "last_seen_at": link.last_seen_at.isoformat(),
                     "withdrawn": link.withdrawn} for link in activity.source_links],
        "demo": activity.demo,
        "updated_at": activity.updated_at.isoformat(),
        "version": activity.version,
    })
    if include_private:
        for link, out in zip(activity.source_links, data["sources"], strict=True):
            out["disagreements"] = link.disagreements or {}
        data["human_edited_fields"] = sorted((activity.field_provenance or {}).keys())
        data["verifications"] = [{
            "verified_at": e.verified_at.isoformat(), "method": e.method,
            "by": e.actor_label, "note": e.note, "judgement": e.judgement,
        } for e in activity.verifications]
    return data


def summary_to_dict(summary: ListingSummary, *, now: datetime, sessions: int = 3,
                    upcoming: Sequence[Session] = ()) -> dict[str, Any]:
    """What a search shows of a listing: the same keys and values as `activity_to_dict` for
    the columns `assetmap.listings.query.SUMMARY_COLUMNS` reads (the rules only in words).
    `upcoming`: the sessions the search found (the next ones from `now` are worked out only
    when it found none)."""
    venue = summary.venue
    return _shown(summary.row, venue, venue.lat if venue else None,
                  venue.lon if venue else None, summary.tags, summary.rules, now=now,
                  sessions=sessions, upcoming=upcoming)


def _shown(listing: Activity | Row[Any], venue: Venue | VenueShown | None, lat: float | None,
           lon: float | None, tags: list[str], rules: list[ScheduleRule], *, now: datetime,
           sessions: int, upcoming: Sequence[Session] = ()) -> dict[str, Any]:
    """The part of a listing's JSON that searches show too: one home for both."""
    freshness = of_listing(listing, now)
    return {
        "id": listing.id,
        "name": listing.name,
        "category": listing.category,
        "category_label": vocab.CATEGORY_LABELS.get(listing.category, listing.category),
        "mode": listing.mode,
        "venue": venue_to_dict(venue, lat, lon),
        "cost": {"kind": listing.cost_kind,
                 "amount": str(listing.cost_amount) if listing.cost_amount is not None
                 else None,
                 "text": listing.cost_text},
        "tags": tags,
        "schedule_text": describe_all(rules),
        "next_sessions": [s.to_dict() for s in (
            upcoming[:sessions] or next_sessions(rules, now, count=sessions))],
        "contact": {"name": listing.contact_name, "email": listing.contact_email,
                    "phone": listing.contact_phone, "url": listing.contact_url},
        "intake": intake_dict(listing.intake, listing.intake_by, listing.intake_at, now),
        "languages": listing.languages or [],
        "languages_words": languages_words(listing.languages, listing.interpreter),
        "interpreter": listing.interpreter,
        "service_area": listing.service_area,
        "join_how": listing.join_how,
        "freshness": freshness.to_dict() | {
            "last_seen_by_source_at": listing.last_seen_by_source_at.isoformat()
            if listing.last_seen_by_source_at else None},
    }


def to_feature(activity: Activity, *, now: datetime, lat: float | None, lon: float | None,
               include_private: bool = False) -> dict[str, Any]:
    geometry = {"type": "Point", "coordinates": [lon, lat]} if lat is not None else None
    return {"type": "Feature", "id": activity.id, "geometry": geometry,
            "properties": activity_to_dict(activity, now=now, lat=lat, lon=lon,
                                           include_private=include_private)}
