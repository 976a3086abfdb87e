"""A ward's map to share: one HTML file a coordinator can e-mail to a councillor or a partner,
which opens offline and fetches nothing from another host.

Built with folium, whose maps link Leaflet, jQuery and Bootstrap from CDNs and draw tiles from
the internet: here the map has no tile layer and no CDN links (`OfflineMap` in `_folium`), and
Leaflet's JS and CSS (the copy the app serves from `static/vendor/leaflet`, its images as data:
URIs),
the app's marker style (`static/css/maps.css`), the ward's outline, its streets (from the
walking network, when one covers the ward) and its listings are all written into the file.

Listings travel as JSON inside the script (`<`, `>` and `&` escaped, so no text can close the
script) and their popups are built with `textContent`: folium's own popups put HTML inside a
JavaScript template literal, where a listing named `${...}` would run. Nothing private leaves:
no contact details, notes or judgements, only what the public map shows.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from assetmap.freshness.queue import QueueFilter, queue_items
from assetmap.freshness.rules import STATE_LABELS, STATE_SYMBOLS, STATES
from assetmap.models import Activity, Area
from assetmap.places.status import CREDIT_ONS, CREDIT_OS, CREDIT_OSM, place_name
from assetmap.schedule import LONDON, describe_all
from assetmap.values import chunks

if TYPE_CHECKING:
    from assetmap.walking import NetworkRegistry, Router

STATIC = Path(__file__).resolve().parent.parent / "static"
LEAFLET = STATIC / "vendor" / "leaflet"
#: The app's marker look (`.mk`), the same file the public map uses.
MARKER_CSS = STATIC / "css" / "maps.css"

#: Street lines are rounded to this many decimal places (about 10 cm): smaller files.
COORD_DECIMALS = 6


@dataclass(frozen=True)
class WardMap:
    """The file and what a view needs to send it."""

    ward: str
    code: str
    listings: int
    html: str

    @property
    def file_name(self) -> str:
        return file_name(self.ward)


def file_name(ward: str) -> str:
    """'Camden Town with Primrose Hill' -> 'camden-town-with-primrose-hill-map.html' (ASCII,
    so every mail program and file system keeps it)."""
    ascii_name = unicodedata.normalize("NFKD", ward).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:80].strip("-")
    return f"{slug}-map.html" if slug else "ward-map.html"


def find_ward(session: Session, code: str) -> Area | None:
    """The ward with this code (as in the boundary file, e.g. E05000128), or None."""
    if not code or len(code) > 20 or not code.isprintable():  # PostgreSQL refuses NUL
        return None
    return session.scalar(select(Area).where(Area.kind == "ward", Area.code == code))


def boundary(session: Session, area: Area) -> Any:
    """The area's outline as a shapely (Multi)Polygon in lon/lat."""
    return shapely.from_geojson(session.scalar(select(Area.geom.ST_AsGeoJSON())
                                               .where(Area.id == area.id)))


# -- what goes on the map ------------------------------------------------------------------

def ward_listings(session: Session, area: Area, *, now: datetime) -> list[dict[str, Any]]:
    """The live listings at venues in the ward, with only what the public map shows: name,
    kind in words, when (in words), where, and how fresh (in words); `osm` when the venue
    came from OpenStreetMap (its credit line)."""
    rows = queue_items(session, QueueFilter(area_id=area.id, area_name=area.name,
                                            states=STATES), now=now)
    rows = [r for r in rows if r["lat"] is not None]
    loaded: dict[int, Activity] = {}
    for chunk in chunks([r["id"] for r in rows]):
        loaded.update((a.id, a) for a in session.scalars(
            select(Activity).where(Activity.id.in_(chunk))
            .options(selectinload(Activity.schedule_rows), selectinload(Activity.venue))))
    listings = [{
        "name": r["name"], "category": r["category_label"],
        "when": describe_all(loaded[r["id"]].schedules),
        "venue": ", ".join(p for p in (r["venue"], r["postcode"]) if p),
        "state": r["state"], "state_label": r["state_label"], "checked": r["checked"],
        "lat": r["lat"], "lon": r["lon"],
        "osm": _from_osm(loaded[r["id"]]),
    } for r in rows]
    return sorted(listings, key=lambda item: (item["name"].lower(), item["venue"]))


