"""The public page's "Find activities near…" search and the activity page's map and walk."""

from __future__ import annotations

import html
import re

from assetmap.db import session_scope
from assetmap.models import Activity

CARD = re.compile(r'<li class="card">.*?</li>', re.S)


def test_postcode_search_lists_cards_by_walking_time(client, demo, network):
    r = client.get("/?near=nw5+1tl")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "within a 30 minute walk of NW5 1TL" in page
    cards = CARD.findall(page)
    assert len(cards) >= 5
    metres = [int(re.search(r"min walk</strong> \((\d+) m\)", c).group(1)) for c in cards]
    assert metres == sorted(metres)
    first = cards[0]
    assert re.search(r"When:</span> \w+day \d{1,2} \w+, \d{1,2}(:\d\d)?(am|pm)|When:</span> \w",
                     first)
    assert "Cost:</span>" in first
    assert re.search(r'class="freshness state-[a-z-]+"', first)
    assert 'data-origin=' in page


def test_search_keeps_the_category_filter(client, demo, network):
    page = client.get("/?near=NW5+1TL&category=coffee-morning").get_data(as_text=True)
    cards = CARD.findall(page)
    assert len(cards) >= 2 and all("Coffee morning" in c for c in cards)


def test_unknown_postcode_is_a_400_with_an_error_summary(client, demo):
    r = client.get("/?near=ZZ99+9ZZ")
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert 'class="error-summary"' in page and 'href="#near"' in page
    assert "We could not find" in page and 'value="ZZ99 9ZZ"' in page


def test_search_results_show_names_as_text(client, app, network, lunch_club):
    with session_scope(app) as s:
        s.get(Activity, lunch_club).name = "<img src=x onerror=alert(1)>"
    page = client.get("/?near=NW5+1TL").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<img src=x" not in page


def test_activity_page_has_a_map_human_dates_phone_and_a_walk(client, app, demo, network):
    with session_scope(app) as s:
        activity = s.query(Activity).filter(Activity.contact_phone.is_not(None)).first()
        activity_id, phone = activity.id, activity.contact_phone
    page = client.get(f"/activities/{activity_id}").get_data(as_text=True)
    assert 'id="mini-map"' in page and "data-basemap=" in page
    assert f'href="tel:{phone.replace(" ", "")}"' in page
    assert re.search(r"(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday) \d{1,2} "
                     r"(January|February|March|April|May|June|July|August|September|October|"
                     r"November|December), \d{1,2}(:\d\d)?(am|pm)|12 noon", page)
    assert not re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", page)
    walk = client.get(f"/activities/{activity_id}?from=NW5+1TL")
    text = walk.get_data(as_text=True)
    assert walk.status_code == 200
    assert re.search(r"From NW5 1TL: about <strong>\d+ minutes' walk</strong> \(\d+ m\)", text)
    assert "data-route=" in text
    bad = client.get(f"/activities/{activity_id}?from=not+a+postcode")
    assert bad.status_code == 400 and "We could not find" in bad.get_data(as_text=True)


def test_a_place_name_from_the_extract_works_like_a_postcode(client, demo, network, tiles):
    r = client.get("/?near=kentish+town")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "within a 30 minute walk of Kentish Town" in page
    metres = [int(m) for m in re.findall(r"min walk</strong> \((\d+) m\)", page)]
    assert len(metres) >= 5 and metres == sorted(metres)
    unknown = client.get("/?near=Atlantis")
    assert unknown.status_code == 400
    assert "a place, like Kentish Town" in unknown.get_data(as_text=True)


def test_activity_page_says_when_in_words_not_as_typed(client, app, demo):
    with session_scope(app) as s:
        activity = s.query(Activity).filter(Activity.schedule_rows.any()).first()
        activity_id = activity.id
    page = client.get(f"/activities/{activity_id}").get_data(as_text=True)
    when = re.search(r"<dt>When</dt><dd>(.*?)</dd>", page).group(1)
    assert re.search(r"\d{1,2}(:\d\d)?(am|pm)|12 noon", when), when
    assert not re.search(r"\d\d:\d\d", when), when


def test_a_phone_group_page_says_who_can_join_and_how(client, app, demo):
    with session_scope(app) as s:
        activity = s.query(Activity).filter(Activity.mode == "phone").first()
        activity_id, join_how = activity.id, activity.join_how
    page = client.get(f"/activities/{activity_id}").get_data(as_text=True)
    where = re.search(r"<dt>Where</dt><dd>(.*?)</dd>", page, re.S).group(1)
    assert where.startswith("By phone, for people in: ") and "No area given" not in where
    assert "<dt>How to join</dt>" in page and html.escape(join_how.splitlines()[0]) in page
