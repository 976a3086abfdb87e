"""Sources harvested through a real local HTTP server into the database, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from assetmap.db import session_scope
from assetmap.feeds.run import add_source, run_source
from assetmap.listings.changes import Actor, apply_changes
from assetmap.models import Activity, ChangeRecord, ScrapeRun, SourceLink, VerificationEvent

OA_PATHS = ["/feeds/session-series",
            "/feeds/session-series?afterTimestamp=1580293007248&afterId=tlqi1kkclv66",
            "/feeds/session-series?afterTimestamp=1767700000000&afterId=womens-wellbeing-walk",
            "/feeds/session-series?afterTimestamp=1767800000004&afterId=11575967"]


def serve_openactive(server) -> str:
    for number, path in enumerate(OA_PATHS, start=1):
        server.serve(path, f"openactive/page-{number}.json")
    return server.url(OA_PATHS[0])


def serve_oruk(server) -> str:
    for n in (1, 2, 3):
        server.serve(f"/api/services?page={n}&per_page=50", f"openreferral/services-page-{n}.json")
    server.serve("/api/services", "openreferral/services-page-1.json")
    for name in ("lunch-ktcc", "mens-shed", "tea-dance"):
        server.serve(f"/api/services/svc-{name}", f"openreferral/service-svc-{name}.json")
    return server.url("/api/services")


def source(app, type_: str, url: str) -> int:
    with session_scope(app) as s:
        return add_source(s, type=type_, url=url, name=f"test {type_}").id


def snapshot(app) -> tuple:
    """Everything a failed run must leave alone."""
    with session_scope(app) as s:
        return (s.scalar(select(func.count()).select_from(Activity)),
                s.scalar(select(func.count()).select_from(ChangeRecord)),
                s.scalar(select(func.count()).select_from(SourceLink)),
                s.scalar(select(func.count()).select_from(VerificationEvent)),
                tuple(s.scalars(select(Activity.version).order_by(Activity.id))))


def by_name(client) -> dict[str, dict]:
    features = client.get("/api/v1/activities?status=all").get_json()["features"]
    return {f["properties"]["name"]: f for f in features}


def test_openactive_feed_harvests_reruns_unchanged_and_withdraws(app, client, feed_server,
                                                                polite_client):
    sid = source(app, "openactive", serve_openactive(feed_server))
    run = run_source(app, sid, client=polite_client)
    assert run.status == "ok", run.error
    assert run.counts["created"] >= 6 and run.counts["pages"] == 4
    listings = by_name(client)
    tea = listings["Somers Town Tea Dance"]["properties"]
    assert tea["venue"]["postcode"] == "NW1 1EE"
    assert tea["schedule"] and tea["schedule"][0]["kind"] == "monthly"
    assert tea["sources"][0]["url"]
    walk = listings["Women's Wellbeing Walk"]
    assert walk["properties"]["audience"]["gender"] == "female"
    assert walk["geometry"]["coordinates"][1] == pytest.approx(51.5313, abs=1e-3)

    before = snapshot(app)
    # The next poll starts at the end of the feed: nothing new, nothing changed.
    again = run_source(app, sid, client=polite_client)
    assert again.status == "ok" and snapshot(app) == before

    # A full re-read of the same feed from the start changes nothing either.
    with session_scope(app) as s:
        from assetmap.models import Source

        s.get(Source, sid).state = {}
    third = run_source(app, sid, client=polite_client)
    assert third.status == "ok" and third.counts["created"] == 0
    assert third.counts["updated"] == 0 and third.counts["unchanged"] >= 6
    assert snapshot(app)[:4] == before[:4]


def test_deleted_rpde_item_is_withdrawn_with_history_kept(app, client, feed_server,
                                                         polite_client, recorded):
    import json

    sid = source(app, "openactive", serve_openactive(feed_server))
    assert run_source(app, sid, client=polite_client).status == "ok"
    page = json.loads(recorded("openactive/page-2.json"))
    walk = next(i for i in page["items"] if i["id"] == "womens-wellbeing-walk")
    tombstone = {"state": "deleted", "kind": walk["kind"], "id": walk["id"],
                 "modified": walk["modified"] + 10}
    # RPDE positions only move forward: the page after the old end carries a later position.
    after = "/feeds/session-series?afterTimestamp=1767900000000&afterId=z"
    body = {"next": feed_server.url(after), "items": [tombstone]}
    end = {"next": feed_server.url(after), "items": []}
    feed_server.route(OA_PATHS[3], feed_server.reply(body=json.dumps(body).encode(),
                                                     headers={"Content-Type":
                                                              "application/json"}))
    feed_server.route(after, feed_server.reply(
        body=json.dumps(end).encode(), headers={"Content-Type": "application/json"}))
    run = run_source(app, sid, client=polite_client)
    assert run.status == "ok" and run.counts["withdrawn"] == 1
    walk_now = by_name(client)["Women's Wellbeing Walk"]["properties"]
    assert walk_now["status"] == "ended"
    with session_scope(app) as s:
        activity = s.get(Activity, walk_now["id"])
        fields = [c.field for c in s.scalars(select(ChangeRecord).where(
            ChangeRecord.activity_id == activity.id))]
        assert "name" in fields and fields[-1] == "status"


def test_connector_edit_survives_a_disagreeing_feed_and_the_disagreement_is_shown(
        app, client, feed_server, polite_client, login):
    url = serve_oruk(feed_server)
    sid = source(app, "openreferral", url)
    assert run_source(app, sid, client=polite_client).status == "ok"
    lunch = by_name(client)["Kentish Town Lunch Club"]["properties"]
    with session_scope(app) as s:
        activity = s.get(Activity, lunch["id"])
        apply_changes(s, activity, {"description": "Now in the upstairs hall"},
                      Actor("user", "Pat, connector", user_id=None))
        s.get(SourceLink, s.scalar(select(SourceLink.id).where(
            SourceLink.activity_id == activity.id))).fingerprint = "force a re-merge"
    with session_scope(app) as s:
        from assetmap.models import Source

        s.get(Source, sid).state = {}
    run = run_source(app, sid, client=polite_client)
    assert run.status == "ok" and run.counts["disagreements"] >= 1
    after = client.get(f"/api/v1/activities/{lunch['id']}").get_json()["properties"]
    assert after["description"] == "Now in the upstairs hall"
    login("coordinator")
    staff = client.get(f"/api/v1/activities/{lunch['id']}").get_json()["properties"]
    shown = staff["sources"][0]["disagreements"]
    assert shown["description"]["value"] == lunch["description"]
    assert "description" in staff["human_edited_fields"]


def test_one_group_in_two_feeds_is_one_listing_with_two_sources(app, client, feed_server,
                                                               polite_client):
    oa = source(app, "openactive", serve_openactive(feed_server))
    feed_server.serve("/cal.ics", "ical/camden-community.ics", content_type="text/calendar")
    cal = source(app, "ical", feed_server.url("/cal.ics"))
    assert run_source(app, oa, client=polite_client).status == "ok"
    run = run_source(app, cal, client=polite_client)
    assert run.status == "ok" and run.counts["linked"] >= 1
    tea = [f for n, f in by_name(client).items() if "Somers Town Tea Dance" in n]
    assert len(tea) == 1
    assert len(tea[0]["properties"]["sources"]) == 2


def test_oruk_assured_date_is_a_source_verification(app, client, feed_server, polite_client):
    sid = source(app, "openreferral", serve_oruk(feed_server))
    run = run_source(app, sid, client=polite_client)
    assert run.status == "ok", run.error
    with session_scope(app) as s:
        methods = set(s.scalars(select(VerificationEvent.method)))
    assert "source-assured" in methods
    assert any(f["properties"]["freshness"]["last_verified_method"] == "source-assured"
               for f in by_name(client).values())


def test_ical_and_jsonld_sources_appear_on_the_map(app, client, feed_server, polite_client):
    feed_server.serve("/cal.ics", "ical/camden-community.ics", content_type="text/calendar")
    feed_server.serve("/events.html", "html/camden-community-events.html",
                      content_type="text/html")
    for kind, path in (("ical", "/cal.ics"), ("jsonld", "/events.html")):
        run = run_source(app, source(app, kind, feed_server.url(path)), client=polite_client)
        assert run.status == "ok", run.error
    names = by_name(client)
    assert {"Kentish Town Lunch Club", "Chair Yoga for Over-60s"} <= set(names)
    yoga = names["Chair Yoga for Over-60s"]
    assert yoga["properties"]["category"] == "yoga"
    assert yoga["geometry"] is not None


def test_missing_from_a_complete_feed_three_times_is_possibly_closed(app, client, feed_server,
                                                                    polite_client, recorded):
    feed_server.serve("/cal.ics", "ical/camden-community.ics", content_type="text/calendar")
    sid = source(app, "ical", feed_server.url("/cal.ics"))
    assert run_source(app, sid, client=polite_client).status == "ok"
    text = recorded("ical/camden-community.ics").decode()
    events = text.split("BEGIN:VEVENT")
    kept = [e for e in events if "Karaoke Night" not in e]
    assert len(kept) < len(events)
    shorter = "BEGIN:VEVENT".join(kept).encode()
    feed_server.route("/cal.ics", feed_server.reply(body=shorter, headers={
        "Content-Type": "text/calendar"}))
    for _ in range(3):
        assert run_source(app, sid, client=polite_client).status == "ok"
    karaoke = by_name(client)["Karaoke Night"]["properties"]
    assert karaoke["freshness"]["state"] == "possibly-closed"
    assert karaoke["status"] == "active"  # flagged, never deleted


@pytest.mark.parametrize("fault, reason", [
    ("500", "500"), ("html", "HTML"), ("invalid", "JSON"),
    ("truncated", "connection broken while reading the body"), ("timeout", "timed out"),
])
def test_a_failing_source_changes_nothing_and_says_why(app, client, feed_server, polite_client,
                                                      fault, reason):
    sid = source(app, "openreferral", serve_oruk(feed_server))
    assert run_source(app, sid, client=polite_client).status == "ok"
    with session_scope(app) as s:
        from assetmap.models import Source

        s.get(Source, sid).state = {}
    before = snapshot(app)
    replies = {
        "500": feed_server.reply(status=500, body=b"oops"),
        "html": feed_server.reply(body=b"<!doctype html><html><body>Maintenance</body></html>",
                                  headers={"Content-Type": "text/html"}),
        "invalid": feed_server.reply(body=b'{"contents": [', headers={
            "Content-Type": "application/json"}),
        "truncated": feed_server.reply(body=b'{"contents": []', declared_length=500,
                                       headers={"Content-Type": "application/json"}),
        "timeout": feed_server.reply(body=b"{}", delay=3.0, headers={
            "Content-Type": "application/json"}),
    }
    feed_server.route("/api/services", replies[fault])
    feed_server.route("/api/services?page=1&per_page=50", replies[fault])
    run = run_source(app, sid, client=polite_client)
    assert run.status == "failed"
    assert reason.lower() in run.error.lower()
    assert snapshot(app) == before
    with session_scope(app) as s:
        latest = s.scalars(select(ScrapeRun).where(ScrapeRun.source_id == sid)
                           .order_by(ScrapeRun.id.desc())).first()
        assert latest.status == "failed" and latest.error == run.error
