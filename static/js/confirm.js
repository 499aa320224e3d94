// Confirmations of destructive actions in a native <dialog>, on the page.
// A link marked `data-confirm-page` leads to the action's confirmation page (GET shows it,
// POST does it), which works without JavaScript. With it, the page's form is fetched and
// shown in a modal dialog instead: same form, same checks, no page change. Escape or "Retour"
// closes it; the focus goes to its first field, and back to the link when it closes.
// No inline script anywhere (Content-Security-Policy): this file is loaded with `defer`.
(function () {
  "use strict";
  if (typeof window.HTMLDialogElement === "undefined" || !window.fetch) { return; }

  function dialogFor() {
    var dialog = document.getElementById("confirm-dialog");
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.id = "confirm-dialog";
      dialog.className = "confirm-dialog";
      dialog.setAttribute("aria-labelledby", "confirm-title");
      document.body.appendChild(dialog);
    }
    return dialog;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-confirm-page]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
    event.preventDefault();
    fetch(link.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var box = page.querySelector(".confirm-box");
        if (!box) { throw new Error("no confirmation"); }
        var dialog = dialogFor();
        dialog.innerHTML = "";
        dialog.appendChild(document.importNode(box, true));
        dialog.querySelectorAll("[data-confirm-back]").forEach(function (back) {
          back.addEventListener("click", function (e) { e.preventDefault(); dialog.close(); });
        });
        dialog.addEventListener("close", function () { link.focus(); }, { once: true });
        dialog.showModal();
        var first = dialog.querySelector("input:not([type=hidden]), select, button");
        if (first) { first.focus(); }
      })
      .catch(function () { window.location.href = link.href; });
  });
})();
