"""One fault server for every scraper type: good feeds of each type, and the faults to put in.

`FaultFeeds` publishes a small feed of one type on the real local HTTP server of the
`feed_server` fixture: four items ("Alder Walk", ...), each name ending in the version
published ("v1", "v2"), so a test can tell which version of every item is stored. Paged types
(OpenActive RPDE, Open Referral UK) put two items on each of two pages and end the feed; the
others publish one document. `inject(fault)` then replaces the document, or a paged feed's
second page, with a fault: an HTTP error, a hang, a cut body, an HTML page, too many bytes, a
redirect loop, the wrong content type, paging that repeats or goes back, or an item whose name
holds a NUL byte or bytes that are not UTF-8.

An OSM venue keeps the name it was first stored with (people may have corrected it), so its
version is read from its website tag instead (see `stored` in the tests).
"""

from __future__ import annotations

import json

from tests.scrapers.conftest import FeedServer

TYPES = ("openactive", "openreferral", "ical", "jsonld", "osm")
PAGED = frozenset({"openactive", "openreferral"})
BASE_NAMES = ("Alder Walk", "Birch Lunch Club", "Cedar Tea Dance", "Damson Knit and Natter")
BAD_ITEM = 2  # "Cedar Tea Dance": on the second page of a paged feed
LIMIT = 64 * 1024  # the fault client's max_bytes; every good document is far smaller
HANG = 2.0  # seconds a hanging reply waits; the fault client's read timeout is shorter
READ_TIMEOUT = 0.8

HTTP_FAULTS = ("500", "hang", "truncated", "html", "oversize", "oversize-unannounced",
               "redirect-loop", "wrong-type")
PAGING_FAULTS = ("backwards", "repeating")
ITEM_FAULTS = ("nul", "bad-utf8")
FAULT_REASONS = {
    "500": "500", "hang": "timed out", "truncated": "connection broken",
    "html": "", "oversize": "over the limit", "oversize-unannounced": "more than",
    "redirect-loop": "redirected more than", "wrong-type": "image/png",
}
HTML_REASON = {"openactive": "HTML", "openreferral": "HTML", "ical": "HTML",
               "jsonld": "no schema.org markup", "osm": "HTML"}
ERROR_PAGE = (b"<!doctype html><html><head><title>Service unavailable</title></head>"
              b"<body><h1>Down for maintenance</h1></body></html>")


def name(index: int, version: int) -> str:
    return f"{BASE_NAMES[index]} v{version}"


def _json_text(text: str) -> bytes:
    """A JSON string literal's inside, as bytes (the caller may splice raw bytes in)."""
    return json.dumps(text)[1:-1].encode()


