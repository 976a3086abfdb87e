/* The public map: one GeoJSON request, markers clustered client-side, popups built with
   textContent so no listing text is ever interpreted as HTML or script. */
(function () {
  "use strict";

  var el = document.getElementById("map");
  if (!el) { return; }

  var FRESHNESS_COLOURS = {
    "fresh": "#1b7f3b", "due-soon": "#8a6d00", "stale": "#b34700",
    "very-stale": "#a4002b", "possibly-closed": "#5c5c5c", "unknown": "#5c5c5c"
  };

  var map = window.AssetMapPlace.fit(L.map(el, { preferCanvas: true, maxZoom: 19, minZoom: 10 }));
  var tiles = el.dataset.tiles;
  if (tiles) {
    L.tileLayer(tiles, { maxZoom: 19, attribution: "© OpenStreetMap contributors" }).addTo(map);
  }
  map.attributionControl.addAttribution("© OpenStreetMap contributors (ODbL); boundaries OGL v3");

  function text(tag, content, className) {
    var node = document.createElement(tag);
    node.textContent = content == null ? "" : String(content);
    if (className) { node.className = className; }
    return node;
  }

  function link(href, content) {
    var a = text("a", content);
    a.href = href;
    return a;
  }

  function costWords(cost) {
    if (cost.kind === "free") { return "Free"; }
    if (cost.kind === "amount") { return "£" + cost.amount; }
    if (cost.kind === "small-fee") { return "Small fee"; }
    return "Cost: ask";
  }

  function popupFor(p) {
    var box = document.createElement("div");
    box.className = "popup";
    box.appendChild(text("strong", p.name, "popup-name"));
    box.appendChild(text("div", p.category_label));
    if (p.venue) { box.appendChild(text("div", p.venue.name)); }
    if (p.schedule_text) { box.appendChild(text("div", p.schedule_text)); }
    box.appendChild(text("div", costWords(p.cost)));
    box.appendChild(text("div", p.freshness.words, "freshness state-" + p.freshness.state));
    box.appendChild(link("/activities/" + encodeURIComponent(p.id), "Details"));
    return box;
  }

  function listItem(p) {
    var li = document.createElement("li");
    li.className = "result";
    var heading = document.createElement("h3");
    heading.appendChild(link("/activities/" + encodeURIComponent(p.id), p.name));
    li.appendChild(heading);
    var meta = [p.category_label, p.schedule_text, costWords(p.cost)].filter(Boolean);
    li.appendChild(text("p", meta.join(" · ")));
    if (p.venue) { li.appendChild(text("p", p.venue.name, "venue")); }
    li.appendChild(text("p", p.freshness.words, "freshness state-" + p.freshness.state));
    if (p.demo) { li.appendChild(text("span", "Demo listing", "badge demo")); }
    return li;
  }

  var cluster = L.markerClusterGroup({ chunkedLoading: true, showCoverageOnHover: false });
  map.addLayer(cluster);

  fetch(el.dataset.activities, { headers: { "Accept": "application/json" } })
    .then(function (r) { return r.json(); })
    .then(function (data) {
      var list = document.getElementById("result-list");
      var markers = [];
      (data.features || []).forEach(function (f) {
        var p = f.properties;
        list.appendChild(listItem(p));
        if (!f.geometry) { return; }
        var c = f.geometry.coordinates;
        var marker = L.circleMarker([c[1], c[0]], {
          radius: 8, weight: 2, color: "#ffffff", fillOpacity: 0.9,
          fillColor: FRESHNESS_COLOURS[p.freshness.state] || "#333333"
        });
        marker.bindPopup(function () { return popupFor(p); });
        marker.options.title = p.name;
        markers.push(marker);
      });
      cluster.addLayers(markers);
      el.dataset.markerCount = String(markers.length);
      document.getElementById("result-count").textContent = "(" + data.features.length + ")";
      if (markers.length) { map.fitBounds(cluster.getBounds(), { padding: [20, 20] }); }
    })
    .catch(function () {
      document.getElementById("result-count").textContent = "(could not load)";
    });

  // A local basemap: the walkable streets of the view, from the app's own walking network.
  var streetsPane = map.createPane("streets");
  streetsPane.style.zIndex = 350;
  var streets = L.geoJSON(null, {
    pane: "streets", interactive: false,
    style: { color: "#9aa3ad", weight: 1.5, opacity: 0.9 }
  }).addTo(map);
  var streetsTimer = null;
  function loadStreets() {
    if (!el.dataset.streets || map.getZoom() < 14) { streets.clearLayers(); return; }
    var b = map.getBounds();
    var box = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]
      .map(function (v) { return v.toFixed(4); }).join(",");
    fetch(el.dataset.streets + "?bbox=" + box)
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        streets.clearLayers();
        streets.addData(data);
      });
  }
  map.on("moveend", function () {
    clearTimeout(streetsTimer);
    streetsTimer = setTimeout(loadStreets, 250);
  });

  if (el.dataset.areas) {
    fetch(el.dataset.areas).then(function (r) { return r.json(); }).then(function (areas) {
      L.geoJSON(areas, {
        style: { color: "#4a5a8a", weight: 1, fill: false, dashArray: "4 3" },
        interactive: false
      }).addTo(map);
    });
  }
})();
