/* The one basemap style every AssetMap map uses: vector tiles built from the deployment's own
   OpenStreetMap extract (assetmap/maps/profile.lua names the layers), drawn by protomaps-leaflet
   with the browser's own fonts, so no tile or font request leaves the app's host.

   Usage: AssetMapBasemap.add(map, element) where element carries data-basemap, the JSON from the
   server's basemap_config() ({url, kind: vector|raster|none, maxzoom, bounds, streets}).
   Without tiles (kind none) it draws the walking network's streets from `streets` instead. */
(function () {
  "use strict";

  var FONT = "Arial, 'Helvetica Neue', 'DejaVu Sans', sans-serif";

  function font(size, weight, style) {
    return (style || "") + " " + (weight || 400) + " " + size + "px " + FONT;
  }

  function byZoom(stops) {
    // stops: [[zoom, value], ...] -> a function of zoom, stepping (not interpolating)
    return function (z) {
      var v = stops[0][1];
      for (var i = 0; i < stops.length; i++) { if (z >= stops[i][0]) { v = stops[i][1]; } }
      return v;
    };
  }

  function is(key, values) {
    return function (z, f) { return values.indexOf(f.props[key]) >= 0; };
  }

  var TRANSIT_COLOURS = { tube: "#c4002f", rail: "#1d4f91", tram: "#2b7a0b", bus: "#b3261e" };
  var LANDMARK_COLOURS = {
    library: "#6a3d9a", gp: "#00703c", pharmacy: "#00703c", worship: "#4d4d4d",
    community: "#6a3d9a", supermarket: "#8a4b08", post: "#b3261e"
  };

  function rules(P) {
    var paint = [
      { dataLayer: "green", symbolizer: new P.PolygonSymbolizer({ fill: "#cde6c0" }) },
      { dataLayer: "water", symbolizer: new P.PolygonSymbolizer({ fill: "#a6cde8" }) },
      { dataLayer: "waterway", symbolizer: new P.LineSymbolizer({ color: "#7fb1d6", width: 2 }) },
      { dataLayer: "buildings", minzoom: 15,
        symbolizer: new P.PolygonSymbolizer({ fill: "#e3ddd3", stroke: "#d2cabd", width: 0.5 }) },
      { dataLayer: "rail", filter: function (z, f) { return f.props.tunnel !== "yes"; },
        symbolizer: new P.LineSymbolizer({ color: "#6b6b6b", width: byZoom([[0, 1], [15, 2]]),
          dash: [4, 3], dashColor: "#6b6b6b" }) },
      { dataLayer: "roads", minzoom: 15, filter: is("class", ["path"]),
        symbolizer: new P.LineSymbolizer({ color: "#a0673a", width: 1, dash: [3, 2],
          dashColor: "#a0673a" }) },
      { dataLayer: "roads", filter: is("class", ["service"]), minzoom: 15,
        symbolizer: new P.LineSymbolizer({ color: "#ffffff", width: 2 }) },
      { dataLayer: "roads", filter: is("class", ["minor"]),
        symbolizer: new P.LineSymbolizer({ color: "#c7bfb2",
          width: byZoom([[0, 1], [14, 3], [15, 6], [16, 9], [17, 13]]) }) },
      { dataLayer: "roads", filter: is("class", ["major"]),
        symbolizer: new P.LineSymbolizer({ color: "#d39b4a",
          width: byZoom([[0, 2], [13, 4], [14, 6], [15, 9], [16, 12], [17, 17]]) }) },
      { dataLayer: "roads", filter: is("class", ["minor"]), minzoom: 14,
        symbolizer: new P.LineSymbolizer({ color: "#ffffff",
          width: byZoom([[0, 0.5], [14, 2], [15, 4.5], [16, 7], [17, 11]]) }) },
      { dataLayer: "roads", filter: is("class", ["major"]),
        symbolizer: new P.LineSymbolizer({ color: "#fcd98f",
          width: byZoom([[0, 1], [13, 2.5], [14, 4.5], [15, 7], [16, 10], [17, 15]]) }) }
    ];
    var transitText = function (kind, minzoom, size) {
      return {
        dataLayer: "transit", minzoom: minzoom, filter: is("kind", [kind]),
        symbolizer: new P.GroupSymbolizer([
          new P.CircleSymbolizer({ radius: kind === "bus" ? 4 : 6, fill: TRANSIT_COLOURS[kind],
            stroke: "#ffffff", width: 2 }),
          new P.OffsetTextSymbolizer({ font: font(size, 700), fill: "#1a1a1a",
            stroke: "#ffffff", width: 3, offsetX: 8, offsetY: 4,
            labelProps: ["name"] })
        ])
      };
    };
    // Label order is priority: where labels collide the earlier rule wins. Stations, then
    // main road names (the street a shop or surgery is on is the first thing said in
    // directions), then landmarks, then side streets.
    var label = [
      transitText("tube", 12, 14), transitText("rail", 12, 14), transitText("tram", 13, 13),
      transitText("bus", 17, 12),
      { dataLayer: "roads", filter: is("class", ["major"]), minzoom: 13,
        symbolizer: new P.LineLabelSymbolizer({ maxLabelChars: 40, font: font(13, 700), fill: "#1a1a1a",
          stroke: "#ffffff", width: 3 }) },
      { dataLayer: "landmarks", minzoom: 16,
        symbolizer: new P.GroupSymbolizer([
          new P.CircleSymbolizer({ radius: 4,
            fill: function (z, f) { return LANDMARK_COLOURS[f.props.kind] || "#4d4d4d"; },
            stroke: "#ffffff", width: 1.5 }),
          new P.OffsetTextSymbolizer({ font: font(12, 600), fill: "#3b2a55", stroke: "#ffffff",
            width: 3, offsetX: 6, offsetY: 4, labelProps: ["name"] })
        ]) },
      { dataLayer: "roads", filter: is("class", ["minor"]), minzoom: 15,
        symbolizer: new P.LineLabelSymbolizer({ maxLabelChars: 40, font: font(12, 400), fill: "#262626",
          stroke: "#ffffff", width: 3 }) },
      { dataLayer: "roads", filter: is("class", ["path", "service"]), minzoom: 17,
        symbolizer: new P.LineLabelSymbolizer({ maxLabelChars: 40, font: font(11, 400, "italic"), fill: "#4a3320",
          stroke: "#ffffff", width: 3 }) },
      { dataLayer: "green", minzoom: 15,
        symbolizer: new P.CenteredTextSymbolizer({ font: font(12, 400, "italic"),
          fill: "#1f5320", stroke: "#ffffff", width: 2 }) },
      { dataLayer: "water", minzoom: 15,
        symbolizer: new P.CenteredTextSymbolizer({ font: font(12, 400, "italic"),
          fill: "#0b4f7a", stroke: "#ffffff", width: 2 }) }
    ];
    return { paint: paint, label: label };
  }

  function config(el) {
    try { return JSON.parse(el.dataset.basemap || "{}"); } catch (e) { return {}; }
  }

  /* No tiles built (tilemaker missing, or not run yet): draw the walking network's own streets
     instead, from the app's /api/v1/streets, a 0.02-degree cell at a time once the map is at
     neighbourhood zoom (the API refuses views larger than a neighbourhood). A backdrop only:
     a failed cell is simply left blank. */
  var STREETS_MINZOOM = 14;
  var CELL = 0.02;

  function addStreets(map, el, url) {
    var done = {};
    map.createPane("streets");
    map.getPane("streets").style.zIndex = 350;  // above any tiles, below markers and areas
    map.getPane("streets").style.pointerEvents = "none";
    var renderer = L.canvas({ pane: "streets" });
    var group = L.layerGroup().addTo(map);
    var drawn = 0;
    var pending = 0;  // cells asked for and not yet answered
    function load() {
      if (map.getZoom() < STREETS_MINZOOM) { return; }
      var b = map.getBounds();
      for (var x = Math.floor(b.getWest() / CELL); x * CELL < b.getEast(); x++) {
        for (var y = Math.floor(b.getSouth() / CELL); y * CELL < b.getNorth(); y++) {
          var key = x + ":" + y;
          if (done[key]) { continue; }
          done[key] = true;
          var bbox = [x * CELL, y * CELL, (x + 1) * CELL, (y + 1) * CELL].map(function (v) {
            return v.toFixed(2);
          }).join(",");
          pending += 1;
          fetch(url + "?bbox=" + bbox, { credentials: "same-origin",
                                         headers: { "Accept": "application/json" } })
            .then(function (r) { return r.ok ? r.json() : { features: [] }; })
            .catch(function () { return { features: [] }; })
            .then(function (body) {
              var lines = body.features.length ? body.features[0].geometry.coordinates : [];
              lines.forEach(function (line) {
                L.polyline(line.map(function (c) { return [c[1], c[0]]; }), {
                  renderer: renderer, color: "#9a9a9a", weight: 1.6, interactive: false
                }).addTo(group);
              });
              drawn += lines.length;
              pending -= 1;
              // Marked once every cell in view has answered, so the count is the whole view's
              // (an empty cell answering first must not read as "nothing drawn").
              if (pending === 0) { el.dataset.streetsDrawn = String(drawn); }
            });
        }
      }
    }
    map.on("moveend", load);
    load();
    el.streetsLayer = group;
    return group;
  }

  function add(map, el) {
    var c = config(el);
    map.attributionControl.addAttribution("© OpenStreetMap contributors (ODbL)");
    if (!c.url || c.kind === "none") {
      return c.streets ? addStreets(map, el, c.streets) : null;
    }
    if (c.kind === "raster") {
      return L.tileLayer(c.url, { maxZoom: 19 }).addTo(map);
    }
    if (typeof protomapsL === "undefined") { return null; }
    var r = rules(protomapsL);
    var options = {
      url: c.url, maxDataZoom: c.maxzoom || 14, paintRules: r.paint, labelRules: r.label,
      backgroundColor: "#f4f1ea", attribution: ""
    };
    if (c.bounds && c.bounds.length === 4) {
      options.bounds = [[c.bounds[1], c.bounds[0]], [c.bounds[3], c.bounds[2]]];
    }
    var layer = protomapsL.leafletLayer(options);
    layer.addTo(map);
    el.dataset.basemapDrawn = "1";
    el.basemapLayer = layer;
    return layer;
  }

  window.AssetMapBasemap = { add: add };
})();
