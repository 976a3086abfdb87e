"""The listings a search ranks, held in memory by venue: read once, then only what changed.

A search reaches a hundred venues or so, holding a couple of thousand listings; reading and
filtering those rows in SQL, search after search, was most of a search's time. Each process
keeps instead, per database, the few columns ranking reads for every active listing, grouped
by venue (phone and online listings apart), the needs each meets and its schedule rules.

The listings' change token (`assetmap.models.changes`) is read through the searching session
before anything else: when it is the one the held listings were read at, they are used as
they are; otherwise the listings the change log names since then are read again (all of them
after a start, a prune or a very large change). So a search sees every write committed
before it and its own session's uncommitted writes, as a query of its own would. What a
session that has written sees is its own, used for its search and not held for others.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, Row, case, or_, select
from sqlalchemy.orm import Session

from assetmap import vocab
from assetmap.db import column_rows, engine_of, one_of
from assetmap.freshness.rules import standing_due, state_at
from assetmap.listings.query import schedule_rules
from assetmap.listings.service_area import REMOTE_MODES
from assetmap.matching.suitability import VENUE_NEEDS
from assetmap.models import Activity, ActivityTag, Venue
from assetmap.models.changes import (
    LISTINGS,
    Tokens,
    change_token,
    changes_since,
    has_written,
    last_change,
)
from assetmap.referral.intake import takes_newcomers
from assetmap.referral.languages import runs_in
from assetmap.schedule import ScheduleRule, may_meet_on

#: The needs a listing meets by a tag (the others are judged from where its venue is).
TAG_NEEDS = vocab.NEED_IDS - vocab.PLACE_NEED_IDS
#: Above this many listings changed at once, all are read again (as quick, and simpler).
MOST_CHANGED = 5_000


class Candidate(NamedTuple):
    """One active listing as ranking reads it."""

    id: int
    venue_id: int | None
    category: str
    due_at: datetime | None  # as `standing_due` gives it: with `sticky`, its freshness
    sticky: str | None
    intake: str | None
    languages: list[str] | None
    welcoming_yes: int | None
    free: bool
    session_weekdays: int | None
    meets: frozenset[str]  # the needs it meets: tagged with them, or at a venue that has them
    rules: tuple[ScheduleRule, ...]  # its schedule, in order
    # Phone and online listings only (the "Without travelling" list sorts and shows these).
    name: str | None
    mode: str | None
    service_area: list[str] | None

    def state(self, now: datetime) -> str:
        """Its freshness state at `now`."""
        return state_at(now if self.due_at is None else self.due_at, now, self.sticky)

    @property
    def remote(self) -> bool:
        """Run by phone or online for an area: found by the area, not by a walk."""
        return self.mode in REMOTE_MODES and bool(self.service_area)


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
    token: int | None  # the listings' change token it was read at
    seq: int  # the last change it holds
    by_id: dict[int, Candidate]
    by_venue: dict[int, tuple[Candidate, ...]]
    remote: tuple[Candidate, ...]  # phone and online, with the areas they serve

    def at(self, venue_id: int, wanted: Wanted) -> Iterator[Candidate]:
        """The listings at a venue that the search accepts."""
        return filter(wanted.accepts, self.by_venue.get(venue_id, ()))


class _Held:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.index: CandidateIndex | None = None


_HELD: WeakKeyDictionary[Engine, _Held] = WeakKeyDictionary()
_HELD_LOCK = threading.Lock()


def candidates(session: Session, tokens: Tokens | None = None) -> CandidateIndex:
    """The listings as this session sees them now (one update at a time per database, the
    other searches waiting for it); `tokens`, when the search has read them, hold the
    listings' change token."""
    engine = engine_of(session)
    with _HELD_LOCK:
        held = _HELD.get(engine)
        if held is None:
            held = _HELD[engine] = _Held()
    token = change_token(session, LISTINGS) if tokens is None else tokens[LISTINGS]
    with held.lock:
        base = held.index
        if token is not None and base is not None and base.token == token:
            return base
        index = _brought_up_to_date(session, base, token)
        if not has_written(session):
            held.index = index
        return index


def _brought_up_to_date(session: Session, base: CandidateIndex | None,
                        token: int | None) -> CandidateIndex:
    if base is not None and token is not None:  # no token: no log kept to go by either
        changes = changes_since(session, base.seq)
        if changes is not None and all(c.activity_id is not None or c.venue_id is not None
                                       for c in changes):
            touched = _touched(session, base, changes)
            if len(touched) <= MOST_CHANGED:
                seq = changes[-1].seq if changes else base.seq
                return _patched(base, token, seq, touched, _read(session, touched))
    seq = last_change(session)  # before the rows: they are at least as new
    return _patched(CandidateIndex(token, seq, {}, {}, ()), token, seq, set(),
                    _read(session, None))


def _touched(session: Session, base: CandidateIndex, changes: Sequence[Row[Any]]) -> set[int]:
    """The listings the changes name, and every listing at a venue they name (a venue's
    accessibility is part of the needs its listings meet), before and after."""
    ids = {c.activity_id for c in changes if c.activity_id is not None}
    venues = {c.venue_id for c in changes if c.venue_id is not None}
    if venues:
        ids.update(listing.id for venue in venues for listing in base.by_venue.get(venue, ()))
        ids.update(session.scalars(select(Activity.id).where(
            one_of(session, Activity.venue_id, venues))))
    return ids


