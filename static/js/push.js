// Push delivery (worker/push/): one EventSource per page on /evenements/ (same origin, so
// the session cookie goes with it). Each event names a type and ids only; the page fetches
// what changed through its usual endpoints. Other scripts listen to two DOM events:
//   "cpts:push"        detail = {type, ...ids}      something changed
//   "cpts:push-state"  detail = {live: true|false}  whether pushes arrive
// and read document.documentElement.dataset.push ("live" / "down") at any time. While the
// stream is down the pages keep polling, and the status line says so (data-down-text).
(function () {
  "use strict";
  var status = document.getElementById("push-status");
  var root = document.documentElement;
  if (!status) { return; }
  var url = status.getAttribute("data-events-url");
  // The sentence comes translated from the template (templates/base.html), in the page's language.
  var DOWN = status.getAttribute("data-down-text") || "";
  var live = null;

  function setLive(value) {
    if (value === live) { return; }
    live = value;
    root.setAttribute("data-push", value ? "live" : "down");
    status.textContent = value ? "" : DOWN;
    document.dispatchEvent(new CustomEvent("cpts:push-state", { detail: { live: value } }));
  }

  if (!window.EventSource || !url) { setLive(false); return; }
  var source = new EventSource(url, { withCredentials: true });
  // No answer within a few seconds: say so, and let the pages poll.
  var patience = window.setTimeout(function () { if (live !== true) { setLive(false); } }, 4000);

  function dispatch(event) {
    var data;
    try { data = JSON.parse(event.data); } catch (error) { return; }
    document.dispatchEvent(new CustomEvent("cpts:push", { detail: data }));
  }

  source.addEventListener("ready", function () { window.clearTimeout(patience); setLive(true); });
  ["message", "notification", "sheet"].forEach(function (kind) { source.addEventListener(kind, dispatch); });
  // The browser reconnects by itself (sending Last-Event-ID); meanwhile the page polls.
  source.onerror = function () { setLive(false); };
  window.addEventListener("pagehide", function () { source.close(); });

  // Lists marked data-push-refresh="sheet" (or "message") are fetched again, swapped in place.
  var pending = null;
  function refreshLists(kind) {
    var lists = document.querySelectorAll('[data-push-refresh~="' + kind + '"][id]');
    if (!lists.length || pending) { return; }
    pending = window.setTimeout(function () {
      fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (!html) { return; }
          var fresh = new DOMParser().parseFromString(html, "text/html");
          lists.forEach(function (list) {
            var replacement = fresh.getElementById(list.id);
            if (replacement) { list.replaceWith(document.importNode(replacement, true)); }
          });
        })
        .catch(function () { /* offline: the next event or a reload will do */ })
        .finally(function () { pending = null; });
    }, 250);
  }
  document.addEventListener("cpts:push", function (event) { refreshLists(event.detail.type); });
})();
