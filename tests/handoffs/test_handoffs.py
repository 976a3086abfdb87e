"""Let the group know: the message reaches a real SMTP server and the outbox; the organiser's
signed answer works once, only for its listing, until it expires; the connector sees it; and
how it went is counted per listing and per category (with the coordinators' CSV)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import select

from assetmap.handoffs import service
from assetmap.listings.field_words import field_words
from assetmap.models import Handoff, OutboxMessage, utcnow
from tests.conftest import csrf_token
from tests.handoffs.conftest import ANSWER_URL, make_handoff, send

MESSAGE = "Someone may come on Tuesday; they would like a quiet welcome."


def _answer(client, url_path: str, token: str, answer: str = "looking-out"):
    return client.post(url_path, data={"csrf_token": csrf_token(client, "/login"),
                                       "token": token, "answer": answer})


def test_the_message_reaches_smtp_and_the_outbox(app, client, session, connector, listing,
                                                 mailbox):
    page = client.get(f"/connector/activities/{listing}/let-them-know")
    assert page.status_code == 200
    assert '<option value="Tuesday ' in page.get_data(as_text=True)  # next sessions
    response = send(client, listing, MESSAGE, session="Tuesday 2 December, 12 noon")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/connector/activities/{listing}#handoffs")

    (mail,) = mailbox.wait_for(1)
    assert mail["To"] == "lunch@example.org"
    assert mail["Subject"] == "Someone may come to Lunch Club"
    body = mail.get_content()
    assert MESSAGE in body and "Tuesday 2 December, 12 noon" in body
    assert ANSWER_URL.search(body).group(1) == str(listing)
    assert connector not in body  # the connector's own address is not sent either

    handoff = session.scalar(select(Handoff))
    assert handoff.message == MESSAGE and handoff.answer is None
    (outbox,) = session.scalars(select(OutboxMessage)).all()
    assert (outbox.kind, outbox.status, outbox.to_address, outbox.activity_id) == (
        "handoff", "sent", "lunch@example.org", listing)
    assert outbox.meta == {"handoff_id": handoff.id}
    assert outbox.body_text == body.replace("\r\n", "\n")

    # The listing page says it was sent and that no answer has come yet.
    html = client.get(f"/connector/activities/{listing}").get_data(as_text=True)
    assert handoff.reference in html and "No answer yet" in html


def test_a_listing_without_an_email_says_so_and_stores_nothing(app, client, session, connector,
                                                                make_listing, mailbox):
    quiet = make_listing("Phone-only club", "lunch-club", email=None)
    assert "Phone them instead" in client.get(
        f"/connector/activities/{quiet}/let-them-know").get_data(as_text=True)
    response = send(client, quiet, MESSAGE)
    assert response.status_code == 400
    assert "no contact e-mail" in response.get_data(as_text=True)
    assert session.scalar(select(Handoff)) is None
    assert session.scalar(select(OutboxMessage)) is None


def test_the_signed_answer_works_once_only_for_its_listing(app, client, session, connector,
                                                          listing, make_listing, mailbox):
    other = make_listing("Coffee Morning", "coffee-morning")
    send(client, listing, MESSAGE)
    url = ANSWER_URL.search(mailbox.wait_for(1)[0].get_content())
    path, token = f"/group/answer/{url.group(1)}", url.group(2)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/connector")})

    # Opening the link changes nothing (mail scanners open links).
    page = client.get(f"{path}?token={token}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert MESSAGE in html and "We&#39;ll look out for them" in html
    assert session.scalar(select(Handoff.answer)) is None

    # Only for its listing: the same token on another listing's page, or a changed token.
    assert client.get(f"/group/answer/{other}?token={token}").status_code == 404
    assert _answer(client, f"/group/answer/{other}", token).status_code == 404
    assert _answer(client, path, token[:-3] + "abc").status_code == 400
    assert _answer(client, path, "").status_code == 400
    # Nor is it an organiser "is this still right?" link (its own salt).
    assert client.get(f"/organiser/check?token={token}").status_code == 400
    assert _answer(client, path, token, answer="maybe").status_code == 400
    session.expire_all()
    assert session.scalar(select(Handoff.answer)) is None

    done = _answer(client, path, token, answer="full")
    assert done.status_code == 200 and "We&#39;re full" in done.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(Handoff.answer)) == "full"

    # Once only: a second click (even a different answer) is refused and changes nothing.
    again = _answer(client, path, token, answer="looking-out")
    assert again.status_code == 409
    assert "already been used" in again.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(Handoff.answer)) == "full"


def test_the_answer_link_expires(app, client, session, login, listing):
    email = login("connector")
    handoff_id = make_handoff(app, listing, email, days_ago=15)  # the link lasts 14 days
    handoff = session.get(Handoff, handoff_id)
    token = service.sign_token(app.config, {"a": listing, "h": handoff.id, "n": handoff.nonce},
                               salt=service.SALT)
    page = client.get(f"/group/answer/{listing}?token={token}")
    assert page.status_code == 410 and "expired" in page.get_data(as_text=True)
    assert _answer(client, f"/group/answer/{listing}", token).status_code == 410
    session.expire_all()
    assert session.get(Handoff, handoff_id).answer is None
    # The same token once its hand-off's expiry date is moved on answers: it was the date
    # that refused it, not the token.
    handoff.expires_at = utcnow() + timedelta(days=1)
    session.commit()
    assert _answer(client, f"/group/answer/{listing}", token).status_code == 200


def test_the_connector_sees_the_answer_on_the_listing_and_in_their_list(
        app, client, session, login, listing):
    email = login("connector")
    make_handoff(app, listing, email, answer="looking-out")
    html = client.get(f"/connector/activities/{listing}").get_data(as_text=True)
    assert "We&#39;ll look out for them" in html
    mine = client.get("/connector/handoffs")
    assert mine.status_code == 200 and mine.headers["Cache-Control"] == "no-store"
    assert "We&#39;ll look out for them" in mine.get_data(as_text=True)


def test_how_did_it_go_is_asked_after_three_weeks_and_only_of_its_connector(
        app, client, session, login, listing):
    email = login("connector")
    recent = make_handoff(app, listing, email, days_ago=3)
    old = make_handoff(app, listing, email, days_ago=22)
    html = client.get("/connector/handoffs").get_data(as_text=True)
    due = html[html.index("How did it go?"):html.index("All your hand-offs")]
    assert f'id="handoff-{old}"' in due and f'id="handoff-{recent}"' not in due

    path = f"/connector/handoffs/{old}/outcome"
    token = csrf_token(client, "/connector/handoffs")
    assert client.post(path, data={"csrf_token": token, "outcome": "kept"}).status_code == 400
    assert client.post(path, data={"csrf_token": token,
                                   "outcome": "still-going"}).status_code == 302
    session.expire_all()
    assert session.get(Handoff, old).outcome == "still-going"
    html = client.get("/connector/handoffs").get_data(as_text=True)
    assert f'id="handoff-{old}"' not in html[html.index("How did it go?"):
                                             html.index("All your hand-offs")]

    # Another connector can neither see nor answer it.
    login("connector")
    assert f"handoff-{old}" not in client.get("/connector/handoffs").get_data(as_text=True)
    other = client.post(path, data={"csrf_token": csrf_token(client, "/connector/handoffs"),
                                    "outcome": "didnt-go"})
    assert other.status_code == 404
    session.expire_all()
    assert session.get(Handoff, old).outcome == "still-going"


def test_outcomes_count_per_listing_and_per_category(app, client, session, login, listing,
                                                    make_listing):
    email = login("connector")
    coffee = make_listing("Coffee Morning", "coffee-morning")
    for outcome in ("still-going", "still-going", "still-going", "didnt-go", "dont-know",
                    None):
        make_handoff(app, listing, email, outcome=outcome, answer="looking-out")
    make_handoff(app, coffee, email, outcome="went-once")
    make_handoff(app, coffee, email, outcome="still-going", answer="full")

    counted = service.outcomes_by_listing(session, [listing, coffee])
    assert counted[listing].referred == 6
    # "Don't know" and no answer are not counted as known outcomes.
    assert counted[listing].words() == "3 of 4 people referred this year kept going"
    assert counted[coffee].words() == "1 of 2 people referred this year kept going"
    html = client.get(f"/connector/activities/{listing}").get_data(as_text=True)
    assert "3 of 4 people referred this year kept going" in html

    login("coordinator")
    page = client.get("/coordinator/handoffs")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Lunch club" in text and "Coffee morning" in text
    response = client.get("/coordinator/handoffs.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    by = {r["category"]: r for r in rows}
    assert set(by) == {"lunch-club", "coffee-morning"}
    assert by["lunch-club"] == {
        "category": "lunch-club", "category_label": "Lunch club", "referred": "6",
        "organiser_answered": "6", "went-once": "0", "still-going": "3", "didnt-go": "1",
        "dont-know": "1", "no_outcome_yet": "1", "kept_going_share": "0.75"}
    assert (by["coffee-morning"]["referred"], by["coffee-morning"]["organiser_answered"],
            by["coffee-morning"]["went-once"]) == ("2", "1", "1")
    # Another year has none; a bad year is a 400 naming the parameter.
    last = client.get(f"/coordinator/handoffs.csv?year={utcnow().year - 1}")
    assert len(list(csv.reader(io.StringIO(last.get_data(as_text=True))))) == 1
    bad = client.get("/coordinator/handoffs?year=soon")
    assert bad.status_code == 400 and field_words("year") in bad.get_data(as_text=True)
    # Connectors do not see the coordinators' page.
    login("connector")
    assert client.get("/coordinator/handoffs").status_code in (302, 403)


def test_ids_too_large_for_the_database_are_a_404(app, client, connector):
    huge = 2**40
    assert client.get(f"/connector/activities/{huge}/let-them-know").status_code == 404
    assert client.get(f"/group/answer/{huge}?token=x").status_code == 404
    token = csrf_token(client, "/connector/handoffs")
    assert client.post(f"/connector/handoffs/{huge}/outcome", data={
        "csrf_token": token, "outcome": "went-once"}).status_code == 404
