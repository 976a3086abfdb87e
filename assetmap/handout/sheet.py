"""The shortlist handout a connector prints or saves for a client: large print, high contrast.

For each activity: what happens, the next sessions, where, cost, what to expect the first time,
contact, a small street map with the walking route, and written directions. It is drawn from
the walking network itself (no map tiles from anywhere): the streets near the route are the
network's edges, and street names for turn-by-turn directions are the labels the network
stored for each edge when it was built (the extract is never read here). A route with no
labels (an estimate) gets compass headings and distances.

Two outputs share one model: a print-ready HTML page (the template draws the map as inline
SVG) and a PDF (reportlab, vector lines). Nothing here touches the database or Flask.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from assetmap.geo import METRES_PER_DEGREE, haversine_m
from assetmap.schedule import LONDON
from assetmap.walking.graph import CROSSING, Street, WalkGraph
from assetmap.walking.router import detour_metres, edges_in_box

if TYPE_CHECKING:
    from reportlab.pdfgen.canvas import Canvas

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


# -- the map --------------------------------------------------------------------------------

#: Street names put on a map beside the route's own (the longest streets in view first).
MAX_NEAR_LABELS = 6


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    label: str  # "Start", "1", "2"...
    kind: str  # start / place


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    angle: float  # degrees, counter-clockwise from the x axis, always readable
    kind: str = "route"  # route (a street walked along) / near (a street nearby)


@dataclass(frozen=True)
class StopMark:
    """A station or bus stop on the map, with its name beside it (``anchor``: start / end)."""

    x: float
    y: float
    kind: str  # bus / station
    text: str
    text_x: float
    text_y: float
    anchor: str


@dataclass(frozen=True)
class MapDrawing:
    """A map in a width × height box (y down), ready for SVG or PDF."""

    width: float
    height: float
    streets: tuple[tuple[str, tuple[tuple[float, float], ...]], ...]  # (kind, line)
    routes: tuple[tuple[tuple[float, float], ...], ...]
    estimated: bool
    markers: tuple[Marker, ...]
    labels: tuple[Label, ...]
    scale_metres: int
    scale_length: float
    stops: tuple[StopMark, ...] = ()

    @staticmethod
    def _path(lines: Sequence[Sequence[tuple[float, float]]]) -> str:
        parts = []
        for line in lines:
            if len(line) < 2:
                continue
            head, *rest = line
            parts.append(f"M{head[0]:.0f} {head[1]:.0f}" + "".join(
                f"L{x:.0f} {y:.0f}" for x, y in rest))
        return "".join(parts)

    def lines_of(self, *kinds: str) -> list[tuple[tuple[float, float], ...]]:
        """The street lines of these kinds (STREET_KINDS: major, minor, service, path)."""
        return [line for kind, line in self.streets if kind in kinds]

    def street_path(self, *kinds: str) -> str:
        """One SVG path for every street of these kinds (one element, not thousands)."""
        return self._path(self.lines_of(*kinds))

    @property
    def route_paths(self) -> list[str]:
        return [self._path([r]) for r in self.routes]


@dataclass(frozen=True)
class Place:
    lat: float
    lon: float
    label: str


@dataclass(frozen=True)
class MapStop:
    """A station or bus stop to show (the nearest first: the map always takes that one in)."""

    lat: float
    lon: float
    kind: str  # bus / station
    name: str

    @property
    def text(self) -> str:
        if self.kind == "bus":
            return f"Bus stop {self.name}"
        return self.name if "station" in self.name.lower() else f"{self.name} station"


@dataclass(frozen=True, eq=False)
class MapSpec:
    """What a map shows; drawn for a box of any size (the PDF fills the room left on the
    page, the HTML page uses the default 1000 × 560 box)."""

    graph: WalkGraph | None
    routes: tuple[Sequence[Sequence[float]], ...]
    start: Place | None
    places: tuple[Place, ...]
    estimated: bool = False
    street_labels: tuple[tuple[str, Sequence[tuple[float, float]]], ...] = ()
    stops: tuple[MapStop, ...] = ()

    def draw(self, width: float = 1000.0, height: float = 560.0, *,
             label_char: float = 13.0) -> MapDrawing:
        """``label_char``: the width of a label's character in the box's units."""
        return draw_map(graph=self.graph, routes=self.routes, start=self.start,
                        places=self.places, estimated=self.estimated,
                        street_labels=self.street_labels, stops=self.stops, width=width,
                        height=height, label_char=label_char)


class _Frame:
    """Projection into the box (y down), and the room taken so far by what is drawn."""

    def __init__(self, lats: list[float], lons: list[float], width: float, height: float,
                 min_span_m: float) -> None:
        self.width, self.height = width, height
        self.lat0 = (min(lats) + max(lats)) / 2
        self.lon0 = (min(lons) + max(lons)) / 2
        self.ky = METRES_PER_DEGREE
        self.kx = self.ky * math.cos(math.radians(self.lat0))
        span_x = max((max(lons) - min(lons)) * self.kx, min_span_m) * 1.25
        span_y = max((max(lats) - min(lats)) * self.ky, min_span_m * height / width) * 1.25
        self.scale = min(width / span_x, height / span_y)  # units per metre
        self.taken: list[Any] = []  # shapely polygons: labels, markers, the route

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        return (self.width / 2 + (lon - self.lon0) * self.kx * self.scale,
                self.height / 2 - (lat - self.lat0) * self.ky * self.scale)

    def box(self) -> tuple[float, float, float, float]:
        """The lon/lat box the map shows."""
        half_lon = self.width / 2 / self.scale / self.kx
        half_lat = self.height / 2 / self.scale / self.ky
        return (self.lon0 - half_lon, self.lat0 - half_lat, self.lon0 + half_lon,
                self.lat0 + half_lat)

    def free(self, shape: Any, margin: float) -> bool:
        """Whether a shape lies inside the box (``margin`` in) and clear of what is taken."""
        import shapely

        inner = shapely.box(margin, margin, self.width - margin, self.height - margin)
        return bool(inner.contains(shape)) and not any(shape.intersects(t) for t in self.taken)


def draw_map(*, graph: WalkGraph | None, routes: Sequence[Sequence[Sequence[float]]],
             start: Place | None, places: Sequence[Place], estimated: bool = False,
             street_labels: Sequence[tuple[str, Sequence[tuple[float, float]]]] = (),
             stops: Sequence[MapStop] = (), width: float = 1000.0, height: float = 560.0,
             label_char: float = 13.0, min_span_m: float = 350.0) -> MapDrawing:
    """The routes (GeoJSON [lon, lat] lists), the start and the places, over nearby streets
    drawn as the basemap draws them, with the names of the streets walked along
    (``street_labels``: (name, [(lat, lon)...]) stretches), then of streets nearby, and the
    stations and bus stops given (the first always in view)."""
    import shapely

    lats = [p.lat for p in places] + ([start.lat] if start else [])
    lons = [p.lon for p in places] + ([start.lon] if start else [])
    for route in routes:
        lats.extend(c[1] for c in route)
        lons.extend(c[0] for c in route)
    if stops:  # the nearest stop, with room about it for its name
        pad = 40.0 / METRES_PER_DEGREE
        lats.extend((stops[0].lat - pad, stops[0].lat + pad))
        lons.extend((stops[0].lon - pad * 1.6, stops[0].lon + pad * 1.6))
    f = _Frame(lats, lons, width, height, min_span_m)
    unit = label_char / PDF_CHAR  # the PDF's points per box unit, as the sizes below are in points

    streets: list[tuple[str, tuple[tuple[float, float], ...]]] = []
    in_view: list[tuple[Street, tuple[tuple[float, float], ...]]] = []
    if graph is not None:
        for e in edges_in_box(graph, f.box()).tolist():
            elat, elon = graph.edge_geometry(e)
            line = _rounded([f.xy(a, o) for a, o in zip(elat, elon, strict=True)])
            street = graph.street(e)
            streets.append((street.kind if street else "path", line))
            if street is not None and street.named:
                in_view.append((street, line))
    order = {"path": 0, "service": 1, "minor": 2, "major": 3}  # bigger streets drawn on top
    streets.sort(key=lambda s: order.get(s[0], 2))
    drawn_routes = tuple(_rounded([f.xy(c[1], c[0]) for c in r]) for r in routes)
    markers = []
    if start is not None:
        markers.append(Marker(*f.xy(start.lat, start.lon), start.label, "start"))
    markers.extend(Marker(*f.xy(p.lat, p.lon), p.label, "place") for p in places)
    for m in markers:
        reach = (12 + (len(m.label) * 8 if m.kind == "start" else 0)) * unit
        f.taken.append(shapely.box(m.x - 12 * unit, m.y - 12 * unit, m.x + reach,
                                   m.y + 12 * unit))
    # The scale bar (bottom left) and the north arrow (top right) are drawn over the map.
    f.taken.append(shapely.box(0, height - 26 * unit, 130 * unit, height))
    f.taken.append(shapely.box(width - 34 * unit, 0, width, 64 * unit))

    # First the names of the streets walked along (beside the route, which they may touch),
    # then the stops, then the names of streets nearby where room is left: each clear of
    # everything placed before it.
    labels: list[Label] = []
    for name, stretch in street_labels:
        pts = [f.xy(la, lo) for la, lo in stretch]
        if len(pts) < 2:
            continue
        line = shapely.LineString(pts)
        label = _fit_along(f, name, _straight_pieces(line, label_char * 1.6), label_char,
                           "route")
        if label is not None:  # a name with no room is left off: the directions say it
            labels.append(label)
            f.taken.append(_label_shape(label, label_char))
    f.taken.extend(shapely.LineString(r).buffer(4 * unit) for r in drawn_routes if len(r) >= 2)
    stop_marks = _stop_marks(f, stops, label_char)
    labels.extend(_near_labels(f, in_view, {label.text for label in labels}, label_char))
    scale_metres = next((m for m in (50, 100, 200, 250, 500, 1000, 2000)
                         if m * f.scale >= width * 0.12), 5000)
    return MapDrawing(width, height, tuple(streets), drawn_routes, estimated, tuple(markers),
                      tuple(labels), scale_metres, scale_metres * f.scale, tuple(stop_marks))


#: A nearby street's name is this much smaller than a name along the route.
NEAR_SIZE = 0.8
#: Fonts of the PDF map, in points: a route's street names, the others and stops' names.
ROUTE_LABEL_PT = 10.0
NEAR_LABEL_PT = 8.5
#: The width of a character of a route's street name in the PDF (DejaVu Sans Bold): a box's
#: ``label_char`` over this is its units per point, for markers and gaps.
PDF_CHAR = ROUTE_LABEL_PT * 0.64


def _label_shape(label: Label, label_char: float) -> Any:
    """The room a label's text takes: a rectangle along it, as drawn (the text sits on the
    line, rising to one side of it)."""
    import shapely
    from shapely import affinity

    size = label_char * (NEAR_SIZE if label.kind == "near" else 1.0)
    half = len(label.text) * size / 2
    if label.kind == "route":  # its baseline is 5 pt above the route's middle
        rise, drop = label_char / PDF_CHAR * 4.5 + size * 1.45, -label_char / PDF_CHAR * 4.5
    else:
        rise = drop = size * 0.9
    shape = shapely.box(label.x - half, label.y - rise, label.x + half, label.y + drop)
    # Label angles are counter-clockwise on paper; the box's y axis points down.
    return affinity.rotate(shape, -label.angle, origin=(label.x, label.y))


def _near_labels(f: _Frame, in_view: list[tuple[Street, tuple[tuple[float, float], ...]]],
                 already: set[str], label_char: float) -> list[Label]:
    """Names of the longest streets in view that the route does not name already, each along
    a straight enough stretch of it and clear of everything else."""
    import shapely

    by_name: dict[str, list[tuple[tuple[float, float], ...]]] = {}
    for street, line in in_view:
        if street.label not in already and street.label != CROSSING and len(line) >= 2:
            by_name.setdefault(street.label, []).append(line)
    lengths = {name: sum(shapely.LineString(li).length for li in lines)
               for name, lines in by_name.items()}
    size = label_char * NEAR_SIZE
    out: list[Label] = []
    for name in sorted(by_name, key=lambda n: -lengths[n]):
        if len(out) == MAX_NEAR_LABELS:
            break
        merged = shapely.line_merge(shapely.MultiLineString(by_name[name]))
        label = _fit_along(f, name, _straight_pieces(merged, size * 0.7), label_char, "near")
        if label is not None:
            out.append(label)
            f.taken.append(_label_shape(label, label_char))
    return out


def _fit_along(f: _Frame, name: str, pieces: list[tuple[tuple[float, float],
                                                         tuple[float, float]]],
               label_char: float, kind: str) -> Label | None:
    """A free place for a name along the longest straight pieces that hold it: the middle of
    a piece, else towards either end."""
    text = len(name) * label_char * (NEAR_SIZE if kind == "near" else 1.0)
    # A name beside the route may run past a bend (the route shows where it goes); a name
    # of a street nearby must lie along it.
    need = text * (0.5 if kind == "route" else 0.95)
    for a, b in sorted(pieces, key=lambda ab: -math.dist(*ab)):
        length = math.dist(a, b)
        if length < need:
            return None  # the rest are shorter still
        middle = _label_for(name, [a, b], kind=kind)
        slack = abs(length - text) / 2 / length  # within the piece, or overrunning it
        for t in (0.0, -slack, slack):
            label = Label(middle.x + (b[0] - a[0]) * t, middle.y + (b[1] - a[1]) * t, name,
                          middle.angle, kind)
            if f.free(_label_shape(label, label_char), 2.0):
                return label
    return None


def _straight_pieces(lines: Any, tolerance: float) -> list[tuple[tuple[float, float],
                                                                  tuple[float, float]]]:
    """The straight pieces of lines once wiggles under ``tolerance`` are smoothed away."""
    import shapely

    pieces: list[tuple[Any, Any]] = []
    for line in shapely.get_parts(lines):
        coords = list(line.simplify(tolerance).coords)
        pieces.extend(zip(coords[:-1], coords[1:], strict=True))
    return [((a[0], a[1]), (b[0], b[1])) for a, b in pieces]


def _stop_marks(f: _Frame, stops: Sequence[MapStop], label_char: float) -> list[StopMark]:
    """Stations and bus stops in view, each named beside its dot where there is room ("Bus
    stop X", else just "X"). The first (the nearest) is always shown and named, inside the
    map; another that cannot be named is left off (a dot without a name only clutters)."""
    import shapely

    size = label_char * NEAR_SIZE
    out: list[StopMark] = []
    for i, stop in enumerate(stops):
        x, y = f.xy(stop.lat, stop.lon)
        if not (0 <= x <= f.width and 0 <= y <= f.height):
            continue
        r = size * (0.9 if stop.kind == "station" else 0.65)
        dot = shapely.Point(x, y).buffer(r + 1)
        placed = None
        for text in dict.fromkeys((stop.text, stop.name)):
            placed = next((p for p in _stop_text_places(x, y, r, text, size)
                           if f.free(p[3], 2.0)), None)
            if placed is not None:
                break
        if placed is None and i == 0:
            # The place that covers least of what is drawn, pulled inside the map.
            w = len(stop.name) * size
            options = []
            for tx, ty, anchor, _shape, _text in _stop_text_places(x, y, r, stop.name, size):
                left = min(max(tx if anchor == "start" else tx - w, 2.0), f.width - w - 2.0)
                tx = left if anchor == "start" else left + w
                ty = min(max(ty, size * 1.1), f.height - size * 0.4)
                options.append((tx, ty, anchor, shapely.box(
                    left, ty - size * 1.05, left + w, ty + size * 0.35), stop.name))
            placed = min(options, key=lambda o: sum(o[3].intersection(t).area
                                                    for t in f.taken))
        if placed is None or (i > 0 and any(dot.intersects(t) for t in f.taken)):
            continue
        tx, ty, anchor, shape, text = placed
        f.taken.extend((dot, shape))
        out.append(StopMark(round(x, 1), round(y, 1), stop.kind, text, round(tx, 1),
                            round(ty, 1), anchor))
    return out


def _stop_text_places(x: float, y: float, r: float, text: str, size: float
                      ) -> list[tuple[float, float, str, Any, str]]:
    """Where a stop's name may go: right, left, above, below (x, baseline y, anchor, the
    room it takes, the text)."""
    import shapely

    w = len(text) * size
    gap = size * 0.4
    spots = [(x + r + gap, y + size * 0.35, "start"), (x - r - gap, y + size * 0.35, "end"),
             (x - w / 2, y - r - size * 0.5, "start"), (x - w / 2, y + r + size * 1.3, "start"),
             (x + r, y - r - size * 0.3, "start"), (x + r, y + r + size * 1.1, "start"),
             (x - r, y - r - size * 0.3, "end"), (x - r, y + r + size * 1.1, "end")]
    out = []
    for tx, ty, anchor in spots:
        left = tx if anchor == "start" else tx - w
        out.append((tx, ty, anchor, shapely.box(left, ty - size * 1.05, left + w,
                                                ty + size * 0.35), text))
    return out


def _rounded(points: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    out: list[tuple[float, float]] = []
    for x, y in points:
        p = (round(x, 1), round(y, 1))
        if not out or out[-1] != p:
            out.append(p)
    return tuple(out)


def _label_for(name: str, pts: Sequence[tuple[float, float]], kind: str = "route") -> Label:
    """A label at the middle of the longest straight piece of a stretch, along it."""
    best = max(zip(pts[:-1], pts[1:], strict=True),
               key=lambda ab: math.dist(ab[0], ab[1]))
    (x1, y1), (x2, y2) = best
    angle = -math.degrees(math.atan2(y2 - y1, x2 - x1))  # y grows downwards
    if angle > 90:
        angle -= 180
    elif angle < -90:
        angle += 180
    return Label((x1 + x2) / 2, (y1 + y2) / 2, name, round(angle, 1), kind)


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


# -- words for the handout ------------------------------------------------------------------

def clock(moment: datetime) -> str:
    """'10am', '2:30pm', '12 noon', 'midnight'."""
    local = moment.astimezone(LONDON)
    if local.hour == 12 and local.minute == 0:
        return "12 noon"
    if local.hour == 0 and local.minute == 0:
        return "midnight"
    hour = local.hour % 12 or 12
    minutes = f":{local.minute:02d}" if local.minute else ""
    return f"{hour}{minutes}{'am' if local.hour < 12 else 'pm'}"


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


# -- PDF ------------------------------------------------------------------------------------

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
INK = "#111111"
ROUTE = "#1d4f91"
PLACE = "#a4002b"
#: The basemap's colours (assetmap/static/js/basemap.js), so a printed map looks like the
#: maps on screen.
BASEMAP = {
    "land": "#f4f1ea", "path": "#a0673a", "minor": "#ffffff", "minor_casing": "#c7bfb2",
    "major": "#fcd98f", "major_casing": "#d39b4a", "near_text": "#262626",
    "station": "#c4002f", "bus": "#b3261e",
}
BODY_PT = 15


@lru_cache(maxsize=1)
def _fonts() -> tuple[str, str]:
    """DejaVu Sans (any script a listing might use) if installed, else Helvetica."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    regular, bold = FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"
    if regular.exists() and bold.exists():
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(regular)))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(bold)))
        return "DejaVuSans", "DejaVuSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def render_pdf(handout: Handout) -> bytes:
    """The handout as an A4 PDF: body text 15 pt, headings larger, maps as vector lines.

    With one page per activity, the facts sit in a two-column table and the map takes the
    room left at the foot of the page, so a typical listing fits on one sheet of paper.
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, SimpleDocTemplate

    regular, bold = _fonts()
    styles = _styles(regular, bold)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=12 * mm, bottomMargin=15 * mm,
                            title="Activities near you", author="AssetMap")
    story: list[Any] = []
    if handout.layout == "sheet":
        story.extend(_sheet_story(handout, styles, doc.width))
    else:
        for i, item in enumerate(handout.items):
            if i:
                story.append(PageBreak())
            story.extend(_item_story(item, handout, styles, doc.width, full=True))

    def footer(canvas: Canvas, _doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(regular, 10)
        canvas.setFillColor(INK)
        canvas.drawString(15 * mm, 8 * mm, f"Printed {handout.made_on}. {handout.attribution}")
        canvas.drawRightString(A4[0] - 15 * mm, 8 * mm, f"Page {canvas.getPageNumber()}")
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _styles(regular: str, bold: str) -> dict[str, Any]:
    from reportlab.lib.styles import ParagraphStyle

    body = ParagraphStyle("body", fontName=regular, fontSize=BODY_PT, leading=BODY_PT * 1.3,
                          textColor=INK, spaceAfter=3)
    return {
        "body": body,
        "title": ParagraphStyle("title", parent=body, fontName=bold, fontSize=24, leading=29,
                                spaceAfter=1),
        "kicker": ParagraphStyle("kicker", parent=body, fontSize=16, leading=20, spaceAfter=5),
        "h2": ParagraphStyle("h2", parent=body, fontName=bold, fontSize=18, leading=23,
                             spaceBefore=7, spaceAfter=2),
        "label": ParagraphStyle("label", parent=body, fontName=bold, spaceAfter=0),
        "cell": ParagraphStyle("cell", parent=body, spaceAfter=1),
        "step": ParagraphStyle("step", parent=body, spaceAfter=1),
        "big": ParagraphStyle("big", parent=body, fontName=bold, fontSize=17, leading=22,
                              spaceAfter=1),
    }


def _p(text: str, style: Any) -> Any:
    from reportlab.platypus import Paragraph

    return Paragraph(escape(text), style)


def _facts(item: HandoutItem, styles: dict[str, Any], width: float, *, full: bool) -> Any:
    """When / Where / Cost / First visit / Contact as a label and value table."""
    from reportlab.lib.colors import HexColor
    from reportlab.lib.units import mm
    from reportlab.platypus import Table, TableStyle

    a = item.activity
    sessions = list(item.sessions if full else item.sessions[:2])
    when = [_p(s, styles["cell"]) for s in sessions or ["Ask the organiser for the next date."]]
    if a.get("schedule_text"):
        when.append(_p(f"Usually: {a['schedule_text']}", styles["cell"]))
    contact = [_p(f"{key}: {value}", styles["big"] if key == "Phone" else styles["cell"])
               for key, value in item.contact] or [_p("Ask your connector.", styles["cell"])]
    rows: list[list[Any]]
    rows = [["When", when], ["Where", [_p(", ".join(item.address) or "Ask the organiser",
                                          styles["cell"])]],
            ["Cost", [_p(item.cost, styles["cell"])]]]
    if full:
        rows.append(["First visit", [_p(line, styles["cell"]) for line in item.first_visit]])
    rows.append(["Contact", contact])
    label_width = 31 * mm
    width -= 12  # the frame's padding
    # splitInRow: a cell taller than a page (many sessions, long advice) splits across pages.
    table = Table([[_p(label, styles["label"]), value] for label, value in rows],
                  colWidths=[label_width, width - label_width], splitInRow=1)
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ("LINEBELOW", (0, 0), (-1, -2), 0.6, HexColor("#9a9a9a")),
    ]))
    return table


def _directions(item: HandoutItem, styles: dict[str, Any]) -> list[Any]:
    from reportlab.platypus import ListFlowable, ListItem

    if item.directions is None:
        return []
    return [ListFlowable(
        [ListItem(_p(step, styles["step"]), leftIndent=22) for step in item.directions.steps],
        bulletType="1", bulletFontName=styles["body"].fontName, bulletFontSize=BODY_PT,
        leftIndent=22)]


def _item_story(item: HandoutItem, handout: Handout, styles: dict[str, Any], width: float,
                *, full: bool) -> list[Any]:
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Table, TableStyle

    a = item.activity
    story: list[Any] = []
    title = f"{item.number}. {a['name']}" if handout.layout == "sheet" else a["name"]
    story.append(_p(title, styles["title"]))
    story.append(_p(a.get("category_label") or "", styles["kicker"]))
    if full and a.get("description"):
        story.extend(_p(para, styles["body"]) for para in a["description"].split("\n\n"))
    story.append(_facts(item, styles, width, full=full))
    heading = []
    if item.walk is not None:
        heading = [_p("Getting there", styles["h2"]), _p(item.walk.words + (
            f", from {handout.origin_label}" if handout.origin_label else "") + ".",
            styles["body"])]
    if full and item.map is not None and item.directions is not None:
        # Directions and map side by side: the whole page usually fits on one sheet.
        inner = width - 12
        map_width = inner * 0.4
        side = Table([[_directions(item, styles), map_flowable(item.map, map_width,
                                                                map_width * 0.95)]],
                     colWidths=[inner - map_width, map_width], splitInRow=1)
        side.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                  ("LEFTPADDING", (0, 0), (0, 0), 0),
                                  ("RIGHTPADDING", (0, 0), (0, 0), 8),
                                  ("LEFTPADDING", (1, 0), (1, 0), 0),
                                  ("RIGHTPADDING", (1, 0), (1, 0), 0)]))
        story.append(KeepTogether([*heading, side]))
    elif heading:
        story.append(KeepTogether(heading + _directions(item, styles)[:1]))
        story.extend(_directions(item, styles)[1:])
    if full and item.map is not None and item.directions is None:
        story.append(map_flowable(item.map, width, width * 0.6, min_height=50 * mm))
    return story


def _sheet_story(handout: Handout, styles: dict[str, Any], width: float) -> list[Any]:
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Spacer

    story: list[Any] = [_p("Activities near you", styles["title"])]
    if handout.origin_label:
        story.append(_p(f"Walking from {handout.origin_label}. The numbers on the map are "
                        "the activities below.", styles["kicker"]))
    if handout.overview is not None:
        story.append(map_flowable(handout.overview, width, width * 0.5))
        story.append(Spacer(1, 3 * mm))
    for item in handout.items:
        story.append(KeepTogether(_item_story(item, handout, styles, width, full=False)))
        story.append(Spacer(1, 5 * mm))
    return story


def map_flowable(spec: MapSpec, width: float, height: float, *,
                 min_height: float | None = None) -> Any:
    """A reportlab Flowable drawing the map; with ``min_height`` it shrinks to the room left
    on the page, down to that height (the class is made on first use: reportlab is imported
    only when a PDF is made)."""
    return _map_flowable_class()(spec, width, height, min_height)


@lru_cache(maxsize=1)
def _map_flowable_class() -> type:
    from reportlab.platypus import Flowable

    class MapFlowable(_MapDrawer, Flowable):
        pass

    return MapFlowable


class _MapDrawer:
    """The drawing half of the map Flowable: the map drawn for its final box, in points."""

    canv: Any

    def __init__(self, spec: MapSpec, width: float, height: float,
                 min_height: float | None) -> None:
        super().__init__()
        self.spec = spec
        self.width = width
        self.max_height = height
        self.min_height = min_height or height
        self.height = height

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = min(self.width, avail_width)
        self.height = max(self.min_height, min(self.max_height, avail_height - 4))
        return self.width, self.height

    def draw(self) -> None:
        from reportlab.lib.colors import HexColor, white

        regular, bold = _fonts()
        d = self.spec.draw(self.width, self.height, label_char=PDF_CHAR)
        c = self.canv

        def pt(x: float, y: float) -> tuple[float, float]:
            return x, self.height - y

        c.saveState()
        frame = c.beginPath()
        frame.rect(0, 0, self.width, self.height)
        c.setFillColor(HexColor(BASEMAP["land"]))
        c.setStrokeColor(HexColor(INK))
        c.setLineWidth(1.2)
        c.drawPath(frame, stroke=1, fill=1)
        c.clipPath(frame, stroke=0, fill=0)
        c.setLineCap(1)
        c.setLineJoin(1)
        self._streets(d, pt)
        for route in d.routes:
            self._lines([route], white, 7.5, pt)
            self._lines([route], HexColor(ROUTE), 4.5, pt, dash=(6, 4) if d.estimated else None)
        for label in d.labels:
            x, y = pt(label.x, label.y)
            near = label.kind == "near"
            self._halo_text(x, y, label.text, regular if near else bold,
                            NEAR_LABEL_PT if near else ROUTE_LABEL_PT,
                            angle=label.angle, rise=-3.3 if near else 5,
                            colour=BASEMAP["near_text"] if near else INK)
        for stop in d.stops:
            self._stop(stop, pt, regular)
        for m in d.markers:
            x, y = pt(m.x, m.y)
            colour = HexColor(INK) if m.kind == "start" else HexColor(PLACE)
            c.setStrokeColor(white)
            c.setLineWidth(2)
            c.setFillColor(colour)
            if m.kind == "start":
                c.rect(x - 7, y - 7, 14, 14, stroke=1, fill=1)
                self._tag(x + 10, y, m.label, bold)
            else:
                c.circle(x, y, 10, stroke=1, fill=1)
                c.setFillColor(white)
                c.setFont(bold, 12)
                c.drawCentredString(x, y - 4.3, m.label)
        # Scale bar bottom left, north arrow top right.
        c.setStrokeColor(HexColor(INK))
        c.setFillColor(HexColor(INK))
        c.setLineWidth(2)
        bar = d.scale_length
        c.line(10, 12, 10 + bar, 12)
        c.line(10, 8, 10, 16)
        c.line(10 + bar, 8, 10 + bar, 16)
        c.setFont(regular, 11)
        c.drawString(14 + bar, 8, f"{d.scale_metres} m")
        nx, ny = self.width - 18, self.height - 34
        arrow = c.beginPath()
        arrow.moveTo(nx, ny + 22)
        arrow.lineTo(nx - 7, ny + 4)
        arrow.lineTo(nx + 7, ny + 4)
        arrow.close()
        c.drawPath(arrow, stroke=0, fill=1)
        c.setFont(bold, 12)
        c.drawCentredString(nx, ny - 10, "N")
        c.restoreState()

    def _streets(self, d: MapDrawing, pt: Any) -> None:
        """Streets as the basemap draws them: dashed brown paths, white streets with a grey
        casing, main roads in yellow with an orange casing."""
        from reportlab.lib.colors import HexColor

        self._lines(d.lines_of("path"), HexColor(BASEMAP["path"]), 0.7, pt, dash=(2, 1.5))
        self._lines(d.lines_of("service"), HexColor(BASEMAP["minor_casing"]), 1.6, pt)
        self._lines(d.lines_of("minor"), HexColor(BASEMAP["minor_casing"]), 3.4, pt)
        self._lines(d.lines_of("major"), HexColor(BASEMAP["major_casing"]), 5.0, pt)
        self._lines(d.lines_of("service"), HexColor(BASEMAP["minor"]), 0.8, pt)
        self._lines(d.lines_of("minor"), HexColor(BASEMAP["minor"]), 2.2, pt)
        self._lines(d.lines_of("major"), HexColor(BASEMAP["major"]), 3.6, pt)

    def _halo_text(self, x: float, y: float, text: str, font: str, size: float, *,
                   angle: float = 0.0, rise: float = 0.0, colour: str = INK,
                   anchor: str = "middle") -> None:
        """Text with a white halo, so it reads over streets and the route."""
        from reportlab.lib.colors import HexColor, white

        c = self.canv
        c.saveState()
        c.translate(x, y)
        c.rotate(angle)
        width = c.stringWidth(text, font, size)
        left = {"middle": -width / 2, "start": 0.0, "end": -width}[anchor]
        for mode, ink in ((1, white), (0, HexColor(colour))):  # a white halo, then ink
            c.saveState()  # the text render mode is graphics state: keep it to one pass
            t = c.beginText(left, rise)
            t.setFont(font, size)
            t.setTextRenderMode(mode)
            c.setStrokeColor(ink)
            c.setFillColor(ink)
            c.setLineWidth(3)
            t.textOut(text)
            c.drawText(t)
            c.restoreState()
        c.restoreState()

    def _stop(self, stop: StopMark, pt: Any, font: str) -> None:
        """A station (a ring) or a bus stop (a dot), coloured as on the basemap, and named."""
        from reportlab.lib.colors import HexColor, white

        c = self.canv
        x, y = pt(stop.x, stop.y)
        colour = HexColor(BASEMAP["station" if stop.kind == "station" else "bus"])
        if stop.kind == "station":
            c.setStrokeColor(colour)
            c.setFillColor(white)
            c.setLineWidth(2.4)
            c.circle(x, y, 5, stroke=1, fill=1)
            c.setFillColor(colour)
            c.rect(x - 6.5, y - 1.1, 13, 2.2, stroke=0, fill=1)
        else:
            c.setStrokeColor(white)
            c.setLineWidth(1.5)
            c.setFillColor(colour)
            c.circle(x, y, 3.8, stroke=1, fill=1)
        if stop.text:
            tx, ty = pt(stop.text_x, stop.text_y)
            self._halo_text(tx, ty, stop.text, font, NEAR_LABEL_PT, anchor=stop.anchor)

    def _tag(self, x: float, y: float, text: str, font: str) -> None:
        from reportlab.lib.colors import HexColor, white

        c = self.canv
        w = c.stringWidth(text, font, 12) + 8
        c.setFillColor(white)
        c.setStrokeColor(HexColor(INK))
        c.setLineWidth(1)
        c.rect(x, y - 8, w, 16, stroke=1, fill=1)
        c.setFillColor(HexColor(INK))
        c.setFont(font, 12)
        c.drawString(x + 4, y - 4.3, text)

    def _lines(self, lines: Sequence[Sequence[tuple[float, float]]], colour: Any, width: float,
               pt: Any, dash: tuple[float, float] | None = None) -> None:
        c = self.canv
        path = c.beginPath()
        for line in lines:
            if len(line) < 2:
                continue
            path.moveTo(*pt(*line[0]))
            for x, y in line[1:]:
                path.lineTo(*pt(x, y))
        c.setStrokeColor(colour)
        c.setLineWidth(width)
        if dash:
            c.setDash(*dash)
        else:
            c.setDash()
        c.drawPath(path, stroke=1, fill=0)
