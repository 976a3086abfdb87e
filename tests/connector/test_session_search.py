"""The search posts and comes back after a redirect: the postcode is never in a URL, the
search survives a reload, and "Finish with this client" or signing out forgets it."""

from __future__ import annotations

from tests.conftest import csrf_token
from tests.connector.conftest import search_ids

POSTCODE = "NW1 2DB"


def _post(client, **fields):
    token = csrf_token(client, "/connector")
    return client.post("/connector", data={"csrf_token": token, "minutes": "20", **fields})


def test_posted_search_redirects_to_a_plain_url_and_survives_reload(client, connector, demo,
                                                                    network):
    response = _post(client, postcode=POSTCODE, needs=["free"], newcomers="1")
    assert response.status_code == 303
    assert response.headers["Location"] == "/connector"
    for _reload in range(2):
        page = client.get("/connector")
        assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
        html = page.get_data(as_text=True)
        assert search_ids(html), "the demo data has free activities near NW1 2DB"
        assert f'value="{POSTCODE}"' in html and 'name="needs" value="free" checked' in html
        assert 'id="newcomers" name="newcomers" value="1" checked' in html
        # No link or form on the page carries the postcode in a URL.
        assert "postcode=" not in html and "NW1+2DB" not in html and "NW1%202DB" not in html
    # A bad value comes back as an error next to its field, still without a query string.
    response = _post(client, postcode="ZZ9 9ZZ")
    assert response.headers["Location"] == "/connector"
    bad = client.get("/connector")
    assert bad.status_code == 400 and "not a known postcode" in bad.get_data(as_text=True)


def test_finish_and_sign_out_forget_the_search(client, login, demo, network):
    email = login("connector")
    _post(client, postcode=POSTCODE)
    assert search_ids(client.get("/connector").get_data(as_text=True))
    assert client.get("/connector/finish").status_code == 302
    html = client.get("/connector").get_data(as_text=True)
    assert not search_ids(html) and f'value="{POSTCODE}"' not in html
    _post(client, postcode=POSTCODE)
    token = csrf_token(client, "/connector")
    client.post("/logout", data={"csrf_token": token})
    token = csrf_token(client, "/login")
    client.post("/login", data={"email": email, "password": "correct horse battery",
                                "csrf_token": token})
    assert not search_ids(client.get("/connector").get_data(as_text=True))


def test_a_kept_search_expires(app):
    from assetmap.connector import session_search

    store: dict = {}
    session_search.keep(store, {"postcode": POSTCODE, "csrf_token": "x"}, now=1000.0)
    assert session_search.recall(store, now=1000.0 + 60) == {"postcode": [POSTCODE]}
    assert session_search.recall(store, now=1000.0 + session_search.MAX_AGE + 1) == {}
    assert store == {}
