"""A client's name, postcode and phone number typed into every free-text field of the hand-off
and unmet-need flows end up nowhere: not in any column of any table (the ORM's or not), not in
the app's logs, not in the outbox or any e-mail sent."""

from __future__ import annotations

import logging
from urllib.parse import quote

import pytest
from sqlalchemy import inspect, text

from assetmap import db
from tests.conftest import csrf_token
from tests.handoffs.conftest import ANSWER_URL, send

NAME = "Esmeralda Quigglesworth"
POSTCODE = "NW1 2DB"  # the client's home: also where the search starts
PHONE = "07700 900461"
EMAIL = "esmeralda.q@example.com"
NEEDLES = (NAME, "Quigglesworth", "Esmeralda", POSTCODE, "NW12DB", "nw1 2db", "NW1+2DB",
           PHONE, "07700900461", "7700 900461", "7700900461", EMAIL)
# Every way someone might type them, alone and together.
TYPED = (
    f"{NAME}, {POSTCODE}, {PHONE}",
    f"Please welcome {NAME} ({PHONE}), who lives at {POSTCODE.lower()}",
    f"Mrs Quigglesworth on +44 7700 900461, {EMAIL}",
    f"{NAME} nw12db 07700-900-461",
)


def _everything_stored(engine) -> str:
    """Every column of every table in the database, as text (binary as latin-1)."""
    chunks: list[str] = []
    inspector = inspect(engine)
    with engine.connect() as conn:
        for table in inspector.get_table_names():
            try:
                rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
            except Exception as exc:  # a virtual table that needs a constraint to be read
                pytest.fail(f"could not read table {table}: {exc}")
            for row in rows:
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        chunks.append(bytes(value).decode("latin-1"))
                    elif value is not None:
                        chunks.append(str(value))
    return "\n".join(chunks)


def _found(haystack: str, before: str = "") -> list[str]:
    """The needles in `haystack` more often than in `before` (reference data such as the
    postcode directory holds a real postcode before any client types it; a row a flow wrote
    with it would still add one)."""
    folded, earlier = haystack.casefold(), before.casefold()
    return [n for n in NEEDLES if folded.count(n.casefold()) > earlier.count(n.casefold())]


def test_client_identifiers_typed_anywhere_are_stored_nowhere(app, client, connector, wards,
                                                              make_listing, network, mailbox,
                                                              caplog):
    caplog.set_level(logging.DEBUG)
    listing = make_listing("Men's Shed", "mens-group", at=(51.5322, -0.1272))
    before = _everything_stored(db.get_engine(app))

    # A thin search from the client's postcode: near misses and "Nothing suitable".
    search = client.get(f"/connector?postcode={quote(POSTCODE)}&minutes=10"
                        "&interests=mens-group&day=wed&needs=men-only")
    html = search.get_data(as_text=True)
    assert search.status_code == 200 and 'id="nothing-suitable"' in html
    token = csrf_token(client, "/connector")
    for typed in TYPED:
        # Hidden fields cannot be trusted: extra and altered ones are refused or ignored.
        response = client.post("/connector/nothing-suitable", data={
            "csrf_token": token, "ward": wards["Kilburn"], "needs": "men-only",
            "interests": "mens-group", "day": "wed", "time": "", "postcode": POSTCODE,
            "lat": "51.5295", "lon": "-0.1272", "name": NAME, "note": typed})
        assert response.status_code == 302
        for field in ("ward", "needs", "interests", "day", "time"):
            bad = client.post("/connector/nothing-suitable",
                              data={"csrf_token": token, field: typed})
            assert bad.status_code == 400, field

    # Let the group know: every free-text field, every way of typing.
    for typed in TYPED:
        refused = send(client, listing, typed)
        assert refused.status_code == 400
        page = refused.get_data(as_text=True)
        assert "AssetMap never keeps details that could identify the person" in page
        assert PHONE not in page and POSTCODE not in page and EMAIL not in page
        hint = send(client, listing, "They would like a quiet welcome.", session=typed)
        assert hint.status_code == 400
    assert not mailbox.messages

    # A good message; the organiser answers; later, how it went.
    assert send(client, listing, "They would like a quiet welcome.").status_code == 302
    url = ANSWER_URL.search(mailbox.wait_for(1)[0].get_content())
    path, answer_token = f"/group/answer/{url.group(1)}", url.group(2)
    form_token = csrf_token(client, "/connector/handoffs")
    for typed in TYPED:
        assert client.post(path, data={"csrf_token": form_token, "token": answer_token,
                                       "answer": typed}).status_code == 400
    assert client.post(path, data={"csrf_token": form_token, "token": answer_token,
                                   "answer": "looking-out", "note": NAME}).status_code == 200
    handoff_id = int(client.get("/connector/handoffs").get_data(as_text=True)
                     .split('id="handoff-')[1].split('"')[0])
    for typed in TYPED:
        assert client.post(f"/connector/handoffs/{handoff_id}/outcome", data={
            "csrf_token": form_token, "outcome": typed}).status_code == 400
    assert client.post(f"/connector/handoffs/{handoff_id}/outcome", data={
        "csrf_token": form_token, "outcome": "still-going", "note": NAME}).status_code == 302

    # Nothing anywhere: tables, logs, the outbox (a table) and the e-mails sent.
    stored = _everything_stored(db.get_engine(app))
    assert "They would like a quiet welcome." in stored  # the scan does see the hand-off
    assert "mens-group" in stored  # ... and the unmet-need rows
    assert _found(stored, before) == []
    assert _found(caplog.text) == []
    assert _found("\n".join(m.as_string() for m in mailbox.messages)) == []
