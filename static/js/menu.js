// The header's menu folds behind a "Menu" button on narrow screens (static file: the CSP
// forbids inline scripts). Without this script the menu simply stays unfolded.
document.addEventListener("DOMContentLoaded", () => {
  const header = document.querySelector(".site-header");
  const button = header && header.querySelector(".menu-toggle");
  if (!button) return;
  header.classList.add("has-menu-toggle");
  button.hidden = false;
  button.addEventListener("click", () => {
    const open = header.classList.toggle("menu-open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });
});
