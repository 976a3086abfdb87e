"""The listings a search ranks, held in memory by venue: read once per change, not per search.

A search reaches a hundred venues or so, holding a couple of thousand listings; reading and
filtering those rows in SQL, search after search, was most of a search's time. Each process
keeps instead, per database, the few columns ranking reads for every active listing, grouped
by venue (phone and online listings apart), and the needs each meets. It is rebuilt when the
listings' change token (`assetmap.models.changes`) is not the one it was built at. The token
is read through the searching session, before any row, so a search sees its own session's
uncommitted writes and every write committed before it, as a query of its own would.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, Text, cast, select
from sqlalchemy.orm import Session

from assetmap import vocab
from assetmap.db import column_rows
from assetmap.listings.service_area import REMOTE_MODES
from assetmap.matching.suitability import VENUE_NEEDS
from assetmap.models import Activity, ActivityTag, ScheduleEntry, Venue
from assetmap.models.changes import LISTINGS, change_token
from assetmap.referral.intake import takes_newcomers
from assetmap.referral.languages import runs_in
from assetmap.schedule import ScheduleRule, may_meet_on, rule_from_json

#: The needs a listing meets by a tag (the others are judged from where its venue is).
TAG_NEEDS = vocab.NEED_IDS - vocab.PLACE_NEED_IDS


class Candidate(NamedTuple):
    """One active listing as ranking reads it."""

    id: int
    venue_id: int | None
    category: str
    last_verified_at: datetime | None
    last_verified_method: str | None
    possibly_closed: bool
    freshness_state: str | None
    freshness_due_at: datetime | None
    intake: str | None
    languages: list[str] | None
    welcoming_yes: int | None
    free: bool
    session_weekdays: int | None
    meets: frozenset[str]  # the needs it meets: tagged with them, or at a venue that has them
    rules: tuple[ScheduleRule, ...]  # its schedule, in order
    # Phone and online listings only (the "Without travelling" list sorts and shows these).
    name: str | None = None
    mode: str | None = None
    service_area: list[str] | None = None


@dataclass(frozen=True)
class Wanted:
    """What a search asks of every listing, however near: one lacking any is left out."""

    needs: frozenset[str] = frozenset()
    free_only: bool = False
    newcomers: bool = False  # not said to be full or on a waiting list
    weekday: int | None = None  # 0 = Monday: could meet on that day
    language: str | None = None

    def accepts(self, listing: Candidate) -> bool:
        return (self.needs <= listing.meets
                and (listing.free or not self.free_only)
                and (not self.newcomers or takes_newcomers(listing.intake))
                and (self.weekday is None
                     or may_meet_on(listing.session_weekdays, self.weekday))
                and (self.language is None or runs_in(listing.languages, self.language)))


@dataclass(frozen=True)
class CandidateIndex:
    token: int | None
    by_venue: dict[int, tuple[Candidate, ...]]
    remote: tuple[Candidate, ...]  # phone and online, with the areas they serve

    def at(self, venue_id: int, wanted: Wanted) -> Iterator[Candidate]:
        """The listings at a venue that the search accepts."""
        return filter(wanted.accepts, self.by_venue.get(venue_id, ()))

    @property
    def size(self) -> int:
        return sum(map(len, self.by_venue.values())) + len(self.remote)


class _Held:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.index: CandidateIndex | None = None


_HELD: WeakKeyDictionary[Engine, _Held] = WeakKeyDictionary()
_HELD_LOCK = threading.Lock()


def candidates(session: Session) -> CandidateIndex:
    """The listings as this session sees them now: the held index when its token is still
    the current one, else a new one read through the session (one build at a time, others
    waiting for it). With no token yet (no write since the tables were made), every call
    reads afresh."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with _HELD_LOCK:
        held = _HELD.get(engine)
        if held is None:
            held = _HELD[engine] = _Held()
    token = change_token(session, LISTINGS)
    with held.lock:
        if token is not None and held.index is not None and held.index.token == token:
            return held.index
        index = _read(session, token)
        held.index = index
        return index


