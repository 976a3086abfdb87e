"""When nothing fits: near misses that say what was relaxed, and "Nothing suitable" recording
only the ward, date, needs, interests and day/time, counted for coordinators beside coverage."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import quote

from sqlalchemy import inspect, select

from assetmap import db
from assetmap.handoffs import unmet
from assetmap.listings.field_words import field_words
from assetmap.models import Area, UnmetNeed, utcnow
from tests.conftest import csrf_token

ORIGIN = "NW1 2DB"  # 51.5295, -0.1272
NEAR = (51.5322, -0.1272)  # about 300 m north
FAR = (51.5375, -0.1272)  # about 900 m north: more than 10 minutes' walk, less than 20
SEARCH = f"/connector?postcode={quote(ORIGIN)}&minutes=10&interests=lunch-club&day=wed"
ALLOWED = {"id", "area_id", "searched_on", "needs", "interests", "day", "time_of_day"}


def _hidden(html: str, form_id: str = "nothing-suitable") -> list[tuple[str, str]]:
    start = html.rindex("<form", 0, html.index(f'id="{form_id}"'))
    form = html[start:html.index("</form>", start)]
    return re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)


def test_the_unmet_need_table_holds_only_the_allowed_fields(app):
    columns = {c["name"] for c in inspect(db.get_engine(app)).get_columns("unmet_needs")}
    assert columns == ALLOWED


def test_a_thin_search_shows_near_misses_and_what_was_relaxed(app, client, connector, wards,
                                                              make_listing, network):
    tuesday = make_listing("Tuesday Lunch", "lunch-club", at=NEAR)
    coffee = make_listing("Wednesday Coffee", "coffee-morning", at=NEAR,
                          schedules=("Wednesdays 10:00-12:00",))
    far = make_listing("Far Lunch", "lunch-club", at=FAR, schedules=("Wednesdays 12:00-14:00",))

    html = client.get(SEARCH).get_data(as_text=True)
    assert "Nothing fits: near misses" in html
    section = html[html.index('id="near-misses"'):]
    longer = section.index("A longer walk: up to 20 minutes instead of 10")
    other_day = section.index("Another day or time")
    related = section.index("A related kind of activity")
    assert longer < other_day < related
    assert f"/connector/activities/{far}\"" in section[longer:other_day]
    assert f"/connector/activities/{tuesday}\"" in section[other_day:related]
    assert f"/connector/activities/{coffee}\"" in section[related:]

    # The button's form carries the ward and what was asked for: no postcode, no point.
    hidden = _hidden(html)
    names = {name for name, _value in hidden}
    assert names == {"csrf_token", "ward", "interests", "day", "time"}
    ward = dict(hidden)["ward"]
    assert ward in wards.values()
    assert ORIGIN not in str(hidden) and "51.5" not in str(hidden)

    # A search that finds plenty shows no near misses.
    for n in range(5):
        make_listing(f"Wednesday Lunch {n}", "lunch-club", at=NEAR,
                     schedules=("Wednesdays 12:00-14:00",))
    assert 'id="near-misses"' not in client.get(SEARCH).get_data(as_text=True)


def test_nothing_suitable_records_only_ward_date_needs_interests_and_day_time(
        app, client, session, connector, wards):
    kilburn = wards["Kilburn"]
    token = csrf_token(client, "/connector")
    response = client.post("/connector/nothing-suitable", data={
        "csrf_token": token, "ward": kilburn, "needs": ["wheelchair-accessible", "men-only"],
        "interests": "mens-group", "day": "today", "time": "evening",
        # Anything else posted is ignored, however it got there.
        "postcode": ORIGIN, "lat": "51.5295", "lon": "-0.1272", "name": "Someone"})
    assert response.status_code == 302
    (row,) = session.scalars(select(UnmetNeed)).all()
    today = utcnow().date()
    assert row.area_id == session.scalar(select(Area.id).where(Area.code == kilburn))
    assert row.searched_on == today
    assert (row.needs, row.interests, row.time_of_day) == (
        ["wheelchair-accessible", "men-only"], ["mens-group"], "evening")
    assert row.day == ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[today.weekday()]
    raw = dict(session.execute(select(UnmetNeed.__table__)).mappings().one())
    assert set(raw) == ALLOWED
    assert ORIGIN not in str(raw) and "51.5295" not in str(raw)


def test_bad_values_are_refused_naming_the_field(app, client, session, connector, wards):
    token = csrf_token(client, "/connector")
    for field, data in (("ward", {"ward": "E05999999"}), ("needs", {"needs": "tall"}),
                        ("interests", {"interests": "knitting-circle"}),
                        ("day", {"day": "someday"}), ("time", {"time": "noonish"})):
        response = client.post("/connector/nothing-suitable",
                               data={"csrf_token": token, **data})
        assert response.status_code == 400, field
        assert field_words(field) in response.get_data(as_text=True)  # named, in words
    assert session.scalar(select(UnmetNeed)) is None


def test_coordinators_see_unmet_searches_by_ward_and_kind_beside_coverage(
        app, client, session, login, wards):
    areas = dict(session.execute(select(Area.name, Area.id)).all())
    march = date(utcnow().year, 3, 14)
    now = utcnow()
    for _ in range(12):
        session.add(UnmetNeed(area_id=areas["Kilburn"], searched_on=march, needs=[],
                              interests=["mens-group"]))
    session.add(UnmetNeed(area_id=areas["Kilburn"], searched_on=now.date(), needs=[],
                          interests=["mens-group"], day="thu", time_of_day="morning"))
    session.add(UnmetNeed(area_id=areas["Highgate"], searched_on=now.date(),
                          needs=["step-free"], interests=[]))
    session.commit()

    rows = unmet.unmet_summary(session, since=date(march.year, 1, 1),
                               until=now.date().replace(day=28).replace(
                                   year=now.year + 1))
    assert rows[0].sentence == (f"12 searches for a men's group in Kilburn in March "
                                f"{march.year} found nothing")
    sentences = {r.sentence for r in rows}
    assert (f"1 search for anything step-free access in Highgate in {now:%B %Y} found "
            "nothing") in sentences

    login("coordinator")
    page = client.get("/coordinator/unmet?months=24").get_data(as_text=True)
    assert f"12 searches for a men&#39;s group in Kilburn in March {march.year}" in page
    coverage = client.get("/coordinator/coverage").get_data(as_text=True)
    assert "Searches that found nothing" in coverage
    assert "/coordinator/unmet" in coverage
    assert client.get("/coordinator/unmet?months=forever").status_code == 400
