// Sheet form: add/remove rows without a reload, and save the draft as the doctor types.
// No inline script anywhere (Content-Security-Policy): this file is loaded with `defer`.
(function () {
  "use strict";
  var form = document.getElementById("sheet-form");
  if (!form) { return; }
  var state = document.getElementById("save-state");
  var timer = null;
  var saving = false;
  var pending = false;

  function renumber(fieldset) {
    var key = fieldset.getAttribute("data-rows");
    var rows = fieldset.querySelectorAll("tbody:not(.template) tr.row");
    rows.forEach(function (row, index) {
      row.querySelectorAll("input, select").forEach(function (input) {
        var parts = input.name.split("-");
        var column = parts[parts.length - 1];
        input.name = key + "-" + index + "-" + column;
      });
    });
  }

  form.addEventListener("click", function (event) {
    var target = event.target;
    if (target.classList.contains("add-row")) {
      var fieldset = target.closest("fieldset.rows");
      var template = fieldset.querySelector("tbody.template tr");
      var body = fieldset.querySelector("tbody:not(.template)");
      var row = template.cloneNode(true);
      body.appendChild(row);
      renumber(fieldset);
      var first = row.querySelector("input, select");
      if (first) { first.focus(); }
    } else if (target.classList.contains("remove-row")) {
      var set = target.closest("fieldset.rows");
      target.closest("tr").remove();
      renumber(set);
      schedule();
    }
  });

  function setState(text) { if (state) { state.textContent = text; } }
  // The sentences come from the template, translated (data-*): "{time}", "{reason}" are filled here.
  function say(name, values) {
    var text = (state && state.getAttribute("data-" + name)) || "";
    Object.keys(values || {}).forEach(function (key) { text = text.replace("{" + key + "}", values[key]); });
    return text;
  }

  function save() {
    if (saving) { pending = true; return; }
    saving = true;
    setState(say("saving"));
    var data = new FormData(form);
    data.append("save", "1");
    fetch(form.action, {
      method: "POST",
      body: data,
      headers: { "Accept": "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, status: response.status, body: body }; });
    }).then(function (result) {
      if (result.ok) {
        form.querySelector("input[name=version]").value = result.body.version;
        if (form.action.indexOf(result.body.edit_url) === -1) {
          form.action = result.body.edit_url;
          window.history.replaceState(null, "", result.body.edit_url);
          var key = document.getElementById("creation-key");
          if (key) { key.remove(); }
        }
        setState(say("saved", { time: new Date().toLocaleTimeString(document.documentElement.lang || "fr", { hour: "2-digit", minute: "2-digit" }) }));
      } else if (result.status === 412) {
        setState(say("stale"));
      } else {
        // Each problem names its field in words (liaison.catalogue), never by its key.
        var problems = (result.body && result.body.problems) || [];
        setState(say("failed", { reason: problems.length ? problems.join(" ; ") : (result.body.detail || result.status) }));
      }
    }).catch(function () {
      setState(say("offline"));
    }).finally(function () {
      saving = false;
      if (pending) { pending = false; save(); }
    });
  }

  function schedule() {
    if (form.getAttribute("data-autosave") !== "true") { return; }
    window.clearTimeout(timer);
    timer = window.setTimeout(save, 1500);
  }

  var key = document.getElementById("creation-key");
  if (key && !key.value && window.crypto && window.crypto.randomUUID) {
    key.value = window.crypto.randomUUID();  // a retried first save creates one draft
  }
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
})();
