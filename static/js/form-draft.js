// Puts back into the page's form what the person had typed before their session expired
// (security/drafts.py keeps it on the server, encrypted; nothing is kept in the browser).
// The page carries it once, as JSON data, and this fills the fields by name, in order.
document.addEventListener("DOMContentLoaded", () => {
  const source = document.getElementById("restored-form");
  if (!source) return;
  const data = JSON.parse(source.textContent);
  const forms = [...document.querySelectorAll("main form")];
  for (const [name, values] of Object.entries(data)) {
    const fields = forms.flatMap((form) => [...form.elements].filter((el) => el.name === name));
    let next = 0;
    for (const field of fields) {
      if (field.type === "hidden" || field.type === "file" || field.type === "password") continue;
      if (field.type === "checkbox" || field.type === "radio") {
        field.checked = values.includes(field.value);
      } else if (field instanceof HTMLSelectElement && field.multiple) {
        for (const option of field.options) option.selected = values.includes(option.value);
      } else if (next < values.length) {
        field.value = values[next];
        next += 1;
      }
      field.dispatchEvent(new Event("input", { bubbles: true }));
      field.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }
});
