"""POST /api/v1/suggestions: 201 with a reference, 400 naming each bad field, 413, 429."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from assetmap.models import Suggestion
from tests.community.conftest import form_tokens, valid_api, valid_form


def _count(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Suggestion))


def test_accepted_suggestion_answers_201_with_a_reference(client, session):
    response = client.post("/api/v1/suggestions", json=valid_api())
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "pending" and body["reference"].startswith("S-")
    stored = session.scalar(select(Suggestion).where(Suggestion.reference == body["reference"]))
    assert stored.channel == "api"
    assert stored.fields["name"] == "Kentish Town Tuesday Lunch"
    assert stored.fields["schedule_text"] == "Tuesdays 12:00-14:00"
    assert stored.fields["cost_kind"] == "amount" and stored.fields["cost_amount"] == "3.50"
    assert stored.fields["postcode"] == "NW5 2AB"
    assert abs(stored.lat - 51.549222) < 1e-6 and abs(stored.lon + 0.14068) < 1e-6
    # Nothing personal is echoed back.
    assert "contact_email" not in json.dumps(body)


def test_400_names_every_invalid_field_at_once(client, session):
    response = client.post("/api/v1/suggestions", json=valid_api(
        name="  ", postcode="ZZ9", contact_email="not-an-email", tags=["step-free", "nope"],
        schedule="whenever", age_min=130, cost="lots"))
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid"
    assert set(body["errors"]) == {"name", "postcode", "contact_email", "tags", "schedule",
                                   "age_min", "cost"}
    assert "nope" in body["errors"]["tags"]
    assert body["field"] in body["errors"]
    assert _count(session) == 0


def test_unknown_fields_and_wrong_types_are_refused(client):
    response = client.post("/api/v1/suggestions", json=valid_api(website="x"))
    assert response.status_code == 400
    assert response.get_json()["field"] == "website"
    assert "name" in response.get_json()["allowed"]
    response = client.post("/api/v1/suggestions", json=valid_api(name=["a list"],
                                                                 contact_consent="yes"))
    assert response.status_code == 400
    assert set(response.get_json()["errors"]) == {"name", "contact_consent"}
    assert client.post("/api/v1/suggestions", json=["not", "an", "object"]).status_code == 400


def test_body_must_be_json(client):
    response = client.post("/api/v1/suggestions", data="name=x",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and response.get_json()["field"] == "body"
    response = client.post("/api/v1/suggestions", data="{not json",
                           content_type="application/json")
    assert response.status_code == 400 and response.get_json()["field"] == "body"


def test_oversized_body_answers_413_naming_the_limit(client, app, session):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.post("/api/v1/suggestions",
                           json=valid_api(description="x" * (limit + 10)))
    assert response.status_code == 413
    body = response.get_json()
    assert body["limit_bytes"] == limit and str(limit) in body["message"]
    assert _count(session) == 0


def test_too_long_field_is_400_not_413(client):
    response = client.post("/api/v1/suggestions", json=valid_api(name="n" * 301))
    assert response.status_code == 400
    assert "300" in response.get_json()["errors"]["name"]


def test_rate_limit_answers_429_after_five_and_counts_only_accepted(client, session):
    for _ in range(3):  # mistakes do not use up the allowance
        assert client.post("/api/v1/suggestions", json={"name": ""}).status_code == 400
    for i in range(5):
        assert client.post("/api/v1/suggestions",
                           json=valid_api(name=f"Group {i}")).status_code == 201
    response = client.post("/api/v1/suggestions", json=valid_api(name="One too many"))
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 3000
    body = response.get_json()
    assert body["error"] == "too-many-requests" and "5 suggestions per hour" in body["message"]
    assert _count(session) == 5
    # Another address has its own allowance.
    other = client.post("/api/v1/suggestions", json=valid_api(name="Elsewhere"),
                        environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 201


def test_rate_limit_is_configurable_and_shared_with_the_form(client, app, session):
    app.config["SUGGEST_RATE_LIMIT"] = "2 per day"
    assert client.post("/api/v1/suggestions", json=valid_api()).status_code == 201
    response = client.post("/suggest", data=valid_form() | form_tokens(client))
    assert response.status_code == 303
    response = client.post("/suggest", data=valid_form(name="Third") | form_tokens(client))
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "2 suggestions per day" in page and 'value="Third"' in page
    assert _count(session) == 2


def test_category_is_guessed_when_not_given(client, session):
    response = client.post("/api/v1/suggestions", json=valid_api(
        category=None, name="Camden Tea Dance", description="Ballroom and sequence"))
    assert response.status_code == 201
    stored = session.scalar(select(Suggestion))
    assert stored.fields["category"] == "tea-dance" and stored.fields["category_guessed"]


def test_where_from_a_pin_an_address_or_nowhere_for_online_groups(client, session):
    pinned = client.post("/api/v1/suggestions", json=valid_api(postcode=None, lat=51.55,
                                                               lon="-0.14"))
    assert pinned.status_code == 201
    in_address = client.post("/api/v1/suggestions", json=valid_api(
        postcode=None, address="17 Busby Place, London NW5 2AB"))
    assert in_address.status_code == 201
    online = client.post("/api/v1/suggestions", json=valid_api(postcode=None, mode="online"))
    assert online.status_code == 201
    nowhere = client.post("/api/v1/suggestions", json=valid_api(postcode=None))
    assert nowhere.status_code == 400 and "postcode" in nowhere.get_json()["errors"]
    half = client.post("/api/v1/suggestions", json=valid_api(postcode=None, lat=51.5))
    assert half.status_code == 400 and "lon" in half.get_json()["errors"]
    rows = {s.reference: s for s in session.scalars(select(Suggestion))}
    by_ref = {r.get_json()["reference"]: r for r in (pinned, in_address, online)}
    assert rows[pinned.get_json()["reference"]].lat == 51.55
    assert rows[in_address.get_json()["reference"]].fields["postcode"] == "NW5 2AB"
    assert rows[online.get_json()["reference"]].lat is None
    assert len(by_ref) == 3


def test_suggester_contact_needs_explicit_consent(client, session):
    response = client.post("/api/v1/suggestions", json=valid_api(
        suggester_contact="me@example.org"))
    assert response.status_code == 400
    assert "contact_consent" in response.get_json()["errors"]
    response = client.post("/api/v1/suggestions", json=valid_api(
        suggester_name="Sam", suggester_contact="me@example.org", contact_consent=True))
    assert response.status_code == 201
    stored = session.scalar(select(Suggestion))
    assert stored.contact_consent and stored.suggester_contact == "me@example.org"


def test_control_characters_are_dropped_not_stored(client, session):
    response = client.post("/api/v1/suggestions", json=valid_api(
        name="Knit\u0000 and\u0007 natter", description="line one\r\nline\u0000 two"))
    assert response.status_code == 201
    stored = session.scalar(select(Suggestion))
    assert stored.fields["name"] == "Knit and natter"
    assert stored.fields["description"] == "line one\nline two"


def test_dates_in_the_past_are_refused(client):
    response = client.post("/api/v1/suggestions",
                           json=valid_api(schedule="2020-01-07 10:00-12:00"))
    assert response.status_code == 400 and "past" in response.get_json()["errors"]["schedule"]


def test_api_needs_no_csrf_token_but_the_form_does(client):
    assert client.post("/api/v1/suggestions", json=valid_api()).status_code == 201
    response = client.post("/suggest", data=valid_form())
    assert response.status_code == 400
    assert "csrf_token" in response.get_data(as_text=True)


def test_partner_pages_may_post_from_the_browser(client):
    preflight = client.options("/api/v1/suggestions", headers={
        "Origin": "https://partner.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Headers"] == "Content-Type"
    invalid = client.post("/api/v1/suggestions", json={},
                          headers={"Origin": "https://partner.example"})
    assert invalid.status_code == 400
    assert invalid.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in invalid.headers
