/* Wards shaded by a share (darker = more work or a bigger gap), from a GeoJSON URL in
   data-url whose features carry `name`, `share` (0..1) and `label` (plain text). Tooltips are
   built with textContent; clicking a ward follows data-link (if any) with ?area=<id>. The page also
   has a table with the same figures for people who do not use the map. */
(function () {
  "use strict";

  var el = document.getElementById("ward-map");
  if (!el || typeof L === "undefined") { return; }

  var RAMP = ["#fff7d6", "#fdd49e", "#fc8d59", "#d7301f", "#7f0000"];
  var NO_DATA = "#d9d9d9";

  function colour(p) {
    if (p.total === 0) { return NO_DATA; }
    var i = Math.min(RAMP.length - 1, Math.floor(p.share * RAMP.length));
    return RAMP[i];
  }

  function text(tag, content, className) {
    var node = document.createElement(tag);
    node.textContent = content == null ? "" : String(content);
    if (className) { node.className = className; }
    return node;
  }

  function tooltip(p) {
    var box = document.createElement("div");
    box.appendChild(text("strong", p.name));
    box.appendChild(text("div", p.label));
    return box;
  }

  function areaLink(id) {
    var base = el.dataset.link;
    return base + (base.indexOf("?") >= 0 ? "&" : "?") + "area=" + encodeURIComponent(id) +
      "#queue";
  }

  function legend(map) {
    var control = L.control({ position: "bottomright" });
    control.onAdd = function () {
      var box = L.DomUtil.create("div", "map-legend");
      box.appendChild(text("div", "Share " + (el.dataset.what || ""), "legend-title"));
      function row(colour, words) {
        var line = document.createElement("div");
        var swatch = text("span", "", "swatch");
        swatch.style.background = colour;
        line.appendChild(swatch);
        line.appendChild(text("span", words));
        box.appendChild(line);
      }
      RAMP.forEach(function (c, i) { row(c, (i * 20) + "–" + ((i + 1) * 20) + "%"); });
      row(NO_DATA, el.dataset.none || "no listings");
      return box;
    };
    control.addTo(map);
  }

  var map = window.AssetMapPlace.fit(L.map(el, { maxZoom: 17, minZoom: 9, zoomSnap: 0.25 }));
  if (window.AssetMapBasemap) { AssetMapBasemap.add(map, el); }
  map.attributionControl.addAttribution("Boundaries: ONS, OGL v3");
  legend(map);

  fetch(el.dataset.url, { headers: { "Accept": "application/json" } })
    .then(function (r) { return r.json(); })
    .then(function (data) {
      var layer = L.geoJSON(data, {
        style: function (f) {
          return { color: "#333333", weight: 1, fillOpacity: 0.6,
                   fillColor: colour(f.properties) };
        },
        onEachFeature: function (f, shape) {
          shape.bindTooltip(tooltip(f.properties), { sticky: true });
          if (el.dataset.link) {
            shape.on("click", function () { window.location.href = areaLink(f.id); });
          }
        }
      }).addTo(map);
      // The view stays where AssetMapPlace put it: the coordinator's own wards, or the place.
      el.dataset.wards = String((data.features || []).length);
    })
    .catch(function () { el.dataset.wards = "error"; });
})();
