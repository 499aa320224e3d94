// Keeps the header's unread badge current without reloading the page (no inline script: CSP).
(function () {
  "use strict";
  var menu = document.querySelector(".notifications-menu[data-notifications-api]");
  if (!menu || !window.fetch) { return; }
  var badge = menu.querySelector("[data-unread-count]");
  var url = menu.getAttribute("data-notifications-api") + "?unread=true&page_size=1";
  var PERIOD = 30000;

  function show(count) {
    badge.textContent = String(count);
    badge.classList.toggle("empty", count === 0);
  }

  function refresh() {
    if (document.hidden) { return; }
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (body && typeof body.unread_count === "number") { show(body.unread_count); }
      })
      .catch(function () { /* offline or logged out: keep the last count */ });
  }

  window.setInterval(refresh, PERIOD);
  // A new notification pushed (static/js/push.js): the count at once, not at the next tick.
  document.addEventListener("cpts:push", function (event) {
    if (event.detail.type === "notification") { refresh(); }
  });
  document.addEventListener("visibilitychange", refresh);
})();
