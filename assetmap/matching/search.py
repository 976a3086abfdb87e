"""A search: the listings within a walk, ranked, and the phone and online ones serving the
place, each with the reasons it ranks where it does.

A search reads the change tokens of the caches it uses once, at its start (the listings held
in memory, the venues snapped onto the network, the areas), ranks both lists from memory, and reads
what is shown of the winners of both in one query: on PostgreSQL each round trip is a
noticeable part of a search.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from assetmap import vocab
from assetmap.listings.query import listing_summaries
from assetmap.matching.candidates import candidates
from assetmap.matching.rank import (
    MatchQuery,
    SessionsIn,
    circle,
    describe_walking,
    estimated_walk,
    network_walk,
    rank_walking,
    search_window,
    wanted,
)
from assetmap.matching.remote import describe_remote, rank_remote
from assetmap.models.changes import AREAS, LISTINGS, VENUES, change_tokens
from assetmap.walking import PACES
from assetmap.walking.service import WalkingService
from assetmap.walking.stops import NEAR_BUS_STOP_MINUTES


@dataclass
class MatchResult:
    origin: dict
    isochrone: dict | None
    network: str | None
    estimated: bool
    matches: list[dict] = field(default_factory=list)
    # Phone and online listings serving the origin (`assetmap.matching.remote`), apart.
    remote: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"origin": self.origin, "network": self.network, "estimated": self.estimated,
                "isochrone": self.isochrone, "matches": self.matches, "remote": self.remote}


def find_matches(session: Session, service: WalkingService, query: MatchQuery, *,
                 now: datetime, remote: bool = False) -> MatchResult:
    """The listings within the query's walk, best first; with `remote`, also the phone and
    online listings serving its origin (the "Without travelling" list)."""
    tokens = change_tokens(session, LISTINGS, VENUES, AREAS)
    listed = candidates(session, tokens)
    name, router = service.router_for(query.lat, query.lon)
    pace = PACES[query.pace]
    origin = {"lat": query.lat, "lon": query.lon, "method": query.origin_method,
              "approximate": query.origin_approximate, "postcode": query.postcode}
    if query.origin_note:
        origin["note"] = query.origin_note
    drawing = None
    if router is None:  # no network covers the origin: straight line x detour factor
        walk = estimated_walk(session, query.lat, query.lon, query.minutes, pace)
        if vocab.NEAR_BUS_STOP in query.needs:
            walk = {}  # stops are kept beside a network: none covers this start to judge by
        estimated = True
    else:
        assert name is not None  # router_for names every router it finds
        reach = router.reach(query.lat, query.lon, query.minutes, pace.name)
        drawing = None if reach.estimated else service.isochrone_meanwhile(router, reach)
        walk = network_walk(session, service, name, router, reach, pace, tokens)
        if vocab.NEAR_BUS_STOP in query.needs:
            near = service.near_bus_stop(session, name, router, query.pace, tokens) or set()
            walk = {venue: w for venue, w in walk.items() if venue in near}
        estimated = reach.estimated
    # What every listing must meet, and its sessions in the window, for both lists at once.
    wants = wanted(query, now)
    sessions = SessionsIn(query, *search_window(query, now))
    kept = rank_walking(query, walk, listed, wants, sessions, now=now, limit=query.limit)
    far, here = (rank_remote(session, query, listed, wants, sessions, tokens, now=now)
                 if remote else ([], {}))
    rules = {-negated: list(rules) for _s, negated, _x, rules in kept}
    rules.update((row.id, list(row.rules)) for _s, row, _x in far)
    shown = listing_summaries(session, list(rules), rules=rules)
    # On PostgreSQL each statement sees what was committed before it: a listing deleted
    # since the tokens were read has no summary, and is left out rather than shown half.
    kept = [k for k in kept if -k[1] in shown]
    far = [f for f in far if f[1].id in shown]
    matches = describe_walking(kept, shown, walk, query, now=now)
    if router is None:
        for m in matches:
            m["estimated"] = True
    else:
        _say_bus_stop(service, query, matches)
    isochrone = circle(query, pace) if drawing is None else drawing.result()
    return MatchResult(origin, isochrone, name, estimated, matches,
                       describe_remote(session, far, here, shown, query, tokens, now=now))


def _say_bus_stop(service: WalkingService, query: MatchQuery, matches: list[dict]) -> None:
    """When "near a bus stop" was asked, the why names the stop and the walk to it."""
    if vocab.NEAR_BUS_STOP not in query.needs:
        return
    for m in matches:
        venue = m["venue"]
        bus = next((s for s in service.getting_there(venue["lat"], venue["lon"], query.pace)
                    if s["kind"] == "bus"), None)
        m["why"].insert(1, bus["words"] if bus else
                        f"a bus stop within {NEAR_BUS_STOP_MINUTES} min walk")
