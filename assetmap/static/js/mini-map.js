/* The activity page's small map: the venue (and the walk from a postcode, when asked), on the
   same basemap as every other map. */
(function () {
  "use strict";
  var el = document.getElementById("mini-map");
  if (!el || typeof L === "undefined") { return; }
  var point = JSON.parse(el.dataset.point);
  var map = L.map(el, { maxZoom: 19, minZoom: 10, scrollWheelZoom: false }).setView(point, 16);
  AssetMapBasemap.add(map, el);
  var pin = document.createElement("span");
  pin.className = "mk mk-venue";
  pin.setAttribute("aria-hidden", "true");
  L.marker(point, { icon: L.divIcon({ className: "mk-icon", html: pin, iconSize: [24, 24] }),
    title: el.dataset.label || "", keyboard: false }).addTo(map);
  if (el.dataset.route) {
    var line = L.geoJSON(JSON.parse(el.dataset.route), {
      style: { color: "#1d4f91", weight: 5, opacity: 0.85 }, interactive: false
    }).addTo(map);
    var coords = JSON.parse(el.dataset.route).coordinates || [];
    if (coords.length) {
      var start = document.createElement("span");
      start.className = "mk mk-origin";
      L.marker([coords[0][1], coords[0][0]], { icon: L.divIcon({ className: "mk-icon",
        html: start, iconSize: [20, 20] }), title: "Start", keyboard: false }).addTo(map);
    }
    map.fitBounds(line.getBounds(), { padding: [24, 24], maxZoom: 17 });
  }
})();
