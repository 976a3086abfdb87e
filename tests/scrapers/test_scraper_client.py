"""PoliteClient against a real local HTTP server: robots, retries, limits, conditional GETs."""

from __future__ import annotations

import socket
import time

import pytest

from scrapers.http import DEFAULT_USER_AGENT, PoliteClient, expect_calendar
from scrapers.records import FeedFormatError, FetchError, ResponseTooLarge, RobotsDisallowed

JSON = {"Content-Type": "application/json"}


def test_identifies_itself_and_reads_robots_once_per_host(feed_server, polite_client):
    feed_server.route("/a", feed_server.reply(body=b"{}", headers=JSON))
    feed_server.route("/b", feed_server.reply(body=b"[]", headers=JSON))

    assert polite_client.get_json(feed_server.url("/a")) == {}
    assert polite_client.get_json(feed_server.url("/b")) == []

    assert [r.path for r in feed_server.requests] == ["/robots.txt", "/a", "/b"]
    assert all(r.headers["User-Agent"] == DEFAULT_USER_AGENT for r in feed_server.requests)


def test_robots_disallow_stops_the_request_before_it_is_sent(feed_server, polite_client):
    feed_server.robots = "User-agent: *\nDisallow: /private\n\nUser-agent: AssetMap\n" \
                         "Disallow: /members*\n"
    feed_server.route("/members/list", feed_server.reply(body=b"{}", headers=JSON))

    with pytest.raises(RobotsDisallowed, match="robots.txt asks AssetMap not to fetch"):
        polite_client.get(feed_server.url("/members/list"))
    # The AssetMap group applies, not "*": /private is allowed for us.
    assert polite_client.allowed(feed_server.url("/private/x"))
    assert not feed_server.hits("/members")


def test_missing_robots_txt_allows_everything(feed_server, polite_client):
    feed_server.route("/robots.txt", feed_server.reply(404))
    feed_server.route("/feed", feed_server.reply(body=b"{}", headers=JSON))
    assert polite_client.get_json(feed_server.url("/feed")) == {}


def test_failing_robots_txt_means_fetch_nothing(feed_server, polite_client):
    feed_server.route("/robots.txt", feed_server.reply(503))
    with pytest.raises(RobotsDisallowed, match="try again later"):
        polite_client.get(feed_server.url("/feed"))


def test_keeps_the_minimum_interval_per_host(feed_server):
    feed_server.route("/feed", feed_server.reply(body=b"{}", headers=JSON))
    with PoliteClient(min_interval=0.2) as polite:
        for _ in range(3):
            polite.get(feed_server.url("/feed"))
    times = [r.at for r in feed_server.requests]  # robots.txt, then three fetches
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(gaps) == 3 and min(gaps) >= 0.18


def test_server_error_then_success_is_retried_with_backoff(feed_server, polite_client):
    feed_server.route("/feed", feed_server.reply(503), feed_server.reply(500),
                      feed_server.reply(body=b'{"ok": true}', headers=JSON))
    assert polite_client.get_json(feed_server.url("/feed")) == {"ok": True}
    assert len(feed_server.hits("/feed")) == 3


def test_persistent_server_error_is_a_fetch_error(feed_server, polite_client):
    feed_server.route("/feed", feed_server.reply(503))
    with pytest.raises(FetchError, match="HTTP 503.*after 3 attempts") as caught:
        polite_client.get(feed_server.url("/feed"))
    assert caught.value.status == 503
    assert len(feed_server.hits("/feed")) == 3


def test_client_errors_are_not_retried(feed_server, polite_client):
    feed_server.route("/feed", feed_server.reply(404))
    with pytest.raises(FetchError, match="HTTP 404") as caught:
        polite_client.get(feed_server.url("/feed"))
    assert caught.value.status == 404
    assert len(feed_server.hits("/feed")) == 1


def test_too_many_requests_waits_and_retries(feed_server, polite_client):
    feed_server.route("/feed", feed_server.reply(429, headers={"Retry-After": "0"}),
                      feed_server.reply(body=b"{}", headers=JSON))
    assert polite_client.get_json(feed_server.url("/feed")) == {}


def test_a_slow_server_times_out(feed_server):
    feed_server.route("/slow", feed_server.reply(body=b"{}", headers=JSON, delay=1.0))
    with PoliteClient(min_interval=0, read_timeout=0.2, retries=1, backoff=0.01) as polite:
        started = time.monotonic()
        with pytest.raises(FetchError, match="timed out.*after 2 attempts"):
            polite.get(feed_server.url("/slow"))
    assert time.monotonic() - started < 1.5


def test_invalid_json_says_where(feed_server, polite_client):
    feed_server.route("/feed", feed_server.reply(body=b'{"items": [1, 2,, 3]}', headers=JSON))
    with pytest.raises(FeedFormatError, match="invalid JSON at line 1 column 17"):
        polite_client.get_json(feed_server.url("/feed"))


