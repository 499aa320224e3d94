// Protocol editor: show the profession lists that apply to the chosen kind of protocol
// (délégants and délégués for a cooperation protocol, professions concerned otherwise).
// No inline script anywhere (Content-Security-Policy): this file is loaded with `defer`.
(function () {
  "use strict";
  var kind = document.getElementById("id_kind");
  if (!kind) { return; }

  function update() {
    var pluripro = kind.value === "pluriprofessional";
    document.querySelectorAll("fieldset[data-professions]").forEach(function (fieldset) {
      var name = fieldset.getAttribute("data-professions");
      fieldset.hidden = (name === "professions") ? !pluripro : pluripro;
    });
  }

  kind.addEventListener("change", update);
  update();
})();
