"""Listings as JSON / GeoJSON: the one place that decides what leaves the server.

Private notes and connector judgements are included only when `include_private` is set, which
views do for signed-in connectors and coordinators; public pages and exports never set it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from assetmap import vocab
from assetmap.freshness.rules import of_listing
from assetmap.models import Activity, Venue
from assetmap.referral.intake import intake_dict
from assetmap.referral.languages import languages_words
from assetmap.schedule import describe_all, next_sessions


def venue_to_dict(venue: Venue | None, lat: float | None, lon: float | None) -> dict | None:
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
    freshness = of_listing(activity, now)
    data: dict[str, Any] = {
        "id": activity.id,
        "name": activity.name,
        "category": activity.category,
        "category_label": vocab.CATEGORY_LABELS.get(activity.category, activity.category),
        "description": activity.description,
        "status": activity.status,
        "mode": activity.mode,
        "venue": venue_to_dict(activity.venue, lat, lon),
        "organisation": {"id": activity.organisation.id, "name": activity.organisation.name,
                         "url": activity.organisation.url} if activity.organisation else None,
        "cost": {"kind": activity.cost_kind,
                 "amount": str(activity.cost_amount) if activity.cost_amount is not None
                 else None,
                 "text": activity.cost_text},
        "audience": {"age_min": activity.age_min, "age_max": activity.age_max,
                     "gender": activity.gender},
        "tags": activity.tags,
        "schedule": [dict(rule.to_dict()) for rule in rules],
        "schedule_text": describe_all(rules),
        "next_sessions": [s.to_dict() for s in next_sessions(rules, now, count=sessions)],
        "contact": {"name": activity.contact_name, "email": activity.contact_email,
                    "phone": activity.contact_phone, "url": activity.contact_url},
        "first_visit": activity.first_visit,
        "intake": intake_dict(activity.intake, activity.intake_by, activity.intake_at, now),
        "languages": activity.languages or [],
        "languages_words": languages_words(activity.languages, activity.interpreter),
        "interpreter": activity.interpreter,
        "service_area": activity.service_area,
        "join_how": activity.join_how,
        "freshness": freshness.to_dict() | {
            "last_seen_by_source_at": activity.last_seen_by_source_at.isoformat()
            if activity.last_seen_by_source_at else None},
        "sources": [{"source_id": link.source_id, "url": link.url,
                     "last_seen_at": link.last_seen_at.isoformat(),
                     "withdrawn": link.withdrawn} for link in activity.source_links],
        "demo": activity.demo,
        "updated_at": activity.updated_at.isoformat(),
        "version": activity.version,
    }
    if include_private:
        for link, out in zip(activity.source_links, data["sources"], strict=True):
            out["disagreements"] = link.disagreements or {}
        data["human_edited_fields"] = sorted((activity.field_provenance or {}).keys())
        data["verifications"] = [{
            "verified_at": e.verified_at.isoformat(), "method": e.method,
            "by": e.actor_label, "note": e.note, "judgement": e.judgement,
        } for e in activity.verifications]
    return data


def to_feature(activity: Activity, *, now: datetime, lat: float | None, lon: float | None,
               include_private: bool = False) -> dict[str, Any]:
    geometry = {"type": "Point", "coordinates": [lon, lat]} if lat is not None else None
    return {"type": "Feature", "id": activity.id, "geometry": geometry,
            "properties": activity_to_dict(activity, now=now, lat=lat, lon=lon,
                                           include_private=include_private)}