def _patched(base: CandidateIndex, token: int | None, seq: int, touched: set[int],
             fresh: list[Candidate]) -> CandidateIndex:
    """`base` with the touched listings replaced by their fresh reading (gone when not in
    it)."""
    by_id = dict(base.by_id)
    by_venue = dict(base.by_venue)
    venues: set[int] = set()
    for listing_id in touched:
        old = by_id.pop(listing_id, None)
        if old is not None and old.venue_id is not None:
            venues.add(old.venue_id)
    arriving: dict[int, list[Candidate]] = {}
    for listing in fresh:
        by_id[listing.id] = listing
        if listing.venue_id is not None:
            arriving.setdefault(listing.venue_id, []).append(listing)
    venues.update(arriving)
    for venue in venues:
        staying = [c for c in by_venue.get(venue, ()) if c.id not in touched]
        listed = (*staying, *arriving.get(venue, ()))
        if listed:
            by_venue[venue] = listed
        else:
            by_venue.pop(venue, None)
    remote = [c for c in base.remote if c.id not in touched]
    remote.extend(c for c in fresh if c.remote)
    return CandidateIndex(token, seq, by_id, by_venue, tuple(remote))


def _read(session: Session, ids: Collection[int] | None) -> list[Candidate]:
    """The active listings with these ids (all when None) as ranking reads them."""
    if ids is not None and not ids:
        return []
    remote = Activity.mode.in_(REMOTE_MODES) & Activity.service_area.is_not(None)
    stmt = select(Activity.id, Activity.venue_id, Activity.category, Activity.last_verified_at,
                  Activity.last_verified_method, Activity.possibly_closed,
                  Activity.freshness_state, Activity.freshness_due_at, Activity.intake,
                  Activity.languages, Activity.welcoming_yes, Activity.cost_kind,
                  Activity.session_weekdays, case((remote, Activity.name)).label("name"),
                  Activity.mode, Activity.service_area).where(
        Activity.status == "active", or_(Activity.venue_id.is_not(None), remote))
    if ids is not None:
        stmt = stmt.where(one_of(session, Activity.id, ids))
    rows = column_rows(session, stmt).all()
    venue_needs = _venue_needs(session, None if ids is None else
                               {row.venue_id for row in rows if row.venue_id is not None})
    tags = _need_tags(session, ids)
    schedules = _schedules(session, ids)
    shared: dict[frozenset[str], frozenset[str]] = {}  # a few hundred distinct sets in all
    listings = []
    for row in rows:
        meets = venue_needs.get(row.venue_id, frozenset()).union(tags.get(row.id, ()))
        due_at, sticky = standing_due(
            cached_state=row.freshness_state, due_at=row.freshness_due_at,
            last_verified_at=row.last_verified_at, method=row.last_verified_method,
            category=row.category, possibly_closed=bool(row.possibly_closed))
        listings.append(Candidate(
            row.id, row.venue_id, sys.intern(row.category), due_at, _word(sticky),
            _word(row.intake),
            row.languages, row.welcoming_yes, row.cost_kind == "free", row.session_weekdays,
            shared.setdefault(meets, meets), schedules.get(row.id, ()), row.name,
            _word(row.mode), row.service_area))
    return listings


def _need_tags(session: Session, ids: Collection[int] | None) -> dict[int, set[str]]:
    stmt = select(ActivityTag.activity_id, ActivityTag.tag).where(
        ActivityTag.tag.in_(sorted(TAG_NEEDS)))
    if ids is not None:
        stmt = stmt.where(one_of(session, ActivityTag.activity_id, ids))
    tags: dict[int, set[str]] = {}
    for activity_id, tag in column_rows(session, stmt):
        tags.setdefault(activity_id, set()).add(tag)
    return tags


def _schedules(session: Session, ids: Collection[int] | None
               ) -> dict[int, tuple[ScheduleRule, ...]]:
    """Listing id -> its schedule rules in order (`schedule_rules`), each distinct schedule
    one shared tuple: listings saying the same ("Tuesdays 10-11") share it, so a search works
    it out once (`SessionsIn`) and a hundred thousand listings hold a few thousand."""
    shared: dict[tuple[ScheduleRule, ...], tuple[ScheduleRule, ...]] = {}
    return {activity_id: shared.setdefault(tuple(listed), tuple(listed))
            for activity_id, listed in schedule_rules(session, ids).items()}


def _venue_needs(session: Session, ids: Collection[int] | None
                 ) -> dict[int | None, frozenset[str]]:
    """Venue id -> the needs it meets, by the conditions `VENUE_NEEDS` gives (only those
    venues meeting one)."""
    needs = list(VENUE_NEEDS)
    stmt = select(Venue.id, *VENUE_NEEDS.values())
    if ids is not None:
        if not ids:
            return {}
        stmt = stmt.where(one_of(session, Venue.id, ids))
    found: dict[int | None, frozenset[str]] = {}
    for venue_id, *met in session.execute(stmt):
        have = frozenset(need for need, yes in zip(needs, met, strict=True) if yes)
        if have:
            found[venue_id] = have
    return found


def _word(value: str | None) -> str | None:
    """One shared copy of each repeated word (states, methods, intake): 100,000 rows name a
    few dozen."""
    return None if value is None else sys.intern(value)