def _read(session: Session, token: int | None) -> CandidateIndex:
    venue_needs = _venue_needs(session)
    tags: dict[int, set[str]] = {}
    for activity_id, tag in column_rows(session, select(ActivityTag.activity_id, ActivityTag.tag)
                                        .where(ActivityTag.tag.in_(sorted(TAG_NEEDS)))):
        tags.setdefault(activity_id, set()).add(tag)
    shared: dict[frozenset[str], frozenset[str]] = {}  # a few hundred distinct sets in all

    def meets(activity_id: int, venue_id: int | None) -> frozenset[str]:
        found = venue_needs.get(venue_id, frozenset()).union(tags.get(activity_id, ()))
        return shared.setdefault(found, found)

    schedules = _schedules(session)
    columns = (Activity.id, Activity.venue_id, Activity.category, Activity.last_verified_at,
               Activity.last_verified_method, Activity.possibly_closed,
               Activity.freshness_state, Activity.freshness_due_at, Activity.intake,
               Activity.languages, Activity.welcoming_yes, Activity.cost_kind,
               Activity.session_weekdays)
    by_venue: dict[int, list[Candidate]] = {}
    for row in column_rows(session, select(*columns).where(
            Activity.status == "active", Activity.venue_id.is_not(None))):
        by_venue.setdefault(row.venue_id, []).append(
            _candidate(row, meets(row.id, row.venue_id), schedules.get(row.id, ())))
    remote = tuple(
        _candidate(row, meets(row.id, row.venue_id), schedules.get(row.id, ()), row.name,
                   row.mode, row.service_area)
        for row in column_rows(session, select(
            *columns, Activity.name, Activity.mode, Activity.service_area).where(
            Activity.status == "active", Activity.mode.in_(REMOTE_MODES),
            Activity.service_area.is_not(None))))
    return CandidateIndex(token, {v: tuple(listed) for v, listed in by_venue.items()}, remote)


def _schedules(session: Session) -> dict[int, tuple[ScheduleRule, ...]]:
    """Listing id -> its schedule rules in order. Rules and whole schedules are shared
    between the listings saying the same ("Tuesdays 10-11"), so a search works each distinct
    schedule out once (`SessionsIn`) and a hundred thousand listings hold a few thousand."""
    rules: dict[int, list[ScheduleRule]] = {}
    parsed: dict[str, ScheduleRule] = {}
    for activity_id, text in column_rows(session, select(
            ScheduleEntry.activity_id, cast(ScheduleEntry.rule, Text))
            .order_by(ScheduleEntry.activity_id, ScheduleEntry.position)):
        rule = parsed.get(text)
        if rule is None:
            rule = parsed[text] = rule_from_json(text)
        rules.setdefault(activity_id, []).append(rule)
    shared: dict[tuple[ScheduleRule, ...], tuple[ScheduleRule, ...]] = {}
    return {activity_id: shared.setdefault(tuple(listed), tuple(listed))
            for activity_id, listed in rules.items()}


def _venue_needs(session: Session) -> dict[int | None, frozenset[str]]:
    """Venue id -> the needs it meets, by the conditions `VENUE_NEEDS` gives (only those
    venues meeting one)."""
    needs = list(VENUE_NEEDS)
    found: dict[int | None, frozenset[str]] = {}
    for venue_id, *met in session.execute(select(Venue.id, *VENUE_NEEDS.values())):
        have = frozenset(need for need, yes in zip(needs, met, strict=True) if yes)
        if have:
            found[venue_id] = have
    return found


def _text(value: str | None) -> str | None:
    """One shared copy of each repeated word (categories, states, methods): 100,000 rows
    name a few dozen."""
    return None if value is None else sys.intern(value)


def _candidate(row, meets: frozenset[str], rules: tuple[ScheduleRule, ...],
               name: str | None = None, mode: str | None = None,
               service_area: list[str] | None = None) -> Candidate:
    return Candidate(row.id, row.venue_id, sys.intern(row.category), row.last_verified_at,
                     _text(row.last_verified_method), bool(row.possibly_closed),
                     _text(row.freshness_state), row.freshness_due_at, _text(row.intake),
                     row.languages, row.welcoming_yes, row.cost_kind == "free",
                     row.session_weekdays, meets, rules, name, mode, service_area)
