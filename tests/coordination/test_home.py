"""/coordinator: the counts that say what needs a coordinator today, and each role's home."""

from __future__ import annotations

import re

from sqlalchemy import update

from assetmap.db import session_scope
from assetmap.models import Activity, OutboxMessage, ScrapeRun, Source, Suggestion
from assetmap.people.accounts import areas_by_ids, find_user
from tests.conftest import csrf_token
from tests.coordinator.conftest import NOW


def _count(page: str, key: str) -> int:
    match = re.search(rf'id="need-{key}">\s*<a href="([^"]+)"><span class="count">(\d+)</span>',
                      page)
    assert match, f"no count {key}"
    return int(match.group(2))


def test_home_counts_for_an_admin(app, client, login, scenario):
    with session_scope(app) as s:
        s.add(Suggestion(reference="S-1", fields={"name": "A"}, status="pending"))
        s.add(OutboxMessage(kind="organiser-check", to_address="a@example.org", subject="x",
                            body_text="x", status="retry", attempts=1,
                            error="ConnectionRefusedError: [Errno 111] Connection refused"))
        s.add(OutboxMessage(kind="organiser-check", to_address="b@example.org", subject="x",
                            body_text="x", status="sent"))
        ok = Source(type="ical", url="http://a.example/ok", name="Ok feed")
        bad = Source(type="ical", url="http://a.example/bad", name="Bad feed")
        s.add_all([ok, bad])
        s.flush()
        s.add_all([ScrapeRun(source_id=ok.id, status="failed", started_at=NOW.replace(hour=1)),
                   ScrapeRun(source_id=ok.id, status="ok", started_at=NOW.replace(hour=2)),
                   ScrapeRun(source_id=bad.id, status="failed", started_at=NOW.replace(hour=2))])
        s.execute(update(Activity).where(Activity.id == scenario["Phoned quiz"])
                  .values(assigned_user_id=1))
    login("admin")
    page = client.get("/coordinator/").get_data(as_text=True)
    assert "Listings in every area" in page
    assert _count(page, "stale-all") == 7
    assert _count(page, "moderation") == 1
    assert _count(page, "feeds") == 1
    assert _count(page, "outbox") == 1
    assert _count(page, "assignments") == 1
    # The count links to the queue of exactly those checks, the filter shown in words.
    link = re.search(r'id="need-assignments">\s*<a href="([^"]+)"', page).group(1)
    queue = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert "Work queue <span class=\"muted\">(1 assigned to someone," in queue
    assert '<option value="any" selected>Assigned to someone</option>' in queue
    assert queue.count('name="ids" value=') == 1
    assert f'name="ids" value="{scenario["Phoned quiz"]}"' in queue
    assert "People</a>" in page
    assert "Coverage has not been worked out yet" in page


def test_a_coordinator_counts_their_areas_and_lands_on_their_home(app, client, scenario,
                                                                    wards):
    from assetmap.people.users import create_user

    with session_scope(app) as s:
        user = create_user(s, email="hi@example.org", role="coordinator",
                           password="correct horse battery")
        user.areas = areas_by_ids(s, [wards["Highgate"]])
    token = csrf_token(client, "/login")
    signed_in = client.post("/login", data={"email": "hi@example.org", "password":
                                            "correct horse battery", "csrf_token": token})
    assert signed_in.headers["Location"] == "/coordinator/"
    page = client.get("/coordinator/").get_data(as_text=True)
    assert "Listings in your areas: Highgate" in page
    assert _count(page, "stale-" + str(wards["Highgate"])) == 3
    assert _count(page, "outbox") == 0 and "Nothing to do" in page
    assert "People</a>" not in page
    with session_scope(app) as s:
        find_user(s, "hi@example.org").areas = []
    assert _count(client.get("/coordinator/").get_data(as_text=True), "stale-all") == 7


def test_a_connector_lands_on_the_search_and_cannot_open_the_home(client, login, wards):
    login("connector")
    assert client.get("/home").headers["Location"] == "/connector"
    assert client.get("/coordinator/").status_code == 403