class FaultFeeds:
    """A feed of one scraper type on the fault server (see the module docstring)."""

    def __init__(self, server: FeedServer, kind: str, *, prefix: str = "") -> None:
        self.server = server
        self.kind = kind
        self.prefix = prefix  # several feeds on one server keep apart
        self.version = 0
        self.pages: dict[str, bytes] = {}  # path -> body of the version being published
        self.content_type = {"openactive": "application/json",
                             "openreferral": "application/json", "ical": "text/calendar",
                             "jsonld": "text/html; charset=utf-8",
                             "osm": "application/octet-stream"}[kind]

    # -- good content ----------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.server.url(self.start_path)

    @property
    def start_path(self) -> str:
        return self.prefix + {"openactive": "/rpde/sessions", "openreferral": "/oruk/services",
                              "ical": "/calendar.ics", "jsonld": "/events.html",
                              "osm": "/extract.osm"}[self.kind]

    @property
    def fault_path(self) -> str:
        """Where faults go: the second page of a paged feed, else the one document."""
        return list(self.pages)[1] if self.kind in PAGED else self.start_path

    @property
    def first_page_path(self) -> str:
        return list(self.pages)[0]

    def publish(self, version: int, *, bad_name: bytes | None = None) -> None:
        """Serve every item at `version`; `bad_name` replaces the bad item's name bytes."""
        self.version = version
        names = [name(i, version).encode() for i in range(4)]
        if bad_name is not None:
            names[BAD_ITEM] = bad_name
        self.pages = getattr(self, f"_{self.kind}")(version, names)
        for path, body in self.pages.items():
            self.server.route(path, self._ok(body))

    def bad_name(self, fault: str) -> bytes:
        """The bad item's name with a NUL or with bytes that are not UTF-8, as this type's
        documents would carry it."""
        before, after = f"{BASE_NAMES[BAD_ITEM][:5]}", f"{BASE_NAMES[BAD_ITEM][5:]} v{self.version}"
        if fault == "nul":
            middle = {"openactive": b"\\u0000", "openreferral": b"\\u0000", "jsonld": b"\\u0000",
                      "ical": b"\x00", "osm": b"&#0;"}[self.kind]
        else:
            middle = b"\xff\xfe"
        return before.encode() + middle + after.encode()

    def _reply(self, status: int = 200, body: bytes = b"", headers: dict | None = None,
               **options: object) -> object:
        """The server's own `Reply` (its class, as the fixture's module has it)."""
        return self.server.reply(status, body, headers=headers or {}, **options)

    def _ok(self, body: bytes) -> object:
        return self._reply(body=body, headers={"Content-Type": self.content_type})

    def _openactive(self, version: int, names: list[bytes]) -> dict[str, bytes]:
        def item(index: int) -> bytes:
            return (b'{"state": "updated", "kind": "SessionSeries", "id": "item-%d", '
                    b'"modified": %d, "data": {"@context": "https://openactive.io/", '
                    b'"@type": "SessionSeries", "name": "' % (index, self._modified(index))
                    + names[index] + b'", "location": {"@type": "Place", "name": "Hall %d", '
                    b'"geo": {"latitude": 51.53, "longitude": -0.14}}}}' % index)

        start = self.start_path
        second = self._after(1)
        end = self._after(3)
        return {
            start: self._rpde(second, [item(0), item(1)]),
            second: self._rpde(end, [item(2), item(3)]),
            end: self._rpde(end, []),
        }

    def _modified(self, index: int) -> int:
        return 1_700_000_000_000 + self.version * 1000 + index

    def _after(self, index: int, *, reorder: bool = False) -> str:
        stamp, item_id = self._modified(index), f"item-{index}"
        query = (f"afterId={item_id}&afterTimestamp={stamp}" if reorder
                 else f"afterTimestamp={stamp}&afterId={item_id}")
        return f"{self.start_path}?{query}"

    def _rpde(self, next_path: str, items: list[bytes]) -> bytes:
        return (b'{"next": "' + self.server.url(next_path).encode() + b'", "items": ['
                + b", ".join(items) + b"]}")

    def _openreferral(self, version: int, names: list[bytes]) -> dict[str, bytes]:
        def service(index: int) -> bytes:
            return (b'{"id": "svc-%d", "name": "' % index + names[index]
                    + b'", "status": "active", "description": "A group", "schedules": [], '
                    b'"last_modified": "2026-01-%02dT10:00:00Z"}' % version)

        def page(number: int, items: list[bytes]) -> bytes:
            return (b'{"total_items": 4, "total_pages": 2, "number": %d, "size": 2, '
                    b'"first_page": %s, "last_page": %s, "contents": [' % (
                        number, b"true" if number == 1 else b"false",
                        b"true" if number == 2 else b"false") + b", ".join(items) + b"]}")

        return {f"{self.start_path}?page={n}&per_page=50": page(n, [service(2 * n - 2),
                                                                   service(2 * n - 1)])
                for n in (1, 2)}

    def _ical(self, version: int, names: list[bytes]) -> dict[str, bytes]:
        events = b"".join(
            b"BEGIN:VEVENT\r\nUID:event-%d@example.org\r\nDTSTAMP:20260101T000000Z\r\n"
            b"DTSTART:2030010%dT100000Z\r\nDTEND:2030010%dT110000Z\r\n" % (i, i + 1, i + 1)
            + b"SUMMARY:" + names[i] + b"\r\nLAST-MODIFIED:202601%02dT000000Z\r\n" % version
            + b"END:VEVENT\r\n" for i in range(4))
        return {self.start_path: b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//faults//EN\r\n"
                + events + b"END:VCALENDAR\r\n"}

    def _jsonld(self, version: int, names: list[bytes]) -> dict[str, bytes]:
        events = b", ".join(
            b'{"@type": "Event", "@id": "https://groups.example.org/events/%d", "name": "' % i
            + names[i] + b'", "startDate": "2030-01-0%dT10:00:00Z", "location": {"@type": '
            b'"Place", "name": "Hall %d", "geo": {"latitude": 51.53, "longitude": -0.14}}}'
            % (i + 1, i) for i in range(4))
        return {self.start_path: b'<!doctype html><html><head><meta charset="utf-8">'
                b"<title>Events</title><script type=\"application/ld+json\">"
                b'{"@context": "https://schema.org", "@graph": [' + events + b"]}"
                b"</script></head><body><h1>Events</h1></body></html>"}

    def _osm(self, version: int, names: list[bytes]) -> dict[str, bytes]:
        nodes = b"".join(
            b'<node id="%d" lat="51.53%d" lon="-0.14" version="%d">'
            b'<tag k="amenity" v="community_centre"/><tag k="website" '
            b'v="https://groups.example.org/%d/v%d"/><tag k="name" v="' % (
                i + 1, i, version, i, version)
            + names[i] + b'"/></node>' for i in range(4))
        return {self.start_path: b'<?xml version="1.0" encoding="UTF-8"?>'
                b'<osm version="0.6" generator="faults">' + nodes + b"</osm>"}

    # -- faults ----------------------------------------------------------------------------
    def inject(self, fault: str) -> None:
        """Put `fault` in the published feed (after `publish`)."""
        path = self.fault_path
        good = self.pages[path]
        server = self.server
        if fault in ITEM_FAULTS:
            self.publish(self.version, bad_name=self.bad_name(fault))
        elif fault == "500":
            server.route(path, self._reply(500, b"Internal Server Error",
                                     {"Content-Type": "text/plain"}))
        elif fault == "hang":
            server.route(path, self._reply(body=good, delay=HANG,
                                     headers={"Content-Type": self.content_type}))
        elif fault == "truncated":
            server.route(path, self._reply(body=good[: len(good) // 2], declared_length=len(good),
                                     headers={"Content-Type": self.content_type}))
        elif fault == "html":
            server.route(path, self._reply(body=ERROR_PAGE,
                                     headers={"Content-Type": "text/html; charset=utf-8"}))
        elif fault in ("oversize", "oversize-unannounced"):
            padding = b"\n" * (LIMIT + 1 - len(good))
            server.route(path, self._reply(body=good + padding, headers={
                "Content-Type": self.content_type},
                declared_length=-1 if fault == "oversize-unannounced" else None))
        elif fault == "redirect-loop":
            loop_a, loop_b = "/loop/a", "/loop/b"
            server.route(path, self._reply(302, headers={"Location": loop_a}))
            server.route(loop_a, self._reply(302, headers={"Location": loop_b}))
            server.route(loop_b, self._reply(302, headers={"Location": loop_a}))
        elif fault == "wrong-type":
            server.route(path, self._reply(body=good, headers={"Content-Type": "image/png"}))
        elif fault == "backwards":
            self._paging_fault(backwards=True)
        elif fault == "repeating":
            self._paging_fault(backwards=False)
        else:
            raise ValueError(fault)

    def _paging_fault(self, *, backwards: bool) -> None:
        if self.kind == "openactive":
            # Backwards: page 2 sends the reader back to the start of the feed (a page already
            # read). Repeating: page 2's next is page 2's own position, spelt differently.
            items = json.loads(self.pages[self.fault_path])["items"]
            target = self.start_path if backwards else self._after(1, reorder=True)
            body = json.dumps({"next": self.server.url(target), "items": items}).encode()
        else:
            # Backwards: asked for page 2, the API answers page 1. Repeating: page 2 holds the
            # same services as page 1 (an API that ignores `page`).
            first = json.loads(self.pages[self.first_page_path])
            if backwards:
                second = json.loads(self.pages[self.fault_path])
                body = json.dumps({**second, "number": 1}).encode()
            else:
                body = json.dumps({**first, "number": 2, "last_page": False}).encode()
        self.server.route(self.fault_path, self._ok(body))
