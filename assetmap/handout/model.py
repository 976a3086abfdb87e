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


@dataclass(frozen=True)
class Handout:
    items: tuple[HandoutItem, ...]
    origin_label: str | None
    layout: str  # pages / sheet
    made_on: str
    overview: MapSpec | None = None
    attribution: str = "Map data © OpenStreetMap contributors (ODbL)."
    notes: tuple[str, ...] = field(default_factory=tuple)
