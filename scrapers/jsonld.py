"""Structured data in web pages: schema.org JSON-LD blocks and microdata.

Groups and venues that have no feed often mark up their "what's on" page for search engines.
Events (and EventSeries) become activities; Places and Organizations with an address become
venues. Broken JSON-LD is common (comments, trailing commas): such a block is repaired if that
is safe, otherwise skipped, and either way reported as a warning. The state kept between
runs is the page's HTTP validators.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from scrapers.http import PoliteClient, refuse_unexpected, sniff
from scrapers.normalise import absolute, clean
from scrapers.records import (
    ITEM_ERRORS,
    EmptyFeed,
    FeedFormatError,
    IssueLevel,
    Page,
    ParseIssue,
    Record,
    VenueRecord,
)
from scrapers.schemaorg import (
    EVENT_TYPES,
    activity_from_event,
    as_list,
    node_id,
    text,
    types,
    venue_from_place,
)

if TYPE_CHECKING:
    from lxml.html import HtmlElement

SOURCE_TYPE = "jsonld"
PLACE_TYPES = frozenset({
    "Place", "CivicStructure", "EventVenue", "PerformingArtsTheater", "MusicVenue", "Library",
    "PlaceOfWorship", "Church", "CatholicChurch", "Mosque", "Synagogue", "HinduTemple",
    "BuddhistTemple", "SportsActivityLocation", "SportsClub", "ExerciseGym", "Park", "CityHall",
    "LocalBusiness", "Organization", "NGO", "GovernmentOrganization", "SportsOrganization",
    "EducationalOrganization", "CommunityHealth",
})
_URL_PROPS = frozenset({"a", "area", "link"})
_SRC_PROPS = frozenset({"img", "audio", "video", "source", "embed", "iframe", "track"})


class JsonLdScraper:
    """One web page per source."""

    source_type: ClassVar[str] = SOURCE_TYPE

    def fetch(self, client: PoliteClient, url: str,
              state: Mapping[str, Any]) -> Iterator[Page]:
        """The page, unless unchanged since the last run. State: `{"http_cache": {...}}`."""
        cache = dict(state.get("http_cache") or {})
        result = client.get(url, cache=cache,
                            headers={"Accept": "text/html, application/ld+json;q=0.9"})
        if result.not_modified:
            return
        refuse_unexpected(result, "a web page")
        kind = sniff(result)
        if kind not in ("html", "json"):
            raise FeedFormatError(f"{url} returned {kind} content, not a web page; check the "
                                  "address of the group's events page", url=url)
        lowered = result.content.lower()
        if kind == "html" and b"application/ld+json" not in lowered and b"itemscope" not in \
                lowered:
            raise EmptyFeed(f"{url} has no schema.org markup (JSON-LD or microdata); this "
                            "page cannot be read automatically", url=url)
        yield Page(result.url, result.content,
                   {"http_cache": {k: v for k, v in cache.items() if k == url}})

    def parse(self, raw: Any, *, base_url: str) -> Iterator[Record | ParseIssue]:
        """Records from an HTML page (bytes or text) or a JSON-LD document."""
        nodes: list[dict] = []
        issues: list[ParseIssue] = []
        data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
        if data.lstrip()[:1] in (b"{", b"["):
            text = data.decode("utf-8-sig", errors="replace")
            nodes.extend(_flatten(_load_block(text, base_url, issues)))
        else:
            nodes.extend(_from_html(data, base_url, issues))
        yield from issues
        seen: set[str] = set()
        for node in nodes:
            for item in _records(node, base_url):
                key = item.external_id if not isinstance(item, ParseIssue) else None
                if key is not None and key in seen:
                    continue
                if key is not None:
                    seen.add(key)
                yield item


def _issue(message: str, url: str, *, level: IssueLevel = "warning",
           external_id: str | None = None) -> ParseIssue:
    return ParseIssue(SOURCE_TYPE, message, level, external_id, url)


_UTF8_DECLARED = re.compile(rb"charset=[\"']?utf-?8", re.IGNORECASE)


def _from_html(data: bytes, base_url: str, issues: list[ParseIssue]) -> list[dict]:
    from lxml import etree
    from lxml import html as lxml_html

    try:
        # Decode UTF-8 ourselves: lxml guesses Latin-1 when the charset comes late or not at all.
        try:
            document = lxml_html.document_fromstring(data.decode("utf-8"))
        except UnicodeDecodeError:
            # A page that says it is UTF-8 but has a few bad bytes: those become U+FFFD and
            # the rest is read right, instead of the whole page as Latin-1.
            if _UTF8_DECLARED.search(data[:4096]):
                document = lxml_html.document_fromstring(data.decode("utf-8", "replace"))
            else:
                document = lxml_html.document_fromstring(data)
        except ValueError:  # an XML encoding declaration
            document = lxml_html.document_fromstring(data)
    except (etree.ParserError, ValueError) as exc:
        raise FeedFormatError(f"{base_url} is not a readable HTML page ({exc})",
                              url=base_url) from None
    nodes: list[dict] = []

    def elements(path: str) -> list[HtmlElement]:
        found = document.xpath(path)
        assert isinstance(found, list)  # a location path answers a list of nodes
        return [e for e in found if isinstance(e, lxml_html.HtmlElement)]

    for number, script in enumerate(elements("//script[@type]"), start=1):
        if "ld+json" not in (script.get("type") or "").lower():
            continue
        block = _load_block(script.text or "", base_url, issues, number=number)
        if block is not None and not isinstance(block, dict | list):
            issues.append(_issue(f"JSON-LD block {number} holds {json.dumps(block)[:20]}, "
                                 "not an object", base_url))
        nodes.extend(_flatten(block))
    for element in elements("//*[@itemscope][not(@itemprop)]"):
        nodes.extend(_flatten(_microdata(element, base_url)))
    return nodes


def _load_block(source: str, base_url: str, issues: list[ParseIssue], *,
                number: int = 1) -> Any:
    """A JSON-LD block, repaired when it only has comments or trailing commas; else None."""
    stripped = source.strip()
    for wrapper in (("<!--", "-->"), ("<![CDATA[", "]]>"), ("//<![CDATA[", "//]]>")):
        if stripped.startswith(wrapper[0]) and stripped.endswith(wrapper[1]):
            stripped = stripped[len(wrapper[0]):-len(wrapper[1])].strip()
    if not stripped:
        issues.append(_issue(f"JSON-LD block {number} is empty", base_url))
        return None
    try:
        return json.loads(stripped)
    except json.JSONDecodeError as exc:
        problem = f"line {exc.lineno} column {exc.colno}: {exc.msg}"
    try:
        repaired = json.loads(_repair(stripped))
    except json.JSONDecodeError:
        issues.append(_issue(f"JSON-LD block {number} skipped: invalid JSON at {problem}",
                             base_url))
        return None
    issues.append(_issue(f"JSON-LD block {number} had comments or trailing commas "
                         f"({problem}); read after removing them", base_url))
    return repaired


def _repair(source: str) -> str:
    """JSON without JavaScript comments and trailing commas, leaving strings untouched."""
    out: list[str] = []
    i, n = 0, len(source)
    in_string = False
    while i < n:
        char = source[i]
        if in_string:
            out.append(char)
            if char == "\\" and i + 1 < n:
                out.append(source[i + 1])
                i += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif source.startswith("//", i):
            end = source.find("\n", i)
            i = n if end < 0 else end
            continue
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        elif char == ",":
            rest = source[i + 1:].lstrip()
            while rest.startswith(("//", "/*")):  # a comment between the comma and a bracket
                cut = rest.find("\n") if rest.startswith("//") else rest.find("*/") + 2
                rest = "" if cut <= 1 else rest[cut:].lstrip()
            if not rest.startswith(("}", "]")):
                out.append(char)
        else:
            out.append(char)
        i += 1
    return "".join(out)


def _flatten(data: Any) -> list[dict]:
    """Top-level nodes from a block: lists, @graph, ItemList entries and events of a venue."""
    found: list[dict] = []
    stack = list(as_list(data))
    while stack:
        node = stack.pop(0)
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        if "@graph" in node:
            stack.extend(as_list(node["@graph"]))
            continue
        if "ListItem" in types(node) and isinstance(node.get("item"), dict):
            stack.append(node["item"])
            continue
        if "ItemList" in types(node):
            stack.extend(as_list(node.get("itemListElement")))
            continue
        found.append(node)
        if not types(node) & EVENT_TYPES:
            stack.extend(e for key in ("event", "events") for e in as_list(node.get(key))
                         if isinstance(e, dict))
    return found


def _records(node: dict, base_url: str) -> Iterator[Record | ParseIssue]:
    notes: list[str] = []
    external_id = _identity(node, base_url)
    try:
        record = _record(node, external_id, base_url, notes)
    except ITEM_ERRORS as exc:
        yield _issue(f"{sorted(types(node)) or 'item'} not used: {exc}", base_url,
                     level="skipped", external_id=external_id)
        return
    if record is not None:
        yield record
    for note in notes:
        yield _issue(note, base_url, external_id=external_id)


def _record(node: dict, external_id: str, base_url: str, notes: list[str]) -> Record | None:
    """An activity for an event, a venue for a place or organisation with an address."""
    found = types(node)
    if found & EVENT_TYPES:
        return activity_from_event(node, source_type=SOURCE_TYPE, external_id=external_id,
                                   base_url=base_url, notes=notes)
    if not (found & PLACE_TYPES and text(node.get("name"))):
        return None
    location = node if node.get("address") or node.get("geo") else node.get("location")
    venue = venue_from_place(location, source_type=SOURCE_TYPE, base_url=base_url)
    if venue is None or not (venue.address or venue.postcode or venue.lat is not None):
        return None
    return VenueRecord(
        SOURCE_TYPE, external_id=external_id, name=text(node.get("name")),
        address=venue.address, postcode=venue.postcode, lat=venue.lat, lon=venue.lon,
        accessibility=venue.accessibility, source_url=base_url,
        kind="schema:" + sorted(found & PLACE_TYPES)[0],
        website=venue.website or _link(node.get("url"), base_url),
        phone=venue.phone or text(node.get("telephone")),
        email=venue.email or text(node.get("email")))


def _link(value: Any, base_url: str) -> str | None:
    return absolute(base_url, text(value))


def _identity(node: dict, base_url: str) -> str:
    """A stable id: the node's @id, its own URL, else a hash of what identifies it."""
    explicit = node_id(node)
    if explicit and not explicit.startswith("_:"):
        return absolute(base_url, explicit) or explicit
    url = _link(node.get("url"), base_url)
    if url and url != base_url:
        return url
    where = node.get("location")
    place = text(where.get("name")) if isinstance(where, dict) else text(where)
    basis = "|".join(str(p) for p in (base_url, text(node.get("name")),
                                      clean(node.get("startDate")), place))
    return "sha1:" + hashlib.sha1(basis.encode("utf-8")).hexdigest()


