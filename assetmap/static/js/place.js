/* Every map opens on the deployment's own areas: the box comes from the areas in the
   database (<body data-place-bounds="minLon,minLat,maxLon,maxLat">), never from code. */
(function () {
  "use strict";
  window.AssetMapPlace = {
    bounds: function () {
      var parts = (document.body.dataset.placeBounds || "").split(",").map(Number);
      if (parts.length !== 4 || !parts.every(isFinite)) { return null; }
      return [[parts[1], parts[0]], [parts[3], parts[2]]];
    },
    /* Fit `map` to the place; with no areas loaded, show Great Britain. */
    fit: function (map) {
      var box = this.bounds();
      if (box) {
        map.fitBounds(box);
      } else {
        map.setMinZoom(5);
        map.setView([54.0, -2.5], 6);
      }
      return map;
    }
  };
}());
