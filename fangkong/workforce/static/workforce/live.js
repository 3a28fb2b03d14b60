// Live lists (hx-trigger="every 30s" on an element marked data-live): a refresh is
// skipped while someone is typing inside the element (a reason to decline, say), so
// polling never wipes what they wrote; it runs at the next tick after they leave it.
document.addEventListener("htmx:beforeRequest", function (event) {
  var live = event.detail.elt;
  if (!live || !live.hasAttribute || !live.hasAttribute("data-live")) return;
  var active = document.activeElement;
  if (active && live.contains(active) && active.value) event.preventDefault();
});
