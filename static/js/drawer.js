// Drawers for narrow screens: the "Containers" button opens the sidebar, "Menu" the top
// navigation (templates/base.html; the layout is static/css/responsive.css). Each toggle is
// a <button data-drawer-toggle aria-controls="ID" aria-expanded>. Opening moves focus into
// the drawer, Escape or a click outside closes it and focus goes back to its button.
//
// Loaded without `defer` in <head>: the attribute below is set before the body is drawn, so
// the sidebar is never seen as a column first and then snapped into a drawer. Without
// JavaScript the attribute is missing and narrow pages show the sidebar under the content.
(() => {
  "use strict";
  document.documentElement.setAttribute("data-drawers", "");

  const FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select, textarea, [tabindex]";

  function toggles() {
    return [...document.querySelectorAll("[data-drawer-toggle]")];
  }

  function drawerOf(button) {
    return document.getElementById(button.getAttribute("aria-controls"));
  }

  function isOpen(button) {
    return button.getAttribute("aria-expanded") === "true";
  }

  function close(button, { returnFocus = false } = {}) {
    if (!isOpen(button)) return;
    button.setAttribute("aria-expanded", "false");
    drawerOf(button)?.classList.remove("drawer-open");
    if (returnFocus) button.focus();
  }

  function open(button) {
    for (const other of toggles()) if (other !== button) close(other);
    const drawer = drawerOf(button);
    if (!drawer) return;
    button.setAttribute("aria-expanded", "true");
    drawer.classList.add("drawer-open");
    drawer.querySelector(FOCUSABLE)?.focus();
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-drawer-toggle]");
    if (button) {
      if (isOpen(button)) close(button);
      else open(button);
      return;
    }
    // A click outside an open drawer (and not on its button) closes it, as a menu would.
    for (const toggle of toggles()) {
      if (isOpen(toggle) && !drawerOf(toggle)?.contains(event.target)) close(toggle);
    }
  });

  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    for (const toggle of toggles()) {
      const drawer = drawerOf(toggle);
      if (isOpen(toggle) && (drawer?.contains(document.activeElement) || document.activeElement === toggle)) {
        close(toggle, { returnFocus: true });
      }
    }
  });
})();
