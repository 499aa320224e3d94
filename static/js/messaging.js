// Messaging pages: recipient search over the directory, a conversation that refreshes itself
// by polling a small JSON endpoint, replies sent without a reload.
// No inline script anywhere (Content-Security-Policy): this file is loaded with `defer`.
(function () {
  "use strict";

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) { return input.value; }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID().replace(/-/g, ""); }
    return String(Date.now()) + Math.random().toString(16).slice(2);
  }

  // Confirmations (leave, redact) are links to their confirmation page: static/js/confirm.js.

  // --- Recipient search --------------------------------------------------------------------
  function setUpPicker(picker) {
    var input = picker.querySelector("input[type=search]");
    var results = picker.querySelector(".recipient-results");
    var chosen = picker.querySelector(".chosen");
    var url = picker.getAttribute("data-search-url");
    var name = picker.getAttribute("data-input-name");
    var single = picker.getAttribute("data-single") === "true";
    var timer = null;
    var serial = 0;
    if (!input || !results || !chosen) { return; }

    function choose(id, label) {
      if (chosen.querySelector('[data-id="' + id + '"]')) { return; }
      if (single) { chosen.innerHTML = ""; }
      var chip = document.createElement("li");
      chip.className = "chip";
      chip.setAttribute("data-id", id);
      chip.appendChild(document.createTextNode(label + " "));
      var hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = name;
      hidden.value = id;
      chip.appendChild(hidden);
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link remove-chip";
      remove.setAttribute("aria-label", "Retirer " + label);
      remove.textContent = "×";
      chip.appendChild(remove);
      chosen.appendChild(chip);
      results.innerHTML = "";
      input.value = "";
      input.focus();
    }

    function show(items) {
      results.innerHTML = "";
      items.forEach(function (item) {
        var li = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        button.className = "recipient-result";
        button.setAttribute("data-id", item.id);
        button.setAttribute("data-name", item.name);
        var strong = document.createElement("strong");
        strong.textContent = item.name;
        var detail = document.createElement("span");
        detail.className = "muted";
        detail.textContent = " " + item.detail;
        button.appendChild(strong);
        button.appendChild(detail);
        li.appendChild(button);
        results.appendChild(li);
      });
      if (!items.length && input.value.trim()) {
        var none = document.createElement("li");
        none.className = "muted";
        none.textContent = results.getAttribute("data-none") || "";
        results.appendChild(none);
      }
    }

    function search() {
      var query = input.value.trim();
      var mine = ++serial;
      if (!query) { show([]); return; }
      fetch(url + "?q=" + encodeURIComponent(query), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (body) { if (mine === serial) { show(body.results || []); } })
        .catch(function () { /* offline: keep the last results */ });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, 200);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();  // Enter picks the first result; it never sends the form
        var first = results.querySelector(".recipient-result");
        if (first) { choose(first.getAttribute("data-id"), first.getAttribute("data-name")); }
      }
    });
    results.addEventListener("click", function (event) {
      var button = event.target.closest(".recipient-result");
      if (button) { choose(button.getAttribute("data-id"), button.getAttribute("data-name")); }
    });
    chosen.addEventListener("click", function (event) {
      if (event.target.classList.contains("remove-chip")) { event.target.closest("li").remove(); }
    });
  }
  document.querySelectorAll(".recipient-picker").forEach(setUpPicker);

  // --- The conversation: polling, read receipts, replies --------------------------------------
  var thread = document.getElementById("messages");
  if (!thread || !window.fetch) { return; }
  var pollUrl = thread.getAttribute("data-poll-url");
  var readUrl = thread.getAttribute("data-read-url");
  var period = Math.max(2, parseInt(thread.getAttribute("data-poll-seconds"), 10) || 5) * 1000;
  var polling = false;
  var again = false;
  var unreadSeen = false;

  function last() { return thread.getAttribute("data-last") || ""; }

  function markRead() {
    if (document.hidden || !unreadSeen) { return; }
    unreadSeen = false;
    var data = new FormData();
    data.append("csrfmiddlewaretoken", csrfToken());
    fetch(readUrl, { method: "POST", body: data, credentials: "same-origin", headers: { Accept: "application/json" } })
      .catch(function () { unreadSeen = true; });
  }

  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.body.offsetHeight - 200;
  }

  function apply(body) {
    var stick = nearBottom();
    var empty = document.querySelector(".empty-thread");
    (body.messages || []).forEach(function (item) {
      if (document.getElementById("m-" + item.id)) { return; }
      thread.insertAdjacentHTML("beforeend", item.html);
      thread.setAttribute("data-last", item.id);
      var added = document.getElementById("m-" + item.id);
      if (added && !added.classList.contains("mine")) { unreadSeen = true; }
      if (empty) { empty.hidden = true; }
    });
    Object.keys(body.receipts || {}).forEach(function (id) {
      var box = thread.querySelector('[data-receipts-for="' + id + '"]');
      if (box && box.innerHTML !== body.receipts[id]) { box.innerHTML = body.receipts[id]; }
    });
    if (stick && (body.messages || []).length) {
      var lastItem = thread.lastElementChild;
      if (lastItem) { lastItem.scrollIntoView({ block: "end" }); }
    }
    markRead();
  }

  function poll() {
    if (polling || document.hidden) { return; }
    polling = true;
    var url = pollUrl + (last() ? "?apres=" + encodeURIComponent(last()) : "");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) { if (body) { apply(body); } })
      .catch(function () { /* offline or logged out: try again at the next tick */ })
      .finally(function () {
        polling = false;
        if (again) { again = false; poll(); }  // an event arrived during this poll
      });
  }

  // Pushed events (static/js/push.js) fetch a new message at once; while they arrive, the
  // timer only polls every minute as a safety net; when they stop, it polls as before.
  var conversation = thread.getAttribute("data-conversation");
  var lastPoll = Date.now();  // the page was just rendered: nothing to fetch yet
  function tick() {
    var live = document.documentElement.getAttribute("data-push") === "live";
    if (live && Date.now() - lastPoll < 60000) { return; }
    lastPoll = Date.now();
    poll();
  }
  document.addEventListener("cpts:push", function (event) {
    if (event.detail.type === "message" && event.detail.conversation === conversation) {
      if (polling) { again = true; } else { poll(); }
    }
  });
  window.setInterval(tick, period);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { poll(); markRead(); } });

  var form = document.getElementById("reply-form");
  var state = document.getElementById("reply-state");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      if (state) { state.textContent = state.getAttribute("data-sending") || ""; }
      fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        })
        .then(function (result) {
          if (result.ok) {
            form.reset();
            form.querySelector("input[name=key]").value = newKey();
            if (state) { state.textContent = ""; }
            poll();
          } else if (state) {
            state.textContent = (state.getAttribute("data-failed") || "").replace("{reason}", result.body.detail || state.getAttribute("data-error") || "");
          }
        })
        .catch(function () { if (state) { state.textContent = state.getAttribute("data-offline") || ""; } })
        .finally(function () { button.disabled = false; });
    });
  }
})();
