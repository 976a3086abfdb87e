"""The controlled vocabulary: activity categories and suitability tags.

Ids are stable slugs: they are stored in the database, used in URLs and the API, and appear
in exports, so an id is never renamed (add a new one and map the old). Categories map to
OpenActive Activity List concepts where one exists, so feeds can be classified.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

OA = "https://openactive.io/activity-list#"
DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class Term:
    id: str
    label: str
    openactive: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()


CATEGORIES: tuple[Term, ...] = (
    Term("lunch-club", "Lunch club", keywords=("lunch club", "lunch", "dinner club")),
    Term("coffee-morning", "Coffee morning", keywords=("coffee morning", "coffee", "cuppa")),
    Term("walking-group", "Walking group", (OA + "95092977-5a20-4d6e-b312-8fddabe71544",),
         ("walking group", "walk", "health walk", "ramble")),
    Term("tea-dance", "Tea dance", (OA + "e3334ebc-7568-48fa-8c93-151626101e5b",), ("tea dance",)),
    Term("dance-class", "Dance class", (OA + "6ca15167-51da-4d91-a1ae-8a45dc47b0ea",),
         ("dance", "dancing", "ballroom", "salsa")),
    Term("chair-exercise", "Chair exercise", (OA + "ee3cf3ee-082e-4f53-9cb2-3ef0589497ed",),
         ("chair exercise", "chair-based", "seated exercise", "chair based")),
    Term("yoga", "Yoga", (OA + "bf1a5e00-cdcf-465d-8c5a-6f57040b7f7e",), ("yoga",)),
    Term("pilates", "Pilates", (OA + "3a6b1c08-7aa6-48d4-9690-dca9e0133057",), ("pilates",)),
    Term("zumba", "Zumba", (OA + "78503fa2-ed24-4a80-a224-e2e94581d8a8",), ("zumba",)),
    Term("swimming", "Swimming", (OA + "2750229d-b725-4171-9276-376be913957c",),
         ("swim", "aqua")),
    Term("gardening", "Gardening", (OA + "5b880e93-4a16-4c37-86ac-ba2ffba68358",),
         ("garden", "allotment", "growing")),
    Term("cooking-group", "Cooking group", keywords=("cooking", "cook", "baking")),
    Term("book-club", "Book club", keywords=("book club",)),
    Term("reading-group", "Reading group", keywords=("reading group", "shared reading")),
    Term("singing", "Singing / choir", (OA + "e2b21a40-66a4-42bb-a24f-3638cc356299",),
         ("choir", "singing", "sing")),
    Term("arts-crafts", "Arts and crafts", keywords=("craft", "art", "knit", "sewing", "paint")),
    Term("bingo", "Bingo", keywords=("bingo",)),
    Term("karaoke", "Karaoke", keywords=("karaoke",)),
    Term("ping-pong", "Ping pong", (OA + "1a05993d-b206-4efe-85da-646fa340bdf4",),
         ("ping pong", "table tennis")),
    Term("mens-group", "Men's group", keywords=("men's shed", "mens shed", "men's group")),
    Term("womens-group", "Women's group", keywords=("women's group", "womens group")),
    Term("friendship-group", "Friendship group", keywords=("friendship", "social club")),
    Term("befriending", "Befriending", keywords=("befriend",)),
    Term("days-out", "Days out", keywords=("day out", "days out", "trip", "outing")),
    Term("volunteering", "Volunteering", keywords=("volunteer",)),
    Term("digital-help", "Digital / IT help", keywords=("digital", "computer", "it help",
                                                        "tablet", "smartphone")),
    Term("repair-cafe", "Repair café", keywords=("repair caf", "repair")),
    Term("faith-group", "Faith group", keywords=("church", "mosque", "synagogue", "temple",
                                                 "prayer", "faith")),
    Term("martial-arts", "Martial arts", (OA + "2330f2d4-d0dc-4231-8dd9-07d37a452228",),
         ("tai chi", "karate", "martial")),
    Term("employment-support", "Employment support", keywords=("employment", "job club",
                                                               "cv", "careers")),
    Term("exercise-class", "Exercise class", (OA + "984068a7-5b7b-4989-bb33-f96953d8960c",),
         ("exercise", "fitness", "keep fit", "strength and balance")),
    Term("sport", "Sport (other)", keywords=("sport", "bowls", "badminton", "football")),
    Term("community-transport", "Community transport",
         keywords=("community transport", "dial-a-ride", "dial a ride", "door to door")),
    Term("other", "Other activity"),
)

SUITABILITY_TAGS: tuple[Term, ...] = (
    Term("wheelchair-accessible", "Wheelchair accessible"),
    Term("step-free", "Step-free access"),
    Term("accessible-toilet", "Accessible toilet"),
    Term("hearing-loop", "Hearing loop"),
    Term("dementia-friendly", "Dementia friendly"),
    Term("welcoming-newcomers", "Welcoming to newcomers"),
    Term("complex-needs", "Suitable for complex needs"),
    Term("activity-focused", "Activity-focused (little small talk needed)"),
    Term("small-quiet", "Small or quiet group"),
    Term("drop-in", "Drop-in (no booking)"),
    Term("free", "Free"),
    Term("low-cost", "Low cost"),
    Term("companion-welcome", "Can bring a companion or carer"),
    Term("connector-first-session", "Connector can come to the first session"),
    Term("over-50s", "Over-50s"),
    Term("men-only", "Men only"),
    Term("women-only", "Women only"),
    Term("online-option", "Online option"),
    Term("phone-option", "Phone option"),
    Term("transport-available", "Transport available"),
    Term("languages-spoken", "Languages other than English spoken"),
)

#: Needs met by where the venue is, not by what a listing says: judged from the extract's
#: stops and the walking network (assetmap.walking.stops), never set as a tag.
NEAR_BUS_STOP = "near-bus-stop"
PLACE_NEEDS: tuple[Term, ...] = (
    Term(NEAR_BUS_STOP, "Near a bus stop"),
)
#: Everything a search can ask for: the suitability tags, then the place needs.
NEEDS: tuple[Term, ...] = SUITABILITY_TAGS + PLACE_NEEDS

CATEGORY_IDS: frozenset[str] = frozenset(t.id for t in CATEGORIES)
TAG_IDS: frozenset[str] = frozenset(t.id for t in SUITABILITY_TAGS)
CATEGORY_LABELS: dict[str, str] = {t.id: t.label for t in CATEGORIES}
TAG_LABELS: dict[str, str] = {t.id: t.label for t in SUITABILITY_TAGS}
PLACE_NEED_IDS: frozenset[str] = frozenset(t.id for t in PLACE_NEEDS)
NEED_IDS: frozenset[str] = TAG_IDS | PLACE_NEED_IDS
NEED_LABELS: dict[str, str] = {t.id: t.label for t in NEEDS}

ACTIVITY_STATUSES: tuple[str, ...] = ("active", "paused", "ended", "pending")
#: A listing's status in words, for every page that shows one.
STATUS_LABELS: dict[str, str] = {"active": "Running", "paused": "Paused for now",
                                 "ended": "Ended", "pending": "Waiting for a coordinator's check"}
COST_KINDS: tuple[str, ...] = ("free", "amount", "small-fee", "unknown")
VERIFICATION_METHODS: tuple[str, ...] = (
    "source-seen",
    "community-sighted",
    "source-assured",
    "connector-visited",
    "phoned",
    "organiser-confirmed",
    "client-attended",
    "coordinator-checked",
    "community-suggested",
    "imported",
)
# Evidence that a listing is still there, not that its details are right: a feed still
# listing it, or a community suggestion merged without the details being checked.
SIGHTING_METHODS: frozenset[str] = frozenset({"source-seen", "community-sighted"})
ROLES: tuple[str, ...] = ("connector", "coordinator", "admin")


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace("_", "-").split())


def resolve_category(value: str) -> str | None:
    """A category id from an id or a label typed by a person ("Tea dance", "tea-dance")."""
    key = _normalise(value)
    if key in CATEGORY_IDS:
        return key
    for term in CATEGORIES:
        if _normalise(term.label) == key:
            return term.id
    return None


def resolve_tag(value: str) -> str | None:
    key = _normalise(value)
    if key in TAG_IDS:
        return key
    for term in SUITABILITY_TAGS:
        if _normalise(term.label) == key:
            return term.id
    return None


def guess_category(*texts: str | None) -> str:
    """Best-effort category from free text (a name, a description) for feeds without one."""
    blob = " ".join(t.lower() for t in texts if t)
    for term in CATEGORIES:
        if any(_keyword_re(k).search(blob) for k in term.keywords):
            return term.id
    return "other"


@cache
def _keyword_re(keyword: str) -> re.Pattern[str]:
    """Whole words only: "art" must not match "party", though "repair caf" matches "café"."""
    return re.compile(r"\b" + re.escape(keyword.strip()))


@cache
def _openactive_concepts() -> dict[str, dict]:
    path = DATA_DIR / "vocab" / "openactive-activity-list.jsonld"
    with path.open(encoding="utf-8") as fh:
        concepts = json.load(fh)["concept"]
    by_id = {c["id"]: c for c in concepts}
    by_id.update({c["prefLabel"].lower(): c for c in concepts})
    return by_id


def openactive_label(concept: str) -> str | None:
    """The Activity List's own prefLabel for a concept URI (what publishers must write)."""
    node = _openactive_concepts().get(concept)
    return node["prefLabel"] if node else None


@cache
def _openactive_to_category() -> dict[str, str]:
    return {uri: term.id for term in CATEGORIES for uri in term.openactive}


def category_for_openactive(concept: str) -> str | None:
    """Map an OpenActive activity (URI, bare identifier or prefLabel) to a category id.

    Walks the concept's `broader` chain so that e.g. "Chair Yoga" lands in yoga and
    "Line Dancing" in dance class. Returns None when the concept is unknown.
    """
    concepts = _openactive_concepts()
    mapping = _openactive_to_category()
    key = concept.strip()
    if key and "#" not in key and not key.startswith("http") and key.lower() not in concepts:
        key = OA + key
    node = concepts.get(key) or concepts.get(key.lower())
    if node is None:
        return None
    seen: set[str] = set()
    frontier = [node]
    while frontier:
        current = frontier.pop(0)
        if current["id"] in mapping:
            return mapping[current["id"]]
        seen.add(current["id"])
        frontier.extend(concepts[b] for b in current.get("broader", ())
                        if b in concepts and b not in seen)
    return "sport"