def test_html_where_json_was_expected(feed_server, polite_client):
    page = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Login</body></html>"
    feed_server.route("/feed", feed_server.reply(body=page, headers=JSON))
    with pytest.raises(FeedFormatError, match="HTML page \\('Sign in'\\) where JSON"):
        polite_client.get_json(feed_server.url("/feed"))


def test_truncated_json_is_reported_as_truncated(feed_server, polite_client):
    feed_server.route("/feed", feed_server.reply(body=b'{"items": [{"id": "a"}, {"id": "b',
                                                 headers=JSON))
    with pytest.raises(FeedFormatError, match="truncated"):
        polite_client.get_json(feed_server.url("/feed"))


def test_a_connection_cut_mid_body_is_retried_then_fails(feed_server, polite_client):
    feed_server.route("/feed", feed_server.reply(body=b'{"items": [', headers=JSON,
                                                 declared_length=5000))
    with pytest.raises(FetchError, match="connection broken while reading the body"):
        polite_client.get(feed_server.url("/feed"))
    assert len(feed_server.hits("/feed")) == 3


def test_a_cut_then_complete_body_succeeds(feed_server, polite_client):
    feed_server.route("/feed", feed_server.reply(body=b"{", headers=JSON, declared_length=100),
                      feed_server.reply(body=b"{}", headers=JSON))
    assert polite_client.get_json(feed_server.url("/feed")) == {}


def test_oversized_body_by_content_length(feed_server):
    feed_server.route("/big", feed_server.reply(body=b"x" * 2000, headers=JSON))
    with PoliteClient(min_interval=0, max_bytes=1000) as polite, pytest.raises(
            ResponseTooLarge, match="2,000 bytes, over the limit of 1,000"):
        polite.get(feed_server.url("/big"))


def test_oversized_body_while_streaming(feed_server):
    # No Content-Length: the limit has to be enforced while reading.
    feed_server.route("/big", feed_server.reply(body=b"x" * 300_000, headers=JSON,
                                                declared_length=-1))
    with PoliteClient(min_interval=0, max_bytes=100_000) as polite, pytest.raises(
            ResponseTooLarge, match="more than 100,000 bytes"):
        polite.get(feed_server.url("/big"))


def test_etag_makes_the_second_request_conditional(feed_server, polite_client):
    feed_server.route("/cal.ics", feed_server.reply(
        body=b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", etag='"v1"',
        headers={"Content-Type": "text/calendar"}))
    cache: dict = {}
    first = polite_client.get(feed_server.url("/cal.ics"), cache=cache)
    second = polite_client.get(feed_server.url("/cal.ics"), cache=cache)

    assert not first.not_modified and expect_calendar(first).startswith(b"BEGIN:VCALENDAR")
    assert cache == {feed_server.url("/cal.ics"): {"etag": '"v1"'}}
    assert second.not_modified and second.content == b""
    assert feed_server.hits("/cal.ics")[1].headers["If-None-Match"] == '"v1"'


def test_last_modified_is_remembered_in_the_client_cache(feed_server, polite_client):
    stamp = "Wed, 07 Jan 2026 09:00:00 GMT"
    feed_server.route("/page", feed_server.reply(body=b"<html></html>", last_modified=stamp))
    polite_client.get(feed_server.url("/page"))
    assert polite_client.get(feed_server.url("/page")).not_modified
    assert feed_server.hits("/page")[1].headers["If-Modified-Since"] == stamp


def test_redirects_are_followed_and_checked_against_robots(feed_server, polite_client):
    feed_server.robots = "User-agent: *\nDisallow: /secret\n"
    feed_server.route("/old", feed_server.reply(301, headers={"Location": "/new"}))
    feed_server.route("/new", feed_server.reply(body=b"{}", headers=JSON))
    feed_server.route("/moved", feed_server.reply(302, headers={"Location": "/secret/feed"}))

    result = polite_client.get(feed_server.url("/old"))
    assert result.url == feed_server.url("/new") and result.content == b"{}"
    with pytest.raises(RobotsDisallowed):
        polite_client.get(feed_server.url("/moved"))
    assert not feed_server.hits("/secret")


def test_an_unreachable_host_is_a_fetch_error():
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/feed"
    with PoliteClient(min_interval=0, retries=1, backoff=0.01) as polite, pytest.raises(
            FetchError, match="could not fetch .*robots.txt"):
        polite.get(url)
    with PoliteClient(min_interval=0, retries=1, backoff=0.01, obey_robots=False) as polite, \
            pytest.raises(FetchError, match="connection failed.*after 2 attempts"):
        polite.get(url)
