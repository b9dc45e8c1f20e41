// Optional: collapse and expand subtrees of the waterfall. The page reads
// fully without it; toggles stay hidden until this runs.
(function () {
  var rows = Array.prototype.slice.call(document.querySelectorAll("table.waterfall tr.frame"));
  var children = {};
  rows.forEach(function (row) {
    var parent = row.getAttribute("data-parent");
    if (parent) { (children[parent] = children[parent] || []).push(row); }
  });
  function setHidden(id, hidden) {
    (children[id] || []).forEach(function (child) {
      child.classList.toggle("collapsed-out", hidden);
      var toggle = child.querySelector("button.toggle");
      var open = !toggle || toggle.getAttribute("aria-expanded") === "true";
      setHidden(child.getAttribute("data-id"), hidden || !open);
    });
  }
  rows.forEach(function (row) {
    var toggle = row.querySelector("button.toggle");
    if (!toggle) { return; }
    toggle.hidden = false;
    toggle.querySelector(".sr").textContent = "collapse the steps under this one";
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      setHidden(row.getAttribute("data-id"), !open);
    });
  });
})();
