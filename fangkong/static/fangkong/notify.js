// Live notifications: listen to the user's event stream, count the unread on the bell,
// and show each new one for a while at the bottom of the screen.
(function () {
  "use strict";
  var bell = document.getElementById("bell");
  if (!bell || !window.EventSource) return;
  var count = bell.querySelector("b");
  var stream = new EventSource(bell.dataset.stream);
  stream.addEventListener("notification", function (e) {
    var n = JSON.parse(e.data);
    count.textContent = String((parseInt(count.textContent, 10) || 0) + 1);
    bell.classList.add("has-news");
    var toast = document.createElement(n.url ? "a" : "div");
    toast.className = "toast";
    toast.textContent = n.text;
    if (n.url) toast.href = n.url;
    document.body.appendChild(toast);
    if (navigator.vibrate) navigator.vibrate(200);
    setTimeout(function () { toast.remove(); }, 15000);
  });
})();
