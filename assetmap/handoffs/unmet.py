"""When nothing fits: near misses, and a record of what people looked for and did not find.

A search with fewer than a handful of matches is run again with one thing relaxed at a time (a
longer walk, any day or time, a related kind of activity), and each near miss says what was
relaxed. "Nothing suitable" records ONLY the ward the search started in, the date, the needs,
the interests and the day and time asked for: never a postcode, a point or who searched.
Coordinators see these counted by ward, month and kind beside coverage.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from assetmap import vocab
from assetmap.connector.session import MINUTES, SearchForm, SearchOutcome, enrich
from assetmap.errors import ValidationError
from assetmap.matching.rank import DAYS, TIMES, MatchQuery
from assetmap.matching.search import find_matches
from assetmap.models import Area, UnmetNeed
from assetmap.schedule import LONDON
from assetmap.spatial import contains_point
from assetmap.walking.service import WalkingService

HANDFUL = 5
NEAR_MISSES_EACH = 3
#: Kinds of activity a person interested in one might also enjoy (both ways).
RELATED: tuple[frozenset[str], ...] = (
    frozenset({"lunch-club", "coffee-morning", "friendship-group", "befriending"}),
    frozenset({"mens-group", "repair-cafe", "gardening", "friendship-group"}),
    frozenset({"womens-group", "friendship-group", "arts-crafts", "coffee-morning"}),
    frozenset({"walking-group", "exercise-class", "chair-exercise", "gardening"}),
    frozenset({"chair-exercise", "exercise-class", "yoga", "pilates", "martial-arts"}),
    frozenset({"tea-dance", "dance-class", "zumba", "singing"}),
    frozenset({"book-club", "reading-group"}),
    frozenset({"arts-crafts", "cooking-group", "repair-cafe"}),
    frozenset({"bingo", "karaoke", "tea-dance", "days-out"}),
    frozenset({"sport", "ping-pong", "swimming", "exercise-class"}),
    frozenset({"digital-help", "employment-support", "volunteering"}),
)


def related_categories(interests: Sequence[str]) -> tuple[str, ...]:
    """Kinds related to any of `interests`, not already among them, in a stable order."""
    found: set[str] = set()
    for group in RELATED:
        if group & set(interests):
            found |= group
    return tuple(sorted(found - set(interests)))


def fitting(outcome: SearchOutcome) -> list[dict]:
    """The matches that really fit: in an asked-for kind when interests were given."""
    interests = set(outcome.form.interests)
    return [m for m in outcome.matches if not interests or m["category"] in interests]


@dataclass
class NearMiss:
    relaxed: str  # what was relaxed, in words
    matches: list[dict] = field(default_factory=list)


def _query(session: Session, outcome: SearchOutcome, data_dir: Path) -> MatchQuery | None:
    form = outcome.form
    if outcome.result is None or outcome.errors:
        return None
    return form.query(session, data_dir, int(form.minutes))


def near_misses(session: Session, service: WalkingService, outcome: SearchOutcome, *,
                data_dir: Path, now: datetime) -> list[NearMiss]:
    """For a search with fewer than HANDFUL fitting matches: one relaxation at a time."""
    query = _query(session, outcome, data_dir)
    if query is None or len(fitting(outcome)) >= HANDFUL:
        return []
    seen = {m["id"] for m in fitting(outcome)}
    interests = set(query.interests)
    tries: list[tuple[str, MatchQuery, set[str] | None]] = []
    if query.minutes < MINUTES[1]:
        longer = min(MINUTES[1], max(query.minutes * 2, query.minutes + 10))
        tries.append((f"A longer walk: up to {longer} minutes instead of {query.minutes}",
                      replace(query, minutes=longer, limit=50), interests or None))
    if query.day or query.time_of_day:
        tries.append(("Another day or time: any day in the next week, any time",
                      replace(query, day=None, time_of_day=None, limit=50),
                      interests or None))
    related = related_categories(query.interests)
    if related:
        labels = ", ".join(vocab.CATEGORY_LABELS[c].lower() for c in related)
        tries.append((f"A related kind of activity: {labels}",
                      replace(query, interests=related, limit=50), set(related)))
    out: list[NearMiss] = []
    for words, relaxed, kinds in tries:
        found = [m for m in find_matches(session, service, relaxed, now=now).matches
                 if m["id"] not in seen and (kinds is None or m["category"] in kinds)]
        if found:
            out.append(NearMiss(words, enrich(session, found[:NEAR_MISSES_EACH], now=now)))
            seen.update(m["id"] for m in found[:NEAR_MISSES_EACH])
    return out


def ward_at(session: Session, lat: float, lon: float) -> Area | None:
    """The ward a point lies in (the search origin), so only the ward need be kept."""
    return session.scalars(select(Area).where(
        Area.kind == "ward", contains_point(Area.geom, lat, lon))
        .order_by(Area.id).limit(1)).first()


@dataclass(frozen=True)
class UnmetForm:
    """What the "Nothing suitable" button posts: never a postcode or a point."""

    ward: str  # the ward's code, put in the form by the search page
    ward_name: str
    needs: tuple[str, ...]
    interests: tuple[str, ...]
    day: str
    time: str


def unmet_form(session: Session, form: SearchForm, outcome: SearchOutcome) -> UnmetForm | None:
    """The hidden fields of the "Nothing suitable" form for a search that was run."""
    if outcome.result is None:
        return None
    origin = outcome.result.origin
    area = ward_at(session, origin["lat"], origin["lon"])
    return UnmetForm(area.code if area else "", area.name if area else "", form.needs,
                     form.interests, form.day, form.time)


def _terms(values: Sequence[str], name: str, allowed: frozenset[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        for v in (x.strip() for x in str(value).split(",")):
            if not v:
                continue
            if v not in allowed:
                raise ValidationError(name, f"unknown value {v!r}", allowed=sorted(allowed))
            if v not in out:
                out.append(v)
    return out


def record_unmet(session: Session, *, ward: str | None, needs: Sequence[str],
                 interests: Sequence[str], day: str | None, time_of_day: str | None,
                 now: datetime) -> UnmetNeed:
    """Store what was looked for and not found: the only fields this table has."""
    area_id = None
    if ward:
        area_id = session.scalar(select(Area.id).where(Area.code == ward.strip(),
                                                       Area.kind == "ward"))
        if area_id is None:
            raise ValidationError("ward", "unknown ward; search again and press the button "
                                          "on the results page")
    today = now.astimezone(LONDON).date()
    day = (day or "").strip().lower() or None
    if day == "today":
        day = list(DAYS)[today.weekday()]
    if day is not None and day not in (*DAYS, "week"):
        raise ValidationError("day", f"unknown day {day!r}", allowed=[*DAYS, "week"])
    time_of_day = (time_of_day or "").strip().lower() or None
    if time_of_day is not None and time_of_day not in TIMES:
        raise ValidationError("time", f"unknown time of day {time_of_day!r}",
                              allowed=list(TIMES))
    row = UnmetNeed(area_id=area_id, searched_on=today,
                    needs=_terms(needs, "needs", vocab.NEED_IDS),
                    interests=_terms(interests, "interests", vocab.CATEGORY_IDS),
                    day=day, time_of_day=time_of_day)
    session.add(row)
    session.flush()
    return row


@dataclass
class UnmetRow:
    ward: str
    month: date  # the first of the month
    kind: str  # "a men's group", "anything wheelchair accessible"...
    count: int

    @property
    def sentence(self) -> str:
        searches = "search" if self.count == 1 else "searches"
        return (f"{self.count} {searches} for {self.kind} in {self.ward} in "
                f"{self.month:%B %Y} found nothing")


def _article(label: str) -> str:
    return ("an " if label[:1].lower() in "aeiou" else "a ") + label


def kind_words(interests: Sequence[str], needs: Sequence[str]) -> str:
    """"a men's group", "a lunch club or a coffee morning (wheelchair accessible)"."""
    kinds = " or ".join(_article(vocab.CATEGORY_LABELS.get(c, c).lower()) for c in interests)
    suits = ", ".join(vocab.NEED_LABELS.get(n, n).lower() for n in needs)
    if kinds and suits:
        return f"{kinds} ({suits})"
    return kinds or (f"anything {suits}" if suits else "any activity")


def unmet_summary(session: Session, *, since: date, until: date,
                  area_id: int | None = None) -> list[UnmetRow]:
    """Searches that found nothing, by ward, month and kind; most first."""
    stmt = (select(UnmetNeed, Area.name).outerjoin(Area, Area.id == UnmetNeed.area_id)
            .where(UnmetNeed.searched_on >= since, UnmetNeed.searched_on < until))
    if area_id is not None:
        stmt = stmt.where(UnmetNeed.area_id == area_id)
    counts: Counter = Counter()
    for row, ward in session.execute(stmt):
        month = row.searched_on.replace(day=1)
        counts[(ward or "no ward (outside the wards loaded)", month,
                kind_words(row.interests or (), row.needs or ()))] += 1
    return sorted((UnmetRow(w, m, k, c) for (w, m, k), c in counts.items()),
                  key=lambda r: (-r.count, -r.month.toordinal(), r.ward, r.kind))
