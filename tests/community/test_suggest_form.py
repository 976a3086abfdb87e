"""The public /suggest form: plain, labelled, keeps what was typed, and traps robots only."""

from __future__ import annotations

import io
import re
import time
from urllib.parse import urlencode

import lxml.html
import pytest
from sqlalchemy import select

from assetmap.community.suggestions import HONEYPOT_FIELD, fill_token
from assetmap.models import Suggestion
from tests.community.conftest import form_tokens, valid_form


def _stored(session) -> list[Suggestion]:
    session.expire_all()
    return list(session.scalars(select(Suggestion)))


def test_every_control_has_a_label(client):
    response = client.get("/suggest")
    assert response.status_code == 200
    doc = lxml.html.fromstring(response.get_data(as_text=True))
    controls = [c for c in doc.iter("input", "select", "textarea")
                if c.get("type") != "hidden"]
    assert len(controls) > 40
    for control in controls:
        wrapped = any(a.tag == "label" for a in control.iterancestors())
        labelled = control.get("id") and doc.xpath(f'//label[@for="{control.get("id")}"]')
        assert wrapped or labelled, f"{control.get('name')} has no label"
    assert doc.xpath('//meta[@name="viewport"]')


def test_valid_form_is_stored_and_thanks_with_the_reference(client, session):
    response = client.post("/suggest", data=valid_form() | form_tokens(client))
    assert response.status_code == 303
    (stored,) = _stored(session)
    assert response.headers["Location"].endswith(f"ref={stored.reference}")
    assert stored.channel == "web" and stored.status == "pending"
    f = stored.fields
    assert f["schedule_text"] == "Tuesdays 12:00-14:00"
    assert f["cost_kind"] == "amount" and f["cost_amount"] == "3.50"
    assert f["tags"] == ["drop-in", "step-free"]
    assert f["contact_url"] == "https://www.example.org"
    thanks = client.get(response.headers["Location"]).get_data(as_text=True)
    assert stored.reference in thanks


def test_monthly_fortnightly_and_one_off_schedules(client, session):
    for extra in ({"frequency": "monthly", "week_of_month": "-1", "days": ["FR"]},
                  {"frequency": "fortnightly", "days": ["WE"]},
                  {"frequency": "once", "on_date": "2099-06-05", "days": None}):
        response = client.post("/suggest", data=valid_form(**extra) | form_tokens(client))
        assert response.status_code == 303, response.get_data(as_text=True)
    texts = sorted(s.fields["schedule_text"] for s in _stored(session))
    assert texts == ["2099-06-05 12:00-14:00", "Every other Wednesday 12:00-14:00",
                     "Last Friday 12:00-14:00"]


def test_errors_are_shown_by_each_field_and_everything_typed_is_kept(client, session):
    data = valid_form(name="", postcode="NOT A POSTCODE", start_time="25:00",
                      contact_email="pat-at-example", days=["TU", "TH"],
                      description="Soup & a <b>chat</b>")
    response = client.post("/suggest", data=data | form_tokens(client))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    for field in ("name", "postcode", "start_time", "contact_email"):
        assert f'id="f-{field}-error"' in page, field
        assert f'href="#f-{field}"' in page  # linked from the summary at the top
    assert 'value="NOT A POSTCODE"' in page and 'value="pat-at-example"' in page
    assert "Soup &amp; a &lt;b&gt;chat&lt;/b&gt;</textarea>" in page
    assert re.search(r'value="TU" checked', page) and re.search(r'value="TH" checked', page)
    assert re.search(r'value="step-free" checked', page)
    assert 'aria-invalid="true"' in page
    assert _stored(session) == []


def test_consent_is_asked_when_a_contact_is_given(client, session):
    data = valid_form(suggester_contact="07700 900123")
    response = client.post("/suggest", data=data | form_tokens(client))
    assert response.status_code == 400
    assert 'id="f-contact_consent-error"' in response.get_data(as_text=True)
    response = client.post("/suggest", data=data | {"contact_consent": "yes"}
                           | form_tokens(client))
    assert response.status_code == 303
    assert _stored(session)[0].suggester_contact == "07700 900123"


def test_honeypot_submissions_are_thanked_and_dropped(client, session):
    data = valid_form() | form_tokens(client) | {"company_website": "http://spam.example"}
    response = client.post("/suggest", data=data)
    assert response.status_code == 303 and "ref=" not in response.headers["Location"]
    assert _stored(session) == []


def test_honeypot_is_hidden_from_people(client):
    page = client.get("/suggest").get_data(as_text=True)
    trap = re.search(r'<div class="trap" aria-hidden="true">(.*?)</div>', page, re.S)
    assert trap and 'tabindex="-1"' in trap.group(1) and 'autocomplete="off"' in trap.group(1)


def test_a_form_sent_too_quickly_is_shown_again_to_check(client, app, session):
    app.config["SUGGEST_MIN_FILL_SECONDS"] = 3
    tokens = form_tokens(client)
    response = client.post("/suggest", data=valid_form() | tokens)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "check the details" in page and 'value="Kentish Town Tuesday Lunch"' in page
    # The same start time is kept, so sending again after a moment goes through.
    assert f'value="{tokens["started"]}"' in page
    assert _stored(session) == []
    earlier = fill_token(app.config["SECRET_KEY"], time.time() - 60)
    response = client.post("/suggest", data=valid_form() | tokens | {"started": earlier})
    assert response.status_code == 303
    assert len(_stored(session)) == 1


def test_a_missing_or_forged_start_time_is_not_accepted(client, app, session):
    tokens = form_tokens(client)
    forged = fill_token("another-key", time.time() - 600)
    for started in ("", forged, tokens["started"][:-2]):
        response = client.post("/suggest", data=valid_form() | tokens | {"started": started})
        assert response.status_code == 400
    assert _stored(session) == []


