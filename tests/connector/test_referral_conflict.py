"""The referral fields (taking newcomers, languages, interpreter, kind of activity, who it
suits, how it runs, area, how to join) on the conflict-merge page and in the history, in
words: two connectors saving them at once never lose a choice, and nobody reads a code."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from assetmap.demo import load_areas
from assetmap.models import Activity, Area
from tests.conftest import csrf_token


def _hidden(client, activity_id: int) -> dict[str, str]:
    """The referral form's hidden fields as the page gave them (version and what it showed)."""
    page = client.get(f"/connector/activities/{activity_id}").get_data(as_text=True)
    section = page[page.index('id="referral"'):]
    section = section[:section.index("</form>")]
    return {name: html.unescape(value) for name, value in re.findall(
        r'<input type="hidden" name="([^"]+)" value="([^"]*)"', section)}


def _post(client, activity_id: int, form: dict, **typed):
    return client.post(f"/connector/activities/{activity_id}/referral",
                       data={**form, "tags_shown": "1", "mode": "in-person",
                             "interpreter": "", **typed})


def test_two_connectors_saving_referral_fields_merge_them_in_words(
        client, connector, second, listing, read):
    mine = _hidden(client, listing)
    theirs = _hidden(second, listing)
    assert mine["orig_tags"] == "over-50s;welcoming-newcomers" and mine["version"]
    saved = _post(second, listing, theirs, intake="full", languages="en",
                  tags=["over-50s", "welcoming-newcomers"], category="lunch-club")
    assert saved.status_code == 302
    # The first connector, on the form opened before that save, changes three things.
    clash = _post(client, listing, mine, intake="open", languages="Somali", interpreter="yes",
                  tags=["over-50s", "step-free"], category="lunch-club")
    assert clash.status_code == 409
    page = html.unescape(clash.get_data(as_text=True))
    assert "Someone else saved this listing" in page
    assert "Taking newcomers — you both changed this" in page
    assert "Languages — you both changed this" in page
    for words in ("Full", "Open to newcomers", "Somali", "English", "Step-free access",
                  "Welcoming to newcomers", "Interpreter"):
        assert words in page, words
    assert not re.search(r">\s*(few-places|open|so|step-free|intake|languages)\s*<", page)
    # Nothing of either is lost yet: the listing is as the second connector saved it.
    assert read(lambda s: (s.get(Activity, listing).intake,
                           s.get(Activity, listing).interpreter)) == ("full", None)
    # Keep my intake and my tags, their languages; the interpreter is only mine to give.
    form = {name: value for name, value in re.findall(
        r'<input type="hidden" name="([^"]+)" value="([^"]*)"', clash.get_data(as_text=True))}
    form = {k: html.unescape(v) for k, v in form.items()}
    asked = client.post(f"/connector/activities/{listing}/referral",
                        data={**form, "choose_intake": "mine", "choose_tags": "mine"})
    assert asked.status_code == 409 and "Choose a version for every difference" in \
        asked.get_data(as_text=True)
    done = client.post(f"/connector/activities/{listing}/referral", data={
        **form, "choose_intake": "mine", "choose_tags": "mine", "choose_languages": "theirs",
        "choose_interpreter": "mine"})
    assert done.status_code == 302, done.get_data(as_text=True)
    assert read(lambda s: (lambda a: (a.intake, a.languages, a.interpreter, a.tags))(
        s.get(Activity, listing))) == ("open", ["en"], True, ["over-50s", "step-free"])


def test_a_visit_in_between_is_not_a_referral_conflict(client, connector, second, listing,
                                                       read):
    mine = _hidden(client, listing)
    token = csrf_token(second, f"/connector/activities/{listing}")
    second.post(f"/connector/activities/{listing}/checks",
                data={"kind": "visited", "welcoming": "yes", "csrf_token": token})
    assert read(lambda s: s.get(Activity, listing).version) != int(mine["version"])
    saved = _post(client, listing, mine, intake="few-places",
                  tags=["over-50s", "welcoming-newcomers"], category="lunch-club")
    assert saved.status_code == 302
    assert read(lambda s: s.get(Activity, listing).intake) == "few-places"


def test_history_says_the_referral_fields_and_their_values_in_words(app, client, login,
                                                                   listing, session):
    load_areas(session, app.config["DATA_DIR"])
    session.commit()
    ward = session.scalar(select(Area).where(Area.code.like("E05%")).order_by(Area.code))
    login("coordinator")
    form = _hidden(client, listing)
    response = _post(client, listing, form, intake="waiting-list", languages="so, bsl",
                     interpreter="no", category="befriending", mode="phone",
                     service_area=ward.name, join_how="Ring 020 7946 0001",
                     tags=["small-quiet"])
    assert response.status_code == 302, response.get_data(as_text=True)
    page = html.unescape(client.get(f"/coordinator/listings/{listing}/history")
                         .get_data(as_text=True))
    for words in ("Taking newcomers", "Waiting list", "Languages", "Somali, British Sign Language",
                  "Interpreter", "Kind of activity", "Befriending", "Lunch club", "Suits",
                  "Small or quiet group", "In person / online / phone", "By phone",
                  "Area it serves", ward.name, "How to join", "Ring 020 7946 0001"):
        assert words in page, words
    assert ward.code not in page and "waiting-list" not in page
    assert not re.search(r">\s*(intake|service_area|join_how|mode|tags)\s*<", page)
