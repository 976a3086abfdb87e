/* The "put a pin on the map" part of the suggestion form. The latitude and longitude boxes
   are the real controls (usable without a mouse or without this script); the map only fills
   them in, and follows them when they are typed. */
(function () {
  "use strict";

  var el = document.getElementById("pin-map");
  var latBox = document.getElementById("f-lat");
  var lonBox = document.getElementById("f-lon");
  if (!el || !latBox || !lonBox || typeof L === "undefined") { return; }

  var map = null;
  var marker = null;

  function typed() {
    var lat = parseFloat(latBox.value);
    var lon = parseFloat(lonBox.value);
    if (isNaN(lat) || isNaN(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) { return null; }
    return [lat, lon];
  }

  function place(point) {
    if (marker) {
      marker.setLatLng(point);
    } else {
      marker = L.circleMarker(point, { radius: 10, weight: 3, color: "#1d4f91",
                                       fillColor: "#ffbf47", fillOpacity: 1 }).addTo(map);
    }
  }

  function start() {
    if (map) { return; }
    map = window.AssetMapPlace.fit(L.map(el, { maxZoom: 19, minZoom: 10 }));
    if (window.AssetMapBasemap) { AssetMapBasemap.add(map, el); }
    if (el.dataset.areas) {
      fetch(el.dataset.areas).then(function (r) { return r.json(); }).then(function (areas) {
        L.geoJSON(areas, { style: { color: "#4a5a8a", weight: 1, fill: false },
                           interactive: false }).addTo(map);
      });
    }
    var point = typed();
    if (point) { place(point); map.setView(point, 16); }
    map.on("click", function (e) {
      latBox.value = e.latlng.lat.toFixed(6);
      lonBox.value = e.latlng.lng.toFixed(6);
      place(e.latlng);
    });
  }

  function follow() {
    var point = typed();
    if (map && point) { place(point); map.panTo(point); }
  }
  latBox.addEventListener("change", follow);
  lonBox.addEventListener("change", follow);

  // Leaflet needs a visible box to measure: start when the section is opened.
  var details = el.closest("details");
  if (details && !details.open) {
    details.addEventListener("toggle", function () { if (details.open) { start(); } });
  } else {
    start();
  }
})();
