/* The connector's session page, enhanced. Everything works without it (server-rendered list,
   plain forms); with it: the map (origin, walking area, freshness-coloured clustered markers,
   the route of a chosen result), the shortlist in sessionStorage, the two-click check dialog.
   Listing text is only ever set with textContent. No request leaves this host. */
(function () {
  "use strict";

  var SHORTLIST_KEY = "assetmap.shortlist";
  var MAX_SHORTLIST = 10;
  var COLOURS = {
    "fresh": "#1b7f3b", "due-soon": "#8a6d00", "stale": "#b34700",
    "very-stale": "#a4002b", "possibly-closed": "#4d4d4d", "unknown": "#ffffff"
  };

  /* A marker's look for its freshness state. Not by colour alone: "never checked" is a hollow
     ring with a dashed dark edge, "possibly closed" a solid dark grey dot (the legend shows
     the same). The chosen result is larger with a thick dark edge. */
  function markerStyle(state, chosen) {
    var never = state === "unknown";
    return {
      radius: chosen ? 13 : 10, weight: chosen ? 4 : 3, fillOpacity: 1,
      fillColor: COLOURS[state] || "#333333",
      color: chosen || never ? "#111111" : "#ffffff",
      dashArray: never && !chosen ? "4 3" : null
    };
  }
  var tokenMeta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = tokenMeta ? tokenMeta.getAttribute("content") : "";

  function text(tag, content, className) {
    var node = document.createElement(tag);
    node.textContent = content == null ? "" : String(content);
    if (className) { node.className = className; }
    return node;
  }

  function announce(message) {
    var box = document.getElementById("announcer");
    if (!box) { return; }
    box.textContent = "";
    window.setTimeout(function () { box.textContent = message; }, 50);
  }

  function post(url, body, isJson) {
    var headers = { "Accept": "application/json", "X-CSRFToken": csrfToken };
    if (isJson) { headers["Content-Type"] = "application/json"; }
    return fetch(url, {
      method: "POST", headers: headers, credentials: "same-origin",
      body: isJson ? JSON.stringify(body) : body
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(data.message || "Something went wrong; please try again.");
          error.status = response.status;
          error.body = data;
          throw error;
        }
        return data;
      });
    });
  }

  /* An error shown where the person is looking; an expired sign-in gets a way back. */
  function showError(container, error) {
    container.textContent = "";
    var p = text("p", error.message, "field-error");
    container.appendChild(p);
    if (error.status === 401 || (error.body && error.body.error === "csrf")) {
      var link = text("a", "Sign in again and come back to this search");
      link.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
      container.appendChild(link);
    }
  }

  // -- handout page: the print button ---------------------------------------------------------
  Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });

  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
  // After a search on a phone the results come first: the form above is a scroll away.
  var resultsHeading = document.querySelector("#results-heading[data-searched]");
  if (!summary && resultsHeading && window.matchMedia("(max-width: 900px)").matches) {
    resultsHeading.scrollIntoView({ block: "start" });
    resultsHeading.focus({ preventScroll: true });
  }

  // -- the shortlist (this browser tab only) --------------------------------------------------
  var handoutForm = document.getElementById("handout-form");

  function loadShortlist() {
    try {
      var items = JSON.parse(window.sessionStorage.getItem(SHORTLIST_KEY) || "[]");
      return Array.isArray(items) ? items : [];
    } catch (e) {
      return [];
    }
  }

  function saveShortlist(items) {
    window.sessionStorage.setItem(SHORTLIST_KEY, JSON.stringify(items));
    renderShortlist();
  }

  function shortlistBoxes() {
    return document.querySelectorAll('input[name="ids"][form="handout-form"]');
  }

  function renderShortlist() {
    var list = document.getElementById("shortlist-items");
    if (!list) { return; }
    var items = loadShortlist();
    var ids = items.map(function (item) { return String(item.id); });
    list.textContent = "";
    items.forEach(function (item) {
      var li = text("li", item.name);
      li.dataset.id = item.id;
      var remove = text("button", "Remove");
      remove.type = "button";
      remove.className = "secondary";
      remove.setAttribute("aria-label", "Remove " + item.name + " from the shortlist");
      remove.addEventListener("click", function () {
        saveShortlist(loadShortlist().filter(function (x) { return x.id !== item.id; }));
        announce(item.name + " removed from the shortlist");
      });
      li.appendChild(remove);
      list.appendChild(li);
    });
    document.getElementById("shortlist-count").textContent = "(" + items.length + ")";
    renderBar(items.length);
    document.getElementById("shortlist-empty").hidden = items.length > 0;
    document.getElementById("shortlist-clear").hidden = items.length === 0;
    Array.prototype.forEach.call(shortlistBoxes(), function (box) {
      box.checked = ids.indexOf(box.value) !== -1;
    });
  }

  // On a phone the shortlist is one line at the foot of the screen: "none yet", or a button
  // opening onto the list and the handout choices (CSS shows the bar only on narrow screens;
  // without this script the panel stays in the page after the results).
  var shortlistPanel = document.getElementById("shortlist");
  var shortlistToggle = document.getElementById("shortlist-toggle");

  function setBarOpen(open) {
    if (!shortlistPanel) { return; }
    shortlistPanel.classList.toggle("open", open);
    shortlistToggle.setAttribute("aria-expanded", open ? "true" : "false");
    shortlistToggle.querySelector(".toggle-mark").textContent = open ? "\u25BE" : "\u25B8";
  }

  function renderBar(count) {
    if (!shortlistPanel) { return; }
    document.getElementById("shortlist-bar-count").textContent = "(" + count + ")";
    document.getElementById("shortlist-bar-empty").hidden = count > 0;
    shortlistToggle.hidden = count === 0;
    if (count === 0) { setBarOpen(false); }
  }

  if (shortlistPanel && shortlistToggle) {
    shortlistPanel.classList.add("has-bar");
    document.getElementById("shortlist-bar").hidden = false;
    shortlistToggle.addEventListener("click", function () {
      setBarOpen(!shortlistPanel.classList.contains("open"));
    });
    shortlistPanel.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && shortlistPanel.classList.contains("open")) {
        setBarOpen(false);
        shortlistToggle.focus();
      }
    });
  }

  if (handoutForm) {
    Array.prototype.forEach.call(shortlistBoxes(), function (box) {
      box.addEventListener("change", function () {
        var li = box.closest(".result");
        var id = Number(box.value);
        var items = loadShortlist().filter(function (x) { return x.id !== id; });
        if (box.checked) {
          if (items.length >= MAX_SHORTLIST) {
            box.checked = false;
            announce("The shortlist holds " + MAX_SHORTLIST + " activities at most");
            return;
          }
          items.push({ id: id, name: li ? resultName(li) : String(id) });
        }
        saveShortlist(items);
        announce((li ? resultName(li) : "Activity") + (box.checked ? " added to" : " removed from") +
                 " the shortlist (" + items.length + ")");
      });
    });
    document.getElementById("shortlist-clear").addEventListener("click", function () {
      saveShortlist([]);
      announce("Shortlist cleared");
    });
    document.getElementById("finish").addEventListener("click", function () {
      window.sessionStorage.removeItem(SHORTLIST_KEY);
    });
    handoutForm.addEventListener("submit", function (event) {
      Array.prototype.forEach.call(handoutForm.querySelectorAll(".extra-id"), function (node) {
        node.remove();
      });
      var items = loadShortlist();
      if (!items.length) {
        event.preventDefault();
        announce("Add at least one activity to the shortlist first");
        document.getElementById("shortlist-empty").focus();
        return;
      }
      var onPage = {};
      Array.prototype.forEach.call(shortlistBoxes(), function (box) { onPage[box.value] = box.checked; });
      items.forEach(function (item) {
        if (onPage[String(item.id)]) { return; }
        var hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = "ids";
        hidden.value = item.id;
        hidden.className = "extra-id";
        handoutForm.appendChild(hidden);
      });
    });
    document.getElementById("shortlist-empty").tabIndex = -1;
    renderShortlist();
  }

  // -- where from: postcode, device location ---------------------------------------------------
  var searchForm = document.getElementById("search-form");
  var latInput = document.getElementById("lat");
  var lonInput = document.getElementById("lon");
  var postcodeInput = document.getElementById("postcode");
  var whereStatus = document.getElementById("where-status");

  function searchFrom(lat, lon) {
    latInput.value = lat.toFixed(5);
    lonInput.value = lon.toFixed(5);
    postcodeInput.value = "";
    whereStatus.textContent = "Searching from the chosen point…";
    searchForm.submit();
  }

  if (searchForm) {
    postcodeInput.addEventListener("input", function () {
      if (latInput.value) {
        latInput.value = "";
        lonInput.value = "";
        whereStatus.textContent = "Or click the map.";
      }
    });
    var locate = document.getElementById("locate");
    if (navigator.geolocation) {
      locate.hidden = false;
      locate.addEventListener("click", function () {
        whereStatus.textContent = "Finding this device's location…";
        navigator.geolocation.getCurrentPosition(function (position) {
          searchFrom(position.coords.latitude, position.coords.longitude);
        }, function () {
          whereStatus.textContent = "The location is not available: type a postcode instead.";
        }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
      });
    }
  }

  // -- the map -------------------------------------------------------------------------------
  var mapEl = document.getElementById("map");
  var dataEl = document.getElementById("search-data");
  var data = dataEl ? JSON.parse(dataEl.textContent || "null") : null;
  var map = null;
  var markers = {};
  var routeLayer = null;

  function resultItem(id) { return document.getElementById("result-" + id); }

  function resultName(li) { return li ? li.querySelector("h3").textContent : ""; }

  function routeInfo(li) {
    var info = li.querySelector(".route-info");
    if (!info) {
      info = document.createElement("div");
      info.className = "route-info";
      info.setAttribute("aria-live", "polite");
      li.appendChild(info);
    }
    return info;
  }

  function popupFor(m) {
    var box = document.createElement("div");
    box.className = "popup";
    box.appendChild(text("strong", m.name));
    box.appendChild(text("div", m.minutes + " min walk"));
    var button = text("button", "Show route and details");
    button.type = "button";
    button.addEventListener("click", function () {
      map.closePopup();
      var li = resultItem(m.id);
      if (li) {
        li.scrollIntoView({ block: "start" });
        li.querySelector("h3 a").focus({ preventScroll: true });
      }
      showRoute(m.id);
    });
    box.appendChild(button);
    return box;
  }

  function setMarkerState(id, state) {
    var marker = markers[id];
    if (marker) {
      marker.state = state;
      marker.setStyle(markerStyle(state, marker.chosen));
    }
  }

  function select(id) {
    Array.prototype.forEach.call(document.querySelectorAll(".result.selected"), function (li) {
      li.classList.remove("selected");
    });
    var li = resultItem(id);
    if (li) { li.classList.add("selected"); }
    Object.keys(markers).forEach(function (key) {
      var marker = markers[key];
      marker.chosen = key === String(id);
      marker.setStyle(markerStyle(marker.state, marker.chosen));
    });
  }

  function showRoute(id) {
    if (!data || !map) { return; }
    var li = resultItem(id);
    var info = li ? routeInfo(li) : null;
    select(id);
    if (info) { info.textContent = "Finding the walking route…"; }
    post(mapEl.dataset.route, { lat: data.origin.lat, lon: data.origin.lon, to: id, pace: data.pace }, true)
      .then(function (route) {
        routeLayer.clearLayers();
        var latlngs = route.geometry.coordinates.map(function (c) { return [c[1], c[0]]; });
        L.polyline(latlngs, { color: "#ffffff", weight: 10, opacity: 1, interactive: false }).addTo(routeLayer);
        L.polyline(latlngs, {
          color: "#1d4f91", weight: 6, opacity: 1, interactive: false, className: "route-line",
          dashArray: route.properties.estimated ? "10 8" : null
        }).addTo(routeLayer);
        map.fitBounds(L.latLngBounds(latlngs), { padding: [40, 40], maxZoom: 17 });
        if (info) {
          info.textContent = "";
          info.appendChild(text("p", route.properties.words + "."));
          var steps = document.createElement("ol");
          route.properties.directions.steps.forEach(function (step) { steps.appendChild(text("li", step)); });
          info.appendChild(steps);
        }
        announce("Route shown: " + route.properties.words);
      })
      .catch(function (error) { if (info) { showError(info, error); } });
  }

  if (mapEl && window.L) {
    // No animations: calm for the person looking on, and the map is settled as soon as drawn.
    map = window.AssetMapPlace.fit(L.map(mapEl, {
      maxZoom: 19, minZoom: 11, zoomSnap: 0.5, zoomAnimation: false, fadeAnimation: false,
      markerZoomAnimation: false
    }));
    if (window.AssetMapBasemap) { AssetMapBasemap.add(map, mapEl); }
    routeLayer = L.layerGroup().addTo(map);

    map.on("click", function (event) {
      var box = document.createElement("div");
      box.className = "popup";
      box.appendChild(text("p", "Search from this point?"));
      var go = text("button", "Search from here");
      go.type = "button";
      go.className = "primary";
      go.addEventListener("click", function () { searchFrom(event.latlng.lat, event.latlng.lng); });
      box.appendChild(go);
      L.popup().setLatLng(event.latlng).setContent(box).openOn(map);
    });

    if (data) {
      var area = null;
      if (data.isochrone) {
        area = L.geoJSON(data.isochrone, {
          style: { color: "#1d4f91", weight: 2, fillColor: "#1d4f91", fillOpacity: 0.1 },
          interactive: false
        }).addTo(map);
      }
      L.circleMarker([data.origin.lat, data.origin.lon], {
        radius: 9, color: "#ffffff", weight: 3, fillColor: "#111111", fillOpacity: 1, interactive: false
      }).bindTooltip("Start", { permanent: true, direction: "right", className: "origin-label" }).addTo(map);
      var cluster = L.markerClusterGroup({
        showCoverageOnHover: false, maxClusterRadius: 40, animate: false
      });
      var layers = [];
      data.matches.forEach(function (m) {
        var marker = L.circleMarker([m.lat, m.lon],
          L.extend(markerStyle(m.state, false), { className: "result-marker" }));
        marker.state = m.state;
        marker.bindPopup(function () { return popupFor(m); });
        marker.bindTooltip(m.name);
        markers[m.id] = marker;
        layers.push(marker);
      });
      cluster.addLayers(layers);
      map.addLayer(cluster);
      var bounds = area ? area.getBounds() : null;
      if (layers.length) {
        bounds = bounds ? bounds.extend(cluster.getBounds()) : cluster.getBounds();
      }
      if (bounds && bounds.isValid()) {
        map.fitBounds(bounds, { padding: [20, 20] });
      } else {
        map.setView([data.origin.lat, data.origin.lon], 15);
      }
      var ids = data.matches.map(function (m) { return m.id; }).sort(function (a, b) { return a - b; });
      mapEl.dataset.markerCount = String(ids.length);
      mapEl.dataset.markerIds = ids.join(",");  // set last: the map is drawn and settled
    }

    Array.prototype.forEach.call(document.querySelectorAll(".show-route"), function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        showRoute(Number(button.closest(".result").dataset.id));
      });
    });
  }

  // -- word of mouth in two clicks ------------------------------------------------------------
  var dialog = document.getElementById("check-dialog");
  if (dialog && typeof dialog.showModal === "function") {
    var checkForm = document.getElementById("check-form");
    var opener = null;
    var currentId = null;

    Array.prototype.forEach.call(document.querySelectorAll(".record-check"), function (link) {
      link.addEventListener("click", function (event) {
        var li = link.closest(".result");
        if (!li) { return; }
        event.preventDefault();
        opener = link;
        currentId = li.dataset.id;
        checkForm.reset();
        checkForm.action = "/connector/activities/" + encodeURIComponent(currentId) + "/checks";
        document.getElementById("check-name").textContent = ": " + resultName(li);
        var old = checkForm.querySelector(".field-error");
        if (old) { old.remove(); }
        dialog.showModal();
      });
    });

    document.getElementById("check-cancel").addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("close", function () { if (opener) { opener.focus(); } });

    checkForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var submitter = event.submitter;
      var body = new FormData(checkForm);
      if (submitter && submitter.name) { body.append(submitter.name, submitter.value); }
      // A search opened by a link lives in the address bar; a posted one in the session.
      if (window.location.search) { body.append("search", window.location.search); }
      var buttons = checkForm.querySelectorAll("button");
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
      post(checkForm.action, body, false)
        .then(function (answer) {
          var li = resultItem(currentId);
          if (li) {
            var fresh = li.querySelector(".freshness");
            fresh.className = "freshness state-" + answer.freshness.state;
            fresh.querySelector(".badge").textContent = answer.freshness.label;
            fresh.querySelector(".freshness-words").textContent = answer.freshness.words;
            var said = li.querySelector(".endorsement");
            said.textContent = "";
            if (answer.endorsement.length) {
              said.appendChild(text("p", "Connectors: " + answer.endorsement.join("; ") + "."));
            }
            // The reasons as the search gives them now (welcome, freshness): no reload.
            var why = li.querySelector(".why");
            if (why && answer.why) { why.textContent = answer.why; }
          }
          setMarkerState(currentId, answer.freshness.state);
          dialog.close();
          announce(answer.message);
        })
        .catch(function (error) {
          var box = document.createElement("div");
          box.className = "field-error";
          showError(box, error);
          checkForm.insertBefore(box, checkForm.firstChild);
        })
        .then(function () {
          Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
        });
    });
  }
})();
