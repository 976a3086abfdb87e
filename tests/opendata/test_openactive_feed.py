"""The OpenActive RPDE feed: RPDE's rules, the dataset site, and a round trip through
AssetMap's own OpenActive scraper into another database over real HTTP."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.serving import make_server

from assetmap import config as app_config
from assetmap import create_app, db, migrate, vocab
from assetmap.db import session_scope
from assetmap.feeds.run import add_source, run_source
from assetmap.listings.changes import SYSTEM, Actor, apply_changes, create_activity
from assetmap.listings.venues import venue_point
from assetmap.listings.verification import record_verification
from assetmap.models import Activity
from assetmap.schedule import LONDON, ScheduleRule, occurrences
from scrapers.http import PoliteClient

FEED = "/openactive/session-series"


@pytest.fixture
def listings(app, demo) -> dict[str, int]:
    """Beside the demo: schedules of every kind, online, and listings OpenActive cannot carry
    (by phone, no Activity List concept, no price, paused, ended, pending)."""
    soon = (datetime.now(LONDON) + timedelta(days=10)).date()
    later = soon + timedelta(days=21)
    made = {}
    with session_scope(app) as s:
        venue_id = s.scalar(select(Activity.venue_id).where(Activity.venue_id.is_not(None))
                            .order_by(Activity.id).limit(1))
        specs = {
            "dated": {"schedules": [f"{soon.isoformat()} 10:00-12:00",
                                    f"{later.isoformat()} 14:00-15:30"], "venue_id": venue_id,
                      "category": "walking-group", "cost_kind": "free", "age_min": 60},
            "mixed": {"schedules": ["every other Tuesday 10:00-11:00",
                                    f"{later.isoformat()} 18:00-19:00"],
                      "venue_id": venue_id, "category": "yoga", "cost_kind": "amount",
                      "cost_amount": "4.50", "gender": "female",
                      "tags": ["step-free", "hearing-loop", "women-only"]},
            "monthly": {"schedules": ["last Friday of the month 13:00-15:00"],
                        "venue_id": venue_id, "category": "tea-dance", "age_min": 18,
                        "age_max": 65, "cost_kind": "free"},
            "online": {"schedules": ["Wednesdays 19:00-20:00"], "mode": "online",
                       "category": "pilates", "cost_kind": "amount", "cost_amount": "3"},
            "phone": {"schedules": ["Mondays 11:00-11:30"], "mode": "phone",
                      "category": "chair-exercise", "cost_kind": "free"},
            "lunch": {"schedules": ["Mondays 12:00-13:00"], "venue_id": venue_id,
                      "category": "lunch-club", "cost_kind": "free"},
            "unpriced": {"schedules": ["Mondays 14:00-15:00"], "venue_id": venue_id,
                         "category": "zumba", "cost_kind": "small-fee"},
            "paused": {"schedules": ["Thursdays 10:00-11:00"], "venue_id": venue_id,
                       "category": "gardening", "cost_kind": "free"},
            "ended": {"schedules": ["Thursdays 15:00-16:00"], "venue_id": venue_id,
                      "category": "swimming", "cost_kind": "free"},
            "pending": {"schedules": ["Fridays 10:00-11:00"], "venue_id": venue_id,
                        "category": "swimming", "cost_kind": "free"},
        }
        for key, fields in specs.items():
            activity = create_activity(s, {"name": f"Round trip {key}",
                                           "description": f"The {key} one."} | fields, SYSTEM)
            made[key] = activity.id
        for key in ("paused", "ended", "pending"):
            apply_changes(s, s.get(Activity, made[key]), {"status": key}, SYSTEM)
    return made


@pytest.fixture
def served(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def other_app(tmp_path):
    """A second AssetMap on its own new SpatiaLite database."""
    url = f"sqlite:///{tmp_path / 'other.sqlite'}"
    engine = db.make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    other = create_app(app_config.TestConfig(url, NETWORK_DIR=tmp_path / "other-networks"))
    yield other
    db.dispose(other)


def walk_feed(client, start: str = FEED) -> tuple[list[dict], list[dict], str]:
    """(pages, items, the last page's next) following `next` until an empty page."""
    pages, items, url = [], [], start
    for _ in range(500):
        response = client.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        page = response.get_json()
        pages.append(page)
        items += page["items"]
        if not page["items"]:
            assert page["next"].endswith(url)  # the last page points at itself
            return pages, items, url
        url = page["next"].replace("http://localhost", "")
    raise AssertionError("the feed never ended")


def test_rpde_rules(app, client, listings):
    app.config["OPENACTIVE_PAGE_SIZE"] = 7
    with session_scope(app) as s:
        record_verification(s, s.get(Activity, listings["mixed"]), "phoned",
                            Actor("user", "Agent Smith"), note="PRIVATE-XYZZY about health")
    pages, items, last = walk_feed(client)
    assert len(pages) > 3 and all(len(p["items"]) <= 7 for p in pages)
    assert all(p["license"] == "https://creativecommons.org/licenses/by/4.0/" for p in pages)
    keys = [(i["modified"], i["id"]) for i in items]
    assert keys == sorted(keys) and len(set(i["id"] for i in items)) == len(items)
    states = {i["id"]: i["state"] for i in items}
    for key in ("ended", "pending", "phone", "paused", "lunch", "unpriced"):
        assert states[listings[key]] == "deleted", key
    tombstone = next(i for i in items if i["id"] == listings["ended"])
    assert set(tombstone) == {"state", "kind", "id", "modified"}
    assert states[listings["online"]] == states[listings["dated"]] == "updated"
    with session_scope(app) as s:
        total = s.scalar(select(Activity.id).order_by(Activity.id.desc()).limit(1))
    assert len(items) == total
    for item in items:
        if item["state"] == "updated":
            assert item["kind"] == item["data"]["@type"] == "SessionSeries"
            assert "XYZZY" not in json.dumps(item) and "Agent Smith" not in json.dumps(item)

    # A change moves the listing to the end of the feed; the last page's next finds only it.
    assert client.get(last).get_json()["items"] == []
    with session_scope(app) as s:
        apply_changes(s, s.get(Activity, listings["mixed"]), {"name": "Renamed"}, SYSTEM)
    fresh = client.get(last).get_json()
    assert [(i["id"], i["data"]["name"]) for i in fresh["items"]] == [(listings["mixed"],
                                                                       "Renamed")]
    assert fresh["items"][0]["modified"] > keys[-1][0]

    for query, field in (("afterTimestamp=1", "afterId"), ("afterId=1", "afterTimestamp"),
                         ("afterTimestamp=x&afterId=1", "afterTimestamp"),
                         ("afterTimestamp=1&afterId=99999999999", "afterId")):
        bad = client.get(f"{FEED}?{query}", headers={"Accept": "application/json"})
        assert bad.status_code == 400 and bad.get_json()["field"] == field, query


def test_series_content(client, listings):
    _pages, items, _last = walk_feed(client)
    by_id = {i["id"]: i.get("data") for i in items}
    dated = by_id[listings["dated"]]
    assert "eventSchedule" not in dated and len(dated["subEvent"]) == 2
    assert all(s["@type"] == "ScheduledSession" for s in dated["subEvent"])
    assert dated["subEvent"][0]["startDate"].endswith(("+00:00", "+01:00"))
    assert dated["isAccessibleForFree"] is True and dated["ageRange"]["minValue"] == 60
    mixed = by_id[listings["mixed"]]
    assert [s["repeatFrequency"] for s in mixed["eventSchedule"]] == ["P2W", "P1D"]
    assert mixed["eventSchedule"][0]["byDay"] == ["https://schema.org/Tuesday"]
    assert mixed["activity"][0]["inScheme"] == "https://openactive.io/activity-list"
    assert mixed["activity"][0]["prefLabel"] == "Yoga"
    assert mixed["activity"][0]["@id"].startswith("https://openactive.io/activity-list#")
    assert mixed["offers"][0]["price"] == 4.5
    assert mixed["genderRestriction"] == "https://openactive.io/FemaleOnly"
    assert {c["prefLabel"] for c in mixed["accessibilitySupport"]} == {"Step-free access",
                                                                       "Hearing loop"}
    assert by_id[listings["monthly"]]["eventSchedule"][0]["byDay"] == ["-1FR"]
    online = by_id[listings["online"]]
    assert online["location"]["@type"] == "VirtualLocation"
    assert online["eventAttendanceMode"].endswith("OnlineEventAttendanceMode")


def test_dataset_site(client):
    page = client.get("/openactive")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', text, re.S)
    data = json.loads(block.group(1))
    assert data["@type"] == "Dataset" and data["license"].startswith("https://creativecommons")
    assert data["distribution"][0]["contentUrl"] == "http://localhost/openactive/session-series"
    assert "http://localhost/openactive/session-series" in text


def sessions(rules: list[ScheduleRule]) -> list[tuple[datetime, datetime | None]]:
    start = datetime.combine(date.today(), time(), tzinfo=LONDON)
    return [(x.start, x.end) for x in occurrences(rules, start, start + timedelta(weeks=10))]


def carried(activity: Activity, located: bool) -> bool:
    """OpenActive's needs, as the README states them: active, an Activity List activity, a
    known price, a venue or online (not by phone)."""
    term = next(t for t in vocab.CATEGORIES if t.id == activity.category)
    return (activity.status == "active" and bool(term.openactive) and activity.mode != "phone"
            and (activity.cost_kind == "free" or activity.cost_kind == "amount")
            and (located or activity.mode == "online"))


def facts(app) -> dict[str, dict]:
    """What a listing says, by name, for every listing an OpenActive feed can carry."""
    with session_scope(app) as s:
        out = {}
        for a in s.scalars(select(Activity).where(Activity.status == "active").options(
                selectinload(Activity.venue), selectinload(Activity.organisation),
                selectinload(Activity.schedule_rows), selectinload(Activity.tag_rows))):
            if not carried(a, a.venue is not None):
                continue
            point = venue_point(s, a.venue) if a.venue else None
            out[a.name] = {
                "description": a.description, "category": a.category, "mode": a.mode,
                "sessions": sessions(a.schedules),
                "venue": (a.venue.name, tuple(round(c, 6) for c in point)) if a.venue
                else None,
                "postcode": a.venue.postcode if a.venue else None,
                "organisation": a.organisation.name if a.organisation else None,
                "cost": (a.cost_kind, a.cost_amount) if a.cost_kind in ("free", "amount")
                else None,
                "ages": (a.age_min, a.age_max),
                "gender": a.gender if a.gender != "any" else "female" if "women-only" in a.tags
                else "male" if "men-only" in a.tags else "any",
                "access": sorted(set(a.tags) & {"step-free", "hearing-loop",
                                                "wheelchair-accessible", "accessible-toilet",
                                                "dementia-friendly", "free", "women-only"}),
            }
        return out


def test_round_trip_through_our_own_scraper(app, listings, served, other_app):
    with session_scope(other_app) as s:
        source_id = add_source(s, type="openactive", url=served + FEED, name="ourselves").id
    with PoliteClient(min_interval=0, backoff=0.01, max_backoff=0.05, retries=1,
                      connect_timeout=5, read_timeout=30) as client:
        run = run_source(other_app, source_id, client=client)
        assert run.status == "ok", run.error
        assert not [i for i in run.issues if i.get("level") == "skipped"], run.issues
        original, copied = facts(app), facts(other_app)
        assert set(copied) == set(original)  # every listing OpenActive can carry, no more
        assert len(original) > 15 and "Round trip lunch" not in original
        assert any(f["postcode"] for f in copied.values())
        for name, want in original.items():
            got = copied[name]
            assert got["organisation"] in (want["organisation"], None) or want[
                "organisation"] is None, name
            got["organisation"] = want["organisation"]
            # A postcode travels in a complete address only (OpenActive needs every part).
            assert got.pop("postcode") in (want.pop("postcode"), None), name
            # The copy may learn more than the listing's own tags say (the venue's features).
            assert set(want.pop("access")) <= set(got.pop("access")), name
            assert got == want, name

        # An ended listing is a tombstone, which the copy honours.
        with session_scope(app) as s:
            apply_changes(s, s.get(Activity, listings["mixed"]), {"status": "ended"}, SYSTEM)
        again = run_source(other_app, source_id, client=client)
        assert again.status == "ok", again.error
        with session_scope(other_app) as s:
            copy = s.scalar(select(Activity).where(Activity.name == "Round trip mixed"))
            assert copy.status != "active"
        assert set(facts(other_app)) == set(original) - {"Round trip mixed"}
