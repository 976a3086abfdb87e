/* "N characters left" under every text box with a limit (maxlength stops typing past it;
   this says how close one is, in words, announced politely to screen readers). */
(function () {
  "use strict";
  var boxes = document.querySelectorAll("textarea[maxlength][data-counter]");
  Array.prototype.forEach.call(boxes, function (box) {
    var out = document.getElementById(box.getAttribute("data-counter"));
    if (!out) { return; }
    var limit = parseInt(box.getAttribute("maxlength"), 10);
    function update() {
      var left = limit - box.value.length;
      out.textContent = left === 1 ? "1 character left" : left + " characters left";
      out.className = left < limit / 10 ? "hint counter counter-low" : "hint counter";
    }
    box.addEventListener("input", update);
    update();
  });
}());