def test_oversized_form_answers_413_with_the_form_naming_the_limit(client, app):
    app.config["MAX_CONTENT_LENGTH"] = 20_000
    data = valid_form(description="x" * 30_000) | form_tokens(client)
    response = client.post("/suggest", data=data)
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "too long for us to read in full" in page and "more than 20 KB in all" in page
    assert 'id="f-name"' in page and "bytes" not in page  # the form again, in plain words
    assert response.mimetype == "text/html"


def _oversize(client, app, fields: list[tuple[str, str]], *, limit: int = 20_000,
              chunked: bool = False):
    """POST the fields, in this order, as a urlencoded body over `limit` bytes."""
    app.config["MAX_CONTENT_LENGTH"] = limit
    body = urlencode(fields).encode()
    assert len(body) > limit
    if not chunked:
        return client.post("/suggest", data=body,
                           content_type="application/x-www-form-urlencoded")
    return client.post("/suggest", input_stream=io.BytesIO(body),
                       headers={"Content-Type": "application/x-www-form-urlencoded",
                                "Transfer-Encoding": "chunked"},
                       environ_overrides={"wsgi.input_terminated": True})


def _typed(client) -> list[tuple[str, str]]:
    """The form's fields in the order a browser sends them."""
    tokens = form_tokens(client)
    return [("csrf_token", tokens["csrf_token"]), ("started", tokens["started"]),
            (HONEYPOT_FIELD, ""), ("name", "Kentish Town Tuesday Lunch"),
            ("category", "lunch-club")]


@pytest.mark.parametrize("chunked", [False, True])
def test_an_oversize_form_comes_back_with_what_was_typed(client, app, session, chunked):
    fields = [*_typed(client), ("description", "Hot lunch, then a quiz. " + "x" * 30_000),
              ("venue_name", "Kentish Town Community Centre")]
    response = _oversize(client, app, fields, chunked=chunked)
    assert response.status_code == 413
    doc = lxml.html.fromstring(response.get_data(as_text=True))
    assert doc.get_element_by_id("f-name").value == "Kentish Town Tuesday Lunch"
    assert doc.get_element_by_id("f-category").value == "lunch-club"
    kept = doc.get_element_by_id("f-description").text_content()
    assert kept == ("Hot lunch, then a quiz. " + "x" * 30_000)[:4000]
    # The message is on the field itself and in the error summary, which links to it.
    message = "This was too long, so we kept the first 4,000 characters. Check how it ends."
    error = doc.get_element_by_id("f-description-error").text_content()
    assert error == "Error: " + message
    assert doc.get_element_by_id("f-description").get("aria-invalid") == "true"
    assert "f-description-error" in doc.get_element_by_id("f-description").get(
        "aria-describedby")
    summary = doc.get_element_by_id("error-summary")
    (link,) = summary.xpath(".//a")
    assert link.get("href") == "#f-description" and link.text_content() == (
        "What happens: " + message)
    # What came after the limit did not arrive; nothing was stored.
    assert doc.get_element_by_id("f-venue_name").value in ("", None)
    assert _stored(session) == []


def test_a_field_the_limit_cut_through_is_kept_as_far_as_it_came(client, app, session):
    fields = [*_typed(client), ("description", "Hot two-course lunch."),
              ("unknown", "y" * 19_000), ("notes", "Ask for Pat at the door. " * 40)]
    response = _oversize(client, app, fields)
    assert response.status_code == 413
    doc = lxml.html.fromstring(response.get_data(as_text=True))
    assert doc.get_element_by_id("f-description").text_content() == "Hot two-course lunch."
    notes = doc.get_element_by_id("f-notes").text_content()
    assert notes and ("Ask for Pat at the door. " * 40).startswith(notes)
    assert len(notes) < 1000
    assert doc.get_element_by_id("f-notes-error").text_content() == (
        "Error: Only the start of this reached us. Check how it ends.")
    assert "f-description-error" not in response.get_data(as_text=True)
    assert "y" * 100 not in response.get_data(as_text=True)  # not a field of the form
    assert _stored(session) == []


def test_a_cut_never_leaves_half_a_character(client, app):
    fields = [*_typed(client), ("description", "’" * 10_000)]  # 9 bytes each: %E2%80%99
    start = len(urlencode(fields[:-1]) + "&description=")
    for limit in range(19_990, 19_999):  # the limit falls in each byte of one character
        response = _oversize(client, app, fields, limit=limit)
        doc = lxml.html.fromstring(response.get_data(as_text=True))
        kept = doc.get_element_by_id("f-description").text_content()
        assert kept == "’" * ((limit - start) // 9), limit


def test_an_oversize_form_with_a_filled_trap_is_shown_but_never_stored(client, app, session):
    fields = [*_typed(client)[:2], (HONEYPOT_FIELD, "http://spam.example"),
              ("name", "Spam"), ("description", "x" * 30_000)]
    response = _oversize(client, app, fields)
    assert response.status_code == 413
    assert "spam.example" not in response.get_data(as_text=True)
    assert _stored(session) == []


def test_text_boxes_carry_their_limits(client):
    page = client.get("/suggest").get_data(as_text=True)
    assert re.search(r'id="f-name"[^>]*maxlength="300"', page)
    assert re.search(r'id="f-description"[^>]*maxlength="4000"[^>]*data-counter=', page)
    assert 'id="f-description-count"' in page and "Up to 4000 characters." in page


def test_the_map_and_nav_link_to_the_form(client):
    assert 'href="/suggest"' in client.get("/").get_data(as_text=True)