def _from_osm(activity: Activity) -> bool:
    venue = activity.venue
    return venue is not None and venue.osm_ref is not None


def credits(listings: Sequence[dict[str, Any]], *, streets: bool) -> list[str]:
    """The credit lines of the data in the file (the licences in data/PROVENANCE.md): the
    ward outline (OS Boundary-Line, ONS codes), and OpenStreetMap when streets or venues
    from it are drawn."""
    osm = streets or any(item["osm"] for item in listings)
    return [*([CREDIT_OSM] if osm else []), CREDIT_ONS, CREDIT_OS]


def ward_streets(router: Router, geometry: Any) -> dict[str, Any] | None:
    """The walking network's streets inside the ward, as one GeoJSON MultiLineString (None
    when no street lies in it): the only basemap the file carries."""
    g = router.graph
    min_x, min_y, max_x, max_y = geometry.bounds
    inside = (g.geom_lon >= min_x) & (g.geom_lon <= max_x) & (g.geom_lat >= min_y) \
        & (g.geom_lat <= max_y)
    edges: Any = np.unique(g.vertex_edge[inside])
    lines = []
    for edge in edges:
        lo, hi = g.geom_indptr[edge], g.geom_indptr[edge + 1]
        if hi - lo >= 2:
            lines.append(shapely.linestrings(g.geom_lon[lo:hi], g.geom_lat[lo:hi]))
    if not lines:
        return None
    clipped = shapely.intersection(shapely.multilinestrings(lines), geometry)
    clipped = shapely.set_precision(clipped, 10 ** -COORD_DECIMALS)
    if clipped.is_empty:
        return None
    return json.loads(shapely.to_geojson(clipped))


# -- the file ------------------------------------------------------------------------------

#: The listings as markers with popups, built in the browser with textContent (a folium
#: MacroElement's script: `this.data` is `script_json`).
_LISTINGS_SCRIPT = """
{% macro script(this, kwargs) %}
(function (map, data) {
  function text(tag, content, className) {
    var node = document.createElement(tag);
    node.textContent = content == null ? "" : String(content);
    if (className) { node.className = className; }
    return node;
  }
  function row(list, term, value) {
    if (!value) { return; }
    list.appendChild(text("dt", term));
    list.appendChild(text("dd", value));
  }
  data.listings.forEach(function (item) {
    var pin = text("span", data.symbols[item.state] || "?", "mk mk-" + item.state);
    pin.setAttribute("aria-hidden", "true");
    var marker = L.marker([item.lat, item.lon], {
      icon: L.divIcon({ className: "mk-icon", html: pin, iconSize: [26, 26],
                        iconAnchor: [13, 13], popupAnchor: [0, -12] }),
      title: item.name + " (" + item.state_label + ")", riseOnHover: true
    });
    var box = document.createElement("div");
    box.className = "listing";
    box.appendChild(text("h2", item.name));
    var list = document.createElement("dl");
    row(list, "Kind", item.category);
    row(list, "When", item.when);
    row(list, "Where", item.venue);
    row(list, "Checked", item.state_label + ": " + item.checked);
    box.appendChild(list);
    marker.bindPopup(box, { maxWidth: 280 });
    marker.addTo(map);
  });
})({{ this._parent.get_name() }}, {{ this.data }});
{% endmacro %}
"""