# -- microdata -----------------------------------------------------------------------------

def _microdata(element: HtmlElement, base_url: str) -> dict:
    """A microdata item as a JSON-LD-like dict, so one mapping reads both."""
    node: dict[str, Any] = {"@type": (element.get("itemtype") or "").split()}
    if element.get("itemid"):
        node["@id"] = element.get("itemid")
    _properties(element, node, base_url)
    return node


def _properties(element: HtmlElement, node: dict[str, Any], base_url: str) -> None:
    for child in element.iterchildren():
        if not isinstance(child.tag, str):
            continue
        nested = child.get("itemscope") is not None
        names = (child.get("itemprop") or "").split()
        if names:
            value = _microdata(child, base_url) if nested else _value(child, base_url)
            for name in names:
                if name in node:
                    node[name] = as_list(node[name]) + [value]
                else:
                    node[name] = value
        if not nested:
            _properties(child, node, base_url)


def _value(element: HtmlElement, base_url: str) -> str | None:
    tag = element.tag.lower()
    if tag == "meta":
        return element.get("content")
    if tag in _URL_PROPS and element.get("href") is not None:
        return absolute(base_url, element.get("href"))
    if tag in _SRC_PROPS and element.get("src") is not None:
        return absolute(base_url, element.get("src"))
    if tag == "object" and element.get("data") is not None:
        return absolute(base_url, element.get("data"))
    if tag == "time" and element.get("datetime"):
        return element.get("datetime")
    if tag in ("data", "meter") and element.get("value") is not None:
        return element.get("value")
    if element.get("content") is not None:
        return element.get("content")
    return clean(" ".join(element.text_content().split()))
