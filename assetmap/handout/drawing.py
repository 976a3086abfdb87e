"""Route maps laid out in a box of any size (y down), for the SVG page and the PDF alike.

Drawn from the walking network itself (no map tiles from anywhere), in the basemap's style: the
streets near the route by kind, the route, its start and places, the names of the streets
walked along and of the longest streets nearby, and the nearest stations and bus stops, each
name placed clear of everything drawn before it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assetmap.geo import METRES_PER_DEGREE
from assetmap.walking.graph import CROSSING, Street, WalkGraph
from assetmap.walking.router import edges_in_box

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
