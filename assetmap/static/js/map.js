/* The public map. It asks the server only for what is in view (/api/v1/map?bbox&zoom): single
   listings when zoomed in or few, counts per grid cell otherwise. Without a postcode search the
   list beside it follows the view (the same request's `items`, nearest the centre first). Everything from listings is
   put on the page with textContent, so no listing text is ever read as HTML or script. */
(function () {
  "use strict";

  var el = document.getElementById("map");
  if (!el) { return; }

  var STATE_SYMBOLS = JSON.parse(el.dataset.symbols);  // freshness/rules.py STATE_SYMBOLS
  var LIST_LIMIT = 25;
  var filters = {};
  try { filters = JSON.parse(el.dataset.filters || "{}"); } catch (e) { filters = {}; }

  var map = window.AssetMapPlace.fit(L.map(el, { maxZoom: 19, minZoom: 9 }));
  el.leafletMap = map;  // for scripts and tests that move the view
  AssetMapBasemap.add(map, el);
  map.attributionControl.addAttribution("Boundaries OGL v3");

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

  function query(params) {
    var parts = [];
    Object.keys(params).forEach(function (k) {
      if (params[k] !== "" && params[k] != null) {
        parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(params[k]));
      }
    });
    return parts.join("&");
  }

  function withFilters(extra) {
    var p = {};
    Object.keys(filters).forEach(function (k) { p[k] = filters[k]; });
    Object.keys(extra).forEach(function (k) { p[k] = extra[k]; });
    return p;
  }

  function costWords(cost) {
    if (!cost) { return "Ask the organiser"; }
    if (cost.kind === "free") { return "Free"; }
    if (cost.kind === "amount") { return "£" + cost.amount; }
    if (cost.kind === "small-fee") { return "A small fee"; }
    return "Ask the organiser";
  }

  function markerIcon(state, title) {
    var span = text("span", STATE_SYMBOLS[state] || "?", "mk mk-" + state);
    span.setAttribute("aria-hidden", "true");
    return L.divIcon({ className: "mk-icon", html: span, iconSize: [26, 26], iconAnchor: [13, 13] });
  }

  function clusterIcon(count) {
    var size = count < 10 ? 30 : count < 100 ? 36 : count < 1000 ? 44 : 52;
    var span = text("span", count >= 1000 ? Math.round(count / 100) / 10 + "k" : count,
      "mk mk-cluster");
    span.setAttribute("aria-hidden", "true");
    return L.divIcon({ className: "mk-icon", html: span, iconSize: [size, size],
      iconAnchor: [size / 2, size / 2] });
  }

  function popupFor(f) {
    var p = f.properties;
    var box = document.createElement("div");
    box.className = "popup";
    box.appendChild(text("strong", p.name, "popup-name"));
    box.appendChild(text("div", p.category_label));
    box.appendChild(text("div", p.state_label));
    box.appendChild(link("/activities/" + encodeURIComponent(f.id), "Details"));
    return box;
  }

  var markers = L.layerGroup().addTo(map);

  function drawView(data) {
    markers.clearLayers();
    var listings = 0;
    (data.features || []).forEach(function (f) {
      var c = f.geometry.coordinates;
      var p = f.properties;
      var m;
      if (p.kind === "cluster") {
        m = L.marker([c[1], c[0]], { icon: clusterIcon(p.count), keyboard: true,
          title: p.count + " activities here: select to zoom in", alt: p.count + " activities" });
        m.on("click", function () {
          map.setView([c[1], c[0]], Math.min(map.getZoom() + 2, 19));
        });
      } else {
        listings += 1;
        m = L.marker([c[1], c[0]], { icon: markerIcon(p.state), keyboard: true,
          title: p.name + " (" + p.state_label + ")", alt: p.name });
        m.bindPopup(function () { return popupFor(f); });
      }
      markers.addLayer(m);
    });
    el.dataset.total = String(data.total);
    el.dataset.clustered = data.clustered ? "1" : "0";
    el.dataset.markerCount = String(listings);
  }

  function card(f) {
    var p = f.properties;
    var li = document.createElement("li");
    li.className = "card";
    var h = document.createElement("h3");
    h.appendChild(link("/activities/" + encodeURIComponent(f.id), p.name));
    li.appendChild(h);
    li.appendChild(text("p", [p.category_label, p.venue && p.venue.name].filter(Boolean)
      .join(" · ")));
    var when = text("p", "");
    when.appendChild(text("span", "When: ", "label"));
    when.appendChild(document.createTextNode(p.when || p.schedule_text || "Ask the organiser"));
    li.appendChild(when);
    var cost = text("p", "");
    cost.appendChild(text("span", "Cost: ", "label"));
    cost.appendChild(document.createTextNode(costWords(p.cost)));
    li.appendChild(cost);
    var fresh = text("p", "", "freshness state-" + p.freshness.state);
    fresh.appendChild(text("span", p.freshness.label, "badge"));
    fresh.appendChild(document.createTextNode(" " + p.freshness.words));
    li.appendChild(fresh);
    if (p.demo) { li.appendChild(text("span", "Demo listing", "badge demo")); }
    return li;
  }

  var list = document.getElementById("result-list");
  var followView = list && list.dataset.mode === "view";

  function drawList(data, total) {
    list.textContent = "";
    (data.features || []).forEach(function (f) { list.appendChild(card(f)); });
    var shown = (data.features || []).length;
    var count = document.getElementById("result-count");
    if (count) {
      count.textContent = total > shown ? "(" + shown + " of " + total + ")" : "(" + shown + ")";
    }
    list.dataset.loaded = String(shown);
  }

  var pending = null;
  function refresh() {
    var b = map.getBounds();
    var bbox = [Math.max(b.getWest(), -180), Math.max(b.getSouth(), -90),
      Math.min(b.getEast(), 180), Math.min(b.getNorth(), 90)]
      .map(function (v) { return v.toFixed(5); }).join(",");
    var seq = {};
    pending = seq;
    var params = withFilters({ bbox: bbox, zoom: Math.round(map.getZoom()),
      list: followView ? LIST_LIMIT : "" });
    fetch(el.dataset.view + "?" + query(params), { headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (pending !== seq) { return; }
        if (followView) { drawList({ features: data.items || [] }, data.total); }
        drawView(data);
      })
      .catch(function () {
        el.dataset.total = "error";
        var count = document.getElementById("result-count");
        if (count) { count.textContent = "(could not load)"; }
      });
  }

  var timer = null;
  map.on("moveend", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 150);
  });

  if (el.dataset.origin) {
    var o = JSON.parse(el.dataset.origin);
    var start = text("span", "", "mk mk-origin");
    L.marker(o, { icon: L.divIcon({ className: "mk-icon", html: start, iconSize: [20, 20] }),
      title: "Your search: " + (el.dataset.originLabel || ""), keyboard: false }).addTo(map);
    map.setView(o, 15);
  } else {
    refresh();
  }

  if (el.dataset.areas) {
    fetch(el.dataset.areas).then(function (r) { return r.json(); }).then(function (areas) {
      L.geoJSON(areas, {
        style: { color: "#4a5a8a", weight: 1, fill: false, dashArray: "4 3" },
        interactive: false
      }).addTo(map);
    });
  }
})();