@functools.cache
def _folium() -> SimpleNamespace:
    """folium and this file's elements, imported on first use: importing folium takes a second
    or more, which every start of the app (and of the CLI) would otherwise pay."""
    import folium
    from folium import Element, MacroElement
    from folium.template import Template

    class OfflineMap(folium.Map):
        """folium's Map without its CDN scripts and styles (Leaflet is inlined instead)."""

        default_js: list[tuple[str, str]] = []
        default_css: list[tuple[str, str]] = []

    class Raw(Element):
        """Text written into the page as it is (already escaped or trusted by its maker)."""

        _template = Template("{{ this.text }}")

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Listings(MacroElement):
        _template = Template(_LISTINGS_SCRIPT)

        def __init__(self, listings: Sequence[dict[str, Any]]) -> None:
            super().__init__()
            self._name = "Listings"
            self.data = script_json({"listings": list(listings), "symbols": STATE_SYMBOLS})

    return SimpleNamespace(folium=folium, OfflineMap=OfflineMap, Raw=Raw, Listings=Listings)


def script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element: nothing in it can end the element or
    start markup, whatever the text it carries."""
    return (json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")
            .replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def leaflet_css() -> str:
    """Leaflet's stylesheet with its images as data: URIs (no request for images/*.png)."""
    css = (LEAFLET / "leaflet.css").read_text(encoding="utf-8")
    return re.sub(r"url\((images/[\w.-]+\.png)\)",
                  lambda m: f"url({_data_uri(LEAFLET / m.group(1), 'image/png')})", css)


_PAGE_CSS = """
body { font: 16px/1.4 "DejaVu Sans", Arial, sans-serif; color: #1a1a1a; background: #fff; }
.share-head, .share-foot { padding: .6rem 1rem; max-width: 60rem; }
.share-head h1 { font-size: 1.35rem; margin: 0 0 .25rem; }
.share-head p, .share-foot p { margin: .2rem 0; }
.folium-map { background: #f2efe9; border-top: 1px solid #b1b4b6;
  border-bottom: 1px solid #b1b4b6; }
.share-key ul { list-style: none; padding: 0; margin: .3rem 0 .6rem;
  display: flex; flex-wrap: wrap; gap: .3rem 1.2rem; }
.share-key li { display: flex; align-items: center; gap: .4rem; }
.share-key .mk { width: 1.4rem; height: 1.4rem; }
.share-key .line { display: inline-block; width: 1.6rem; height: 0; flex: none; }
.share-key .line-ward { border-top: 3px dashed #1d4f91; }
.share-key .line-street { border-top: 2px solid #9a9a9a; }
.share-foot .credits { font-size: .85rem; color: #3d3d3d; }
.listing h2 { font-size: 1.05rem; margin: 0 0 .3rem; overflow-wrap: anywhere; }
.listing dl { margin: 0; display: grid; grid-template-columns: auto 1fr; gap: .15rem .6rem; }
.listing dt { font-weight: bold; }
.listing dd { margin: 0; overflow-wrap: anywhere; }
"""


def _key(listed_states: set[str], has_streets: bool) -> str:
    items = [Markup('<li><span class="line line-ward" aria-hidden="true"></span>'
                    'The ward boundary</li>')]
    if has_streets:
        items.append(Markup('<li><span class="line line-street" aria-hidden="true"></span>'
                            'Streets and paths</li>'))
    for state in STATES:
        if state in listed_states:
            items.append(Markup('<li><span class="mk mk-{0}" aria-hidden="true">{1}</span>'
                                '{2}</li>').format(state, STATE_SYMBOLS[state],
                                                    STATE_LABELS[state]))
    return str(Markup('<section class="share-key" aria-labelledby="key-title">'
                      '<h2 id="key-title">Key</h2><ul>{0}</ul>'
                      '<p>Select a marker for the listing\'s details.</p></section>')
               .format(Markup("").join(items)))


