/* "Choose every listing on this page": shown only when JavaScript runs; without it each
   listing's own checkbox still works. */
(function () {
  "use strict";

  var all = document.getElementById("select-all");
  if (!all) { return; }
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input[name='ids']"));
  all.hidden = false;
  all.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = all.checked; });
  });
})();
