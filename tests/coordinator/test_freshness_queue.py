"""Cached due dates, the summary and the work queue, on SpatiaLite and PostGIS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from assetmap.db import session_scope
from assetmap.errors import ValidationError
from assetmap.freshness import queue as fq
from assetmap.listings.changes import SYSTEM, Actor, apply_changes
from assetmap.listings.verification import record_verification
from assetmap.models import Activity, ReviewItem, Source, SourceLink
from assetmap.web import forms
from tests.coordinator.conftest import EXPECTED, HIGHGATE, NOW, days_ago, recompute


def test_every_state_comes_out_as_the_rules_say(app, scenario):
    with app.app_context(), session_scope(app) as s:
        # The cache is kept by the checks and changes themselves: no job run needed.
        summary = fq.summary(s, fq.QueueFilter(), now=NOW)
    assert summary["counts"] == EXPECTED and summary["total"] == 10
    report = recompute(app)
    assert report.listings == 11  # the ended one is cached too, but counted nowhere else
    assert report.by_state == EXPECTED | {"very-stale": 2}
    assert recompute(app).changed == 0  # nothing to write the second time
    with app.app_context(), session_scope(app) as s:
        again = fq.summary(s, fq.QueueFilter(), now=NOW)
    assert again["counts"] == EXPECTED
    by_ward = {row["name"]: row["counts"] for row in again["by_area"] if row["total"]}
    assert by_ward == {
        "Kilburn": {"fresh": 2, "due-soon": 1, "stale": 0, "very-stale": 0,
                    "possibly-closed": 1, "unknown": 0},
        "Highgate": {"fresh": 0, "due-soon": 0, "stale": 2, "very-stale": 1,
                     "possibly-closed": 0, "unknown": 0},
        "Bloomsbury": {"fresh": 0, "due-soon": 0, "stale": 0, "very-stale": 0,
                       "possibly-closed": 0, "unknown": 2},
    }
    assert again["outside_wards"]["counts"]["unknown"] == 1
    categories = {row["category"]: row["total"] for row in again["by_category"]}
    assert categories["lunch-club"] == 4 and "befriending" in categories


def test_the_queue_is_most_overdue_first_with_words(app, scenario):
    with app.app_context(), session_scope(app) as s:
        page = fq.queue(s, fq.QueueFilter(), now=NOW)
    names = [item["name"] for item in page.items]
    assert names == ["Feed only", "Phone friends", "Old tea dance", "Paused garden", "New walk",
                     "Imported choir", "Dropped club", "Phoned quiz"]
    by_name = {item["name"]: item for item in page.items}
    assert by_name["Old tea dance"]["state"] == "very-stale"
    assert by_name["Old tea dance"]["overdue"] == "7 months overdue"
    assert by_name["Old tea dance"]["area"] == "Highgate"
    assert by_name["Dropped club"]["reason"] == "missing from the feed Camden directory for 3 runs"
    assert by_name["Dropped club"]["due_at"] == days_ago(5).isoformat()
    assert by_name["Phoned quiz"]["overdue"] == "due in 2 weeks"
    assert by_name["New walk"]["checked"] == "never checked"
    assert by_name["New walk"]["overdue"] == "listed 7 weeks ago"
    assert by_name["Imported choir"]["checked"] == (
        "not checked for 3 months (last check: from a coordinator's list)")
    assert "private note" not in repr(page.items)


def test_filters_by_ward_category_feed_and_state(app, scenario):
    with app.app_context(), session_scope(app) as s:
        source = Source(type="openreferral", url="https://example.org/", name="Directory")
        s.add(source)
        s.flush()
        s.add(SourceLink(activity_id=scenario["Imported choir"], source_id=source.id,
                         external_id="x1"))
        s.flush()

        def names(**args) -> list[str]:
            flt = forms.queue_filter(s, {k: str(v) for k, v in args.items()})
            return sorted(i["name"] for i in fq.queue(s, flt, now=NOW).items)

        assert names(area="Highgate") == ["Imported choir", "Old tea dance", "Paused garden"]
        assert names(area="highgate", state="all") == names(area="Highgate")
        assert names(area="Kilburn", state="all") == ["Answered club", "Dropped club",
                                                       "Phoned quiz", "Visited lunch"]
        assert names(category="lunch-club") == ["Dropped club", "Feed only"]
        assert names(source=source.id) == ["Imported choir"]
        assert names(state="stale,very-stale") == ["Imported choir", "Old tea dance",
                                                   "Paused garden"]
        assert names(state="fresh") == ["Answered club", "Visited lunch"]
        assert names(state="unknown") == ["Feed only", "New walk", "Phone friends"]
        summary = fq.summary(s, forms.queue_filter(s, {"area": "Highgate"}), now=NOW)
        assert summary["total"] == 3 and [r["name"] for r in summary["by_area"]] == ["Highgate"]


def test_filters_by_who_the_check_is_assigned_to(app, scenario):
    from assetmap.people.users import create_user

    with app.app_context(), session_scope(app) as s:
        ann = create_user(s, email="ann@example.org", role="connector", name="Ann",
                          password="correct horse battery")
        bob = create_user(s, email="bob@example.org", role="connector",
                          password="correct horse battery")
        s.flush()
        for name, who in (("Old tea dance", ann), ("Answered club", ann), ("New walk", bob)):
            s.get(Activity, scenario[name]).assigned_user_id = who.id
        s.flush()

        def names(**args) -> list[str]:
            flt = forms.queue_filter(s, {k: str(v) for k, v in args.items()})
            return sorted(i["name"] for i in fq.queue(s, flt, now=NOW).items)

        # Fresh listings are in only when every state is asked for.
        assert names(assigned="any") == ["New walk", "Old tea dance"]
        assert names(assigned="any", state="all") == ["Answered club", "New walk",
                                                      "Old tea dance"]
        assert names(assigned=ann.id, state="all") == ["Answered club", "Old tea dance"]
        assert names(assigned="BOB@example.org") == ["New walk"]
        nobody = names(assigned="nobody", state="all")
        assert len(nobody) == 10 - 3 and "New walk" not in nobody
        flt = forms.queue_filter(s, {"assigned": "ann@example.org"})
        assert flt.assigned_name == "Ann" and flt.to_args() == {"assigned": str(ann.id)}


@pytest.mark.parametrize("args, field", [
    ({"area": "Atlantis"}, "area"), ({"category": "juggling"}, "category"),
    ({"source": "abc"}, "source"), ({"source": "999"}, "source"), ({"state": "mouldy"}, "state"),
    ({"assigned": "nobody@example.org"}, "assigned"), ({"assigned": "999"}, "assigned"),
])
def test_bad_filters_name_the_field(app, wards, args, field):
    with app.app_context(), session_scope(app) as s, pytest.raises(ValidationError) as info:
        forms.queue_filter(s, args)
    assert info.value.field == field


def test_a_check_moves_the_listing_at_once_and_answers_a_closure(app, scenario):
    with app.app_context(), session_scope(app) as s:
        for name in ("Imported choir", "Dropped club"):
            record_verification(s, s.get(Activity, scenario[name]), "phoned",
                                Actor("user", "tester"), at=NOW - timedelta(hours=1))
    with app.app_context(), session_scope(app) as s:
        states = {i["name"]: i["state"] for i in fq.queue(
            s, forms.queue_filter(s, {"state": "all"}), now=NOW).items}
    assert states["Imported choir"] == "fresh" and states["Dropped club"] == "fresh"


def test_a_category_change_moves_the_due_date(app, make_listing):
    made = make_listing("Trips", checks=((100, "connector-visited"),))
    with app.app_context(), session_scope(app) as s:
        activity = s.get(Activity, made.id)
        assert activity.freshness_due_at == days_ago(100) + timedelta(days=182)
        apply_changes(s, activity, {"category": "days-out"}, SYSTEM)
        assert activity.freshness_due_at == days_ago(100) + timedelta(days=91)
        assert fq.queue(s, fq.QueueFilter(), now=NOW).items[0]["state"] == "stale"


def test_a_feed_dropping_it_or_a_report_makes_it_possibly_closed(app, make_listing):
    dropped = make_listing("Dropped by feed", checks=((40, "phoned"),))
    reported = make_listing("Reported", checks=((40, "phoned"),), at=HIGHGATE)
    with session_scope(app) as s:
        source = Source(type="openactive", url="https://example.org/feed", name="Leisure feed")
        s.add(source)
        s.flush()
        s.add(SourceLink(activity_id=dropped.id, source_id=source.id, external_id="a",
                         last_seen_at=days_ago(10), missed_runs=3))
        s.add(ReviewItem(kind="report-closed", activity_id=reported.id, raised_by="connector",
                         status="open", created_at=days_ago(3)))
    recompute(app)
    with app.app_context(), session_scope(app) as s:
        items = {i["name"]: i for i in fq.queue(s, fq.QueueFilter(), now=NOW).items}
        assert items["Dropped by feed"]["state"] == "possibly-closed"
        assert items["Dropped by feed"]["reason"] == "missing from the feed Leisure feed for 3 runs"
        assert items["Reported"]["reason"] == "reported closed by connector"
        # Both were due from the moment the signal came.
        assert items["Reported"]["due_at"] == days_ago(3).isoformat()
        record_verification(s, s.get(Activity, dropped.id), "connector-visited",
                            Actor("user", "tester"), at=days_ago(1))
    recompute(app)
    with app.app_context(), session_scope(app) as s:
        states = {i["name"]: i["state"] for i in fq.queue(
            s, forms.queue_filter(s, {"state": "all"}), now=NOW).items}
    assert states == {"Dropped by feed": "fresh", "Reported": "possibly-closed"}


def test_the_job_leaves_updated_at_alone(app, scenario):
    with session_scope(app) as s:
        before = dict(s.execute(select(Activity.id, Activity.updated_at)).all())
        versions = dict(s.execute(select(Activity.id, Activity.version)).all())
    report = recompute(app, NOW + timedelta(days=60))  # states move: rows are rewritten
    assert report.changed > 0
    with session_scope(app) as s:
        assert dict(s.execute(select(Activity.id, Activity.updated_at)).all()) == before
        assert dict(s.execute(select(Activity.id, Activity.version)).all()) == versions


def test_paging(app, scenario):
    with app.app_context(), session_scope(app) as s:
        first = fq.queue(s, fq.QueueFilter(), now=NOW, page=1, per_page=3)
        third = fq.queue(s, fq.QueueFilter(), now=NOW, page=3, per_page=3)
    assert first.total == 8 and first.pages == 3 and len(first.items) == 3
    assert [i["name"] for i in third.items] == ["Dropped club", "Phoned quiz"]
    with pytest.raises(ValidationError) as info:
        forms.page_args({"per_page": "5000"})
    assert info.value.field == "per_page"