def build(area: Area, shape: Any, listings: Sequence[dict[str, Any]], *, now: datetime,
          place: str | None = None, streets: dict[str, Any] | None = None) -> WardMap:
    """The ward's map as one self-contained HTML page (`shape`: its `boundary`)."""
    min_x, min_y, max_x, max_y = shape.bounds
    f = _folium()
    fmap = f.OfflineMap(location=[(min_y + max_y) / 2, (min_x + max_x) / 2], tiles=None,
                        zoom_start=15, control_scale=True, height="72vh",
                        attribution_control=False)
    figure = fmap.get_root()
    assert isinstance(figure, f.folium.Figure)
    header = figure.header
    header.add_child(f.Raw(f"<title>{escape(area.name)}: a map to share</title>"),
                     name="title")
    header.add_child(f.Raw(f"<style>{leaflet_css()}</style>"), name="leaflet_css")
    header.add_child(f.Raw("<style>" + MARKER_CSS.read_text(encoding="utf-8") + _PAGE_CSS
                           + "</style>"), name="page_css")
    header.add_child(f.Raw("<script>" + (LEAFLET / "leaflet.js").read_text(encoding="utf-8")
                           + "</script>"), name="leaflet_js")
    if streets is not None:
        f.folium.GeoJson(streets, name="Streets", interactive=False,
                         style_function=lambda _f: {"color": "#9a9a9a", "weight": 2,
                                                    "opacity": 0.9}).add_to(fmap)
    f.folium.GeoJson(json.loads(shapely.to_geojson(shape)), name="Ward boundary",
                     interactive=False,
                     style_function=lambda _f: {"color": "#1d4f91", "weight": 3,
                                                "dashArray": "8 6", "fillColor": "#1d4f91",
                                                "fillOpacity": 0.04}).add_to(fmap)
    public = [{k: v for k, v in item.items() if k != "osm"} for item in listings]
    f.Listings(public).add_to(fmap)
    fmap.fit_bounds([[min_y, min_x], [max_y, max_x]])

    made = now.astimezone(LONDON)
    count = len(listings)
    intro = Markup(
        '<header class="share-head"><h1>{0}: listings on the map</h1>'
        '<p>{1} {2} at venues in the ward{3}, as on {4}. Freshness is how recently someone '
        'checked that a listing still runs.</p></header>').format(
        area.name, count, "listing" if count == 1 else "listings",
        Markup(" ({0})").format(place) if place else "",
        f"{made.day} {made.strftime('%B %Y, %H:%M')}")
    figure.html.add_child(f.Raw(str(intro)), name="intro", index=0)
    # The map's own div is added under its name when the page renders; holding that name's
    # place here keeps it between the heading and the key.
    figure.html.add_child(f.Raw(""), name=fmap.get_name())
    lines = Markup("").join(Markup("<p>{0}.</p>").format(line)
                            for line in credits(listings, streets=streets is not None))
    foot = Markup('<footer class="share-foot">{0}<div class="credits">{1}'
                  '<p>Drawn with Leaflet (BSD licence) and folium.</p></div></footer>').format(
        Markup(_key({item["state"] for item in listings}, streets is not None)), lines)
    figure.html.add_child(f.Raw(str(foot)), name="foot")
    html = figure.render()
    # A page people may need to zoom into (folium's default viewport forbids it).
    html = html.replace("<html>", '<html lang="en">', 1)
    html = re.sub(r'<meta name="viewport"[^>]*>',
                  '<meta name="viewport" content="width=device-width, initial-scale=1">', html)
    return WardMap(area.name, area.code, count, html)


def ward_file(session: Session, area: Area, *, now: datetime,
              registry: NetworkRegistry | None, config: Mapping[str, Any]) -> WardMap:
    """Everything the file needs, read and built: what the download view sends."""
    shape = boundary(session, area)
    centre = shape.representative_point()
    router = registry.for_point(centre.y, centre.x) if registry is not None else None
    return build(area, shape, ward_listings(session, area, now=now), now=now,
                 place=place_name(session, config),
                 streets=ward_streets(router, shape) if router is not None else None)
