// A form is sent once: a double click or an impatient second click on a slow network does not
// send it again (the services are idempotent too; this spares the person a confusing second
// answer). The buttons come back when the page is shown again from the history, or after a
// while if no new page arrives (a download, a network error). A form that sends itself with
// a script cancels the submit event and is left alone, as is one marked data-submit-once="off".
(() => {
  const RELEASE_AFTER_MS = 15000;
  const buttonsOf = (form) =>
    [...form.querySelectorAll("button:not([type=button]):not([type=reset]), input[type=submit]")]
      .concat(form.id ? [...document.querySelectorAll(`[form="${CSS.escape(form.id)}"]`)] : []);

  const release = (form) => {
    delete form.dataset.sending;
    form.removeAttribute("aria-busy");
    for (const button of buttonsOf(form)) button.disabled = false;
  };

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.dataset.submitOnce === "off") return;
    if (event.defaultPrevented) return;
    if (form.dataset.sending) {
      event.preventDefault();
      return;
    }
    form.dataset.sending = "1";
    form.setAttribute("aria-busy", "true");
    // Disabled after the browser has read the clicked button's name and value.
    setTimeout(() => {
      for (const button of buttonsOf(form)) button.disabled = true;
    }, 0);
    setTimeout(() => release(form), RELEASE_AFTER_MS);
  });

  window.addEventListener("pageshow", () => {
    for (const form of document.querySelectorAll("form[data-sending]")) release(form);
  });
})();
