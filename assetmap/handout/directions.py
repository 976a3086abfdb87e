"""Written directions for a walk: turn by turn with street names, or compass headings.

The street names are the labels the walking network stored for each edge when it was built
(``WalkGraph.streets_along(route.edges)``): nothing here reads an OpenStreetMap extract. A
route with no labels gets compass headings and distances; an estimate (no network) says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from assetmap.geo import METRES_PER_DEGREE, haversine_m
from assetmap.walking.graph import CROSSING, Street
from assetmap.walking.router import detour_metres

# -- geometry helpers -----------------------------------------------------------------------

def _bearing(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Degrees clockwise from north."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360


COMPASS = ("north", "north-east", "east", "south-east", "south", "south-west", "west",
           "north-west")


def compass(bearing: float) -> str:
    return COMPASS[round(bearing / 45) % 8]


def distance_words(metres: float) -> str:
    """Distances as people say them: '60 m', '350 m', '1.2 km'."""
    if metres < 25:
        return "a few steps"
    if metres < 100:
        return f"{round(metres / 10) * 10} m"
    if metres < 1000:
        return f"{round(metres / 50) * 50} m"
    return f"{metres / 1000:.1f} km"


def _turn(change: float) -> str | None:
    """Words for a change of heading (degrees, right positive); None for straight on."""
    change = (change + 180) % 360 - 180
    side = "right" if change > 0 else "left"
    size = abs(change)
    if size < 30:
        return None
    if size < 60:
        return f"Bear {side}"
    if size < 135:
        return f"Turn {side}"
    return f"Turn sharp {side}"


# -- directions -----------------------------------------------------------------------------

@dataclass
class _Leg:
    label: str | None
    named: bool
    coords: list[tuple[float, float]]  # (lat, lon)
    metres: float

    def start_bearing(self, within: float = 20.0) -> float:
        return self._bearing_along(self.coords, within)

    def end_bearing(self, within: float = 20.0) -> float:
        back = self._bearing_along(self.coords[::-1], within)
        return (back + 180) % 360

    @staticmethod
    def _bearing_along(coords: list[tuple[float, float]], within: float) -> float:
        walked = 0.0
        end = coords[-1]
        for (la1, lo1), (la2, lo2) in zip(coords[:-1], coords[1:], strict=True):
            walked += haversine_m(la1, lo1, la2, lo2)
            if walked >= within:
                end = (la2, lo2)
                break
        return _bearing(coords[0][0], coords[0][1], end[0], end[1])


@dataclass(frozen=True)
class Directions:
    """Written directions; ``kind`` says how they were made: 'streets' (turn by turn with
    street names), 'headings' (compass headings and distances) or 'estimate' (no network)."""

    steps: tuple[str, ...]
    kind: str

    def to_dict(self) -> dict:
        return {"steps": list(self.steps), "kind": self.kind}


def directions(coords: Sequence[Sequence[float]], *, destination: str,
               metres_per_minute: float, estimated: bool = False,
               streets: Sequence[Street | None] | None = None) -> Directions:
    """Directions along a route's GeoJSON coordinates ([lon, lat] pairs); ``streets`` names
    each segment of the line (``WalkGraph.streets_along(route.edges)``)."""
    points = [(float(c[1]), float(c[0])) for c in coords]
    total = sum(haversine_m(*a, *b) for a, b in zip(points[:-1], points[1:], strict=True))
    minutes = max(1, math.ceil(total / metres_per_minute))
    if estimated or len(points) < 2:
        start, end = points[0], points[-1]
        minutes = max(1, math.ceil(detour_metres(total) / metres_per_minute))
        return Directions((
            f"{destination} is about {distance_words(total)} to the "
            f"{compass(_bearing(*start, *end))} as the crow flies: allow about {minutes} "
            "minutes on foot.",
            "There is no street map for this area here, so ask for directions on the way "
            "or ring the contact below."), "estimate")
    legs = _legs(points, streets)
    kind = "streets" if legs is not None else "headings"
    if legs is None:
        legs = _heading_legs(points)
    steps = _leg_steps(legs)
    steps.append(_arrival(points, destination) + f" About {minutes} minutes in all "
                 f"({distance_words(total)}).")
    return Directions(tuple(steps), kind)


def _legs(points: list[tuple[float, float]],
          streets: Sequence[Street | None] | None) -> list[_Leg] | None:
    if streets is None or len(streets) != len(points) - 1:
        return None
    if all(s is None for s in streets):
        return None
    # Snap lines and step joins have no street: they belong to their neighbours.
    filled: list[Street] = []
    last = next(s for s in streets if s is not None)
    for s in streets:
        last = s if s is not None else last
        filled.append(last)
    legs: list[_Leg] = []
    for i, street in enumerate(filled):
        label, named = street.label, street.named
        seg = haversine_m(*points[i], *points[i + 1])
        if legs and legs[-1].label == label:
            legs[-1].coords.append(points[i + 1])
            legs[-1].metres += seg
        else:
            legs.append(_Leg(label, named, [points[i], points[i + 1]], seg))
    return _merge_short(legs)


def _merge_short(legs: list[_Leg], shortest: float = 25.0) -> list[_Leg]:
    """Fold legs too short to mention into a neighbour, then join equal neighbours."""
    out: list[_Leg] = []
    for leg in legs:
        if out and leg.metres < shortest and leg.label != CROSSING:
            out[-1].coords.extend(leg.coords[1:])
            out[-1].metres += leg.metres
            continue
        if out and leg.label is not None and out[-1].label == leg.label:
            out[-1].coords.extend(leg.coords[1:])
            out[-1].metres += leg.metres
            continue
        if len(out) == 1 and out[0].metres < shortest and out[0].label != CROSSING:
            leg.coords[:0] = out[0].coords[:-1]
            leg.metres += out[0].metres
            out.clear()
        out.append(leg)
    return out


def _heading_legs(points: list[tuple[float, float]]) -> list[_Leg]:
    """Straight stretches of the route (simplified at 15 m), for directions without names."""
    import shapely

    lat0 = points[0][0]
    ky = METRES_PER_DEGREE
    kx = ky * math.cos(math.radians(lat0))
    line = shapely.LineString([(lon * kx, lat * ky) for lat, lon in points])
    simple = [(y / ky, x / kx) for x, y in line.simplify(15.0).coords]
    legs: list[_Leg] = []
    for a, b in zip(simple[:-1], simple[1:], strict=True):
        leg = _Leg(None, False, [a, b], haversine_m(*a, *b))
        if legs and _turn(leg.start_bearing() - legs[-1].end_bearing()) is None:
            legs[-1].coords.append(b)  # no turn worth a sentence
            legs[-1].metres += leg.metres
        else:
            legs.append(leg)
    return _merge_short(legs)


@dataclass
class _Step:
    """One sentence: how it starts, the streets it carries straight on along, how far."""

    opening: str
    metres: float = 0.0
    onward: list[str] = field(default_factory=list)
    distance: bool = True
    street: bool = False
    link: str = "for"  # "Head north for 80 m", "Turn left onto X and walk 80 m"

    def words(self) -> str:
        text = self.opening
        if self.onward:
            text += ", carrying straight on along " + _join(self.onward)
        if self.distance:
            text += f" ({distance_words(self.metres)})" if self.onward else (
                f" {self.link} {distance_words(self.metres)}")
        return text + "."


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _leg_steps(legs: list[_Leg]) -> list[str]:
    """A sentence per turn; streets followed straight on join the sentence before."""
    steps: list[_Step] = []
    previous: _Leg | None = None
    for leg in legs:
        turn = None if previous is None else _turn(
            leg.start_bearing() - previous.end_bearing())
        if previous is None and leg.label == CROSSING:
            steps.append(_Step(f"Cross the road, heading {compass(leg.start_bearing(60.0))}",
                               distance=False))
        elif previous is None:
            along = f" along {leg.label}" if leg.label else ""
            steps.append(_Step(f"Head {compass(leg.start_bearing(60.0))}{along}", leg.metres,
                               street=leg.named))
        elif leg.label == CROSSING:
            steps.append(_Step("Cross the road", distance=False))
        elif leg.label is None:
            steps.append(_Step(f"{turn or 'Carry on'} and walk", leg.metres))
            steps[-1].opening += f" {compass(leg.start_bearing())}"
        elif turn is None and steps[-1].street and leg.named:
            steps[-1].onward.append(leg.label)
            steps[-1].metres += leg.metres
        elif turn is None:
            steps.append(_Step(f"Carry on along {leg.label}", leg.metres, street=leg.named))
        else:
            steps.append(_Step(f"{turn} onto {leg.label}", leg.metres, street=leg.named,
                               link="and walk"))
        previous = leg
    return [step.words() for step in steps]


def _arrival(points: list[tuple[float, float]], destination: str) -> str:
    """'X is on your left': which side of the last stretch of path the venue stands."""
    venue = points[-1]
    on_path = [p for p in points[:-1] if haversine_m(*p, *venue) > 1.0]
    if len(on_path) < 2:
        return f"You arrive at {destination}."
    a, b = on_path[-2], on_path[-1]
    heading = _bearing(*a, *b)
    to_venue = _bearing(*b, *venue)
    off = (to_venue - heading + 180) % 360 - 180
    if haversine_m(*b, *venue) < 8 or abs(off) < 25:
        return f"You arrive at {destination}."
    return f"{destination} is on your {'right' if off > 0 else 'left'}."


def route_street_labels(coords: Sequence[Sequence[float]],
                        streets: Sequence[Street | None] | None,
                        *, most: int = 3) -> list[tuple[str, list[tuple[float, float]]]]:
    """The longest named stretches of a route, to name on its map."""
    points = [(float(c[1]), float(c[0])) for c in coords]
    legs = _legs(points, streets) or []
    named = sorted((leg for leg in legs if leg.named), key=lambda leg: -leg.metres)
    seen: set[str] = set()
    out = []
    for leg in named:
        if leg.label and leg.label not in seen and leg.metres >= 60:
            seen.add(leg.label)
            out.append((leg.label, leg.coords))
        if len(out) == most:
            break
    return out
