// The Processes tab: htmx asks for the table every few seconds (hx-trigger on
// [data-processes]); while the page is hidden those asks are skipped, and when it shows
// again the table is asked for at once instead of at the next tick.
(() => {
  "use strict";
  document.addEventListener("htmx:beforeRequest", (event) => {
    if (document.hidden && event.target.matches("[data-processes]")) event.preventDefault();
  });
  document.addEventListener("visibilitychange", () => {
    const table = document.querySelector("[data-processes][hx-get]");
    if (!document.hidden && table && window.htmx) window.htmx.trigger(table, "refresh");
  });
})();
