// On narrow screens tables scroll inside their own box (responsive.css). A box that does
// overflow gets tabindex="0" and a name, so a keyboard can focus and scroll it (WCAG 2.1.1;
// axe's scrollable-region-focusable); one that fits stays out of the tab order.
(() => {
  "use strict";

  function mark() {
    for (const table of document.querySelectorAll("table.table")) {
      const scrolls = table.scrollWidth > table.clientWidth + 1;
      if (scrolls && !table.hasAttribute("tabindex")) {
        table.setAttribute("tabindex", "0");
        table.dataset.scrollBox = "";
        if (!table.hasAttribute("aria-label") && !table.hasAttribute("aria-labelledby")) {
          const heading = table.closest("section, main")?.querySelector("h1, h2");
          if (heading) table.setAttribute("aria-label", `${heading.textContent.trim()} table`);
        }
      } else if (!scrolls && table.dataset.scrollBox !== undefined) {
        table.removeAttribute("tabindex");
        delete table.dataset.scrollBox;
      }
    }
  }

  let pending = false;
  function soon() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      mark();
    });
  }

  window.addEventListener("resize", soon);
  document.addEventListener("DOMContentLoaded", soon);
  // Rows swapped in by htmx (live lists, filters) can change what overflows.
  document.addEventListener("htmx:afterSettle", soon);
})();
