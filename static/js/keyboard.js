// Keyboard and screen-reader help that markup alone can't give:
// - after a failed POST the focus goes to the form's error summary, so the problems are read
//   out first, and each link in it puts the focus into its field (a plain #fragment link only
//   scrolls);
// - a container's header is re-rendered by htmx on every change of the container: its new
//   state is written into a polite live region that stays in the page ("web is now exited"),
//   since a region replaced with the header would not be read reliably.
(() => {
  "use strict";

  function focusErrorSummary() {
    const summary = document.querySelector("[data-error-summary]");
    if (summary) summary.focus();
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest("[data-error-summary] a[href^='#']");
    if (!link) return;
    const field = document.getElementById(decodeURIComponent(link.hash.slice(1)));
    if (!field) return;
    event.preventDefault();
    // The label above the field comes into view with it.
    const label = document.querySelector(`label[for="${CSS.escape(field.id)}"]`);
    (label || field).scrollIntoView({ block: "center" });
    field.focus({ preventScroll: true });
  });

  function headerState() {
    const header = document.getElementById("container-header");
    if (!header) return null;
    const name = header.querySelector("h1");
    return { state: header.dataset.state || "", name: name ? name.textContent.trim() : "" };
  }

  let lastState = null;

  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.target.id !== "container-header-slot") return;
    const now = headerState();
    const announcer = document.querySelector("[data-container-announcer]");
    if (!now || !announcer || !now.state || (lastState && lastState.state === now.state)) {
      lastState = now;
      return;
    }
    lastState = now;
    announcer.textContent = `${now.name} is now ${now.state}.`;
  });

  document.addEventListener("DOMContentLoaded", () => {
    lastState = headerState();
    focusErrorSummary();
  });
})();
