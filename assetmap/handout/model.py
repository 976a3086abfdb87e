"""What a handout says: per activity the sessions in words, cost, the first visit, the walk,
directions and a map; the words people read for times and first visits. Nothing here touches the
database or Flask: the connector's session fills the model, the page and the PDF show it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from assetmap.handout.directions import Directions, distance_words
from assetmap.handout.drawing import MapDrawing, MapSpec
from assetmap.schedule import LONDON, clock_words

# -- words for the handout ------------------------------------------------------------------

def clock(moment: datetime) -> str:
    """'10am', '2:30pm', '12 noon', 'midnight', in London time."""
    return clock_words(moment.astimezone(LONDON).time())


def session_words(session: dict, *, short: bool = False) -> str:
    """'Tuesday 4 November, 10am to 12 noon' for a serialised session; with `short`,
    'Tue 4 Nov, 10am to 12 noon'."""
    start = datetime.fromisoformat(session["start"]).astimezone(LONDON)
    day, month = (f"{start:%a}", f"{start:%b}") if short else (f"{start:%A}", f"{start:%B}")
    text = f"{day} {start.day} {month}, {clock(start)}"
    if session.get("end"):
        text += f" to {clock(datetime.fromisoformat(session['end']))}"
    return text


FIRST_VISIT_BY_TAG = (
    ("drop-in", "You can just turn up: there is no need to book."),
    ("welcoming-newcomers", "New people are made welcome."),
    ("companion-welcome", "You can bring a friend, family member or carer."),
    ("connector-first-session", "Your connector can come with you the first time."),
    ("small-quiet", "It is a small, quiet group."),
    ("step-free", "There is step-free access."),
)


def first_visit_words(activity: dict) -> list[str]:
    """What to expect the first time: the organiser's words, else what the tags tell."""
    if activity.get("first_visit"):
        return [activity["first_visit"]]
    tags = set(activity.get("tags") or ())
    lines = [text for tag, text in FIRST_VISIT_BY_TAG if tag in tags]
    if "drop-in" not in tags:
        lines.append("It is worth ringing first to check the time and say you are coming.")
    return lines


def trim_words(text: str, limit: int) -> str:
    """`text` on one line, cut to at most `limit` characters at the end of a word and ended
    with '…' when cut: the combined sheet keeps the start of what the organiser wrote and
    never leaves half a word."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit]  # with the '…', one character over `limit` at most
    if not text[limit].isspace():
        cut = cut.rsplit(" ", 1)[0] if " " in cut else text.split(" ", 1)[0]
    return cut.rstrip(" ,;:-–—") + "…"


#: How much of "what happens" and "first visit" the combined sheet keeps (characters).
SHEET_WHAT_HAPPENS = 190
SHEET_FIRST_VISIT = 130
#: How the sheet's facts group into paragraphs when printed: the facts in a group run on
#: together after bold labels; the way to get in touch is a group of its own.
SHEET_PARAGRAPHS = (("When", "Where", "How to join", "Cost", "Languages"), ("What happens",),
                    ("First visit",), ("Walk", "Bus or train"), ("Phone", "Contact"))


# -- the handout model ----------------------------------------------------------------------

@dataclass(frozen=True)
class Walk:
    metres: float
    minutes: float
    pace: str
    estimated: bool

    @property
    def words(self) -> str:
        how = {"typical": "", "slow": " at a gentle pace", "step-free": " step-free, at a "
               "gentle pace"}.get(self.pace, "")
        return (f"About {max(1, math.ceil(self.minutes))} minutes' walk{how} "
                f"({distance_words(self.metres)})" + (", estimated" if self.estimated else ""))


@dataclass(frozen=True)
class HandoutItem:
    number: int
    activity: dict  # serialize.activity_to_dict, public fields only
    sessions: tuple[str, ...]
    cost: str
    first_visit: tuple[str, ...]
    walk: Walk | None
    directions: Directions | None
    map: MapSpec | None

    @property
    def drawing(self) -> MapDrawing | None:
        """The map for the HTML page, beside the directions on a printed A4 page."""
        return self.map.draw(1000, 720) if self.map else None

    @property
    def address(self) -> list[str]:
        venue = self.activity.get("venue") or {}
        return [p for p in (venue.get("name"), venue.get("address"), venue.get("postcode")) if p]

    @property
    def contact(self) -> list[tuple[str, str]]:
        c = self.activity.get("contact") or {}
        rows = [("Ask for", c.get("name")), ("Phone", c.get("phone")),
                ("E-mail", c.get("email")), ("Website", c.get("url"))]
        return [(k, v) for k, v in rows if v]

    def sheet_facts(self, *, what: int = SHEET_WHAT_HAPPENS, first: int = SHEET_FIRST_VISIT
                    ) -> list[tuple[str, list[str]]]:
        """The combined sheet's block for this activity, as (label, lines), for the page and
        the PDF alike: when in words, where, cost, what happens and the first visit (trimmed
        to `what` and `first` characters), the walk, the nearest bus stop and station, and a
        way to get in touch (the phone first, shown large)."""
        a = self.activity
        when = [a["schedule_words"]] if a.get("schedule_words") else []
        if a.get("next_sessions"):
            # Beside the usual times the next date is enough; alone, it says the time too.
            next_words = session_words(a["next_sessions"][0], short=True)
            when.append(f"next {next_words.split(',')[0]}" if when else next_words)
        rows = [("When", when or ["Ask the organiser for the next date."])]
        if a.get("mode") in ("phone", "online"):
            how = "By phone" if a["mode"] == "phone" else "Online"
            join = "; ".join(line.strip() for line in (a.get("join_how") or "").splitlines()
                             if line.strip())
            rows.append(("How to join", [how + (f": {join}" if join else "")]))
        else:
            rows.append(("Where", [", ".join(self.address) or "Ask the organiser"]))
        rows.append(("Cost", [self.cost]))
        if a.get("languages_words"):
            rows.append(("Languages", [a["languages_words"]]))
        if a.get("description"):
            rows.append(("What happens", [trim_words(a["description"], what)]))
        if self.first_visit:
            rows.append(("First visit", [trim_words(" ".join(self.first_visit), first)]))
        if self.walk is not None:
            rows.append(("Walk", [self.walk.words]))
        stops = a.get("getting_there") or []
        nearest = [next(s for s in stops if s["kind"] == kind)["words"]
                   for kind in dict.fromkeys(s["kind"] for s in stops)]
        if nearest:
            rows.append(("Bus or train", nearest))
        contact = dict(self.contact)
        if "Phone" in contact:
            rows.append(("Phone", [contact["Phone"]]))
        else:
            other = [f"{k}: {v}" for k, v in self.contact]
            rows.append(("Contact", other or ["Ask your connector."]))
        return rows

    def sheet_paragraphs(self, *, what: int = SHEET_WHAT_HAPPENS, first: int = SHEET_FIRST_VISIT
                         ) -> list[list[tuple[str, list[str]]]]:
        """:meth:`sheet_facts` grouped as :data:`SHEET_PARAGRAPHS` says."""
        facts = dict(self.sheet_facts(what=what, first=first))
        groups = [[(label, facts[label]) for label in labels if label in facts]
                  for labels in SHEET_PARAGRAPHS]
        return [group for group in groups if group]


@dataclass(frozen=True)
class Handout:
    items: tuple[HandoutItem, ...]
    origin_label: str | None
    layout: str  # pages / sheet
    made_on: str
    overview: MapSpec | None = None
    attribution: str = "Map data © OpenStreetMap contributors (ODbL)."
    notes: tuple[str, ...] = field(default_factory=tuple)
