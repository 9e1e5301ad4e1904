// Keyboard and screen-reader help that markup alone can't give:
// - after a failed POST the focus goes to the form's error summary, so the problems are read
//   out first, and each link in it puts the focus into its field (a plain #fragment link only
//   scrolls);
// - a container's header is re-rendered by htmx on every change of the container: its new
//   state is written into a polite live region that stays in the page ("web is now exited"),
//   since a region replaced with the header would not be read reliably;
// - the live lists (sidebar, containers table) and the header are replaced as the engine
//   changes: a keyboard user's focus inside them would fall back to the page's start at every
//   change on a busy engine, so it is put back on the same control in the new markup.
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

  // -- keeping the focus through live replacements ---------------------------------------

  const FOCUSABLE =
    "a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]";
  let lastFocused = null;
  let lastKey = null;

  // How to find "the same control" again in markup rendered afresh: its id; or the container
  // it belongs to (sidebar row, table row, header) and its text; or the nearest region with an
  // id (a pager inside the sidebar list) and its text.
  function keyOf(el) {
    const owner = el.closest("[data-container-id]");
    const region = el.parentElement && el.parentElement.closest("[id]");
    return {
      id: el.id,
      containerId: owner ? owner.dataset.containerId : "",
      ownerClass: owner ? owner.classList[0] || "" : "",
      regionId: region ? region.id : "",
      tag: el.tagName,
      text: (el.textContent || "").trim(),
    };
  }

  function sameIn(root, key) {
    const candidates = [root, ...root.querySelectorAll(FOCUSABLE)].filter(
      (el) => el.matches(FOCUSABLE) && !el.closest("[hidden]"),
    );
    return candidates.find((el) => el.tagName === key.tag && (el.textContent || "").trim() === key.text) || candidates[0] || null;
  }

  function findAgain(key) {
    if (key.id) return document.getElementById(key.id);
    if (key.containerId) {
      const owners = document.querySelectorAll(`[data-container-id="${CSS.escape(key.containerId)}"]`);
      for (const owner of owners) {
        if (key.ownerClass && !owner.classList.contains(key.ownerClass)) continue;
        const found = sameIn(owner, key);
        if (found) return found;
      }
    }
    const region = key.regionId && document.getElementById(key.regionId);
    return region ? sameIn(region, key) : null;
  }

  document.addEventListener("focusin", (event) => {
    lastFocused = event.target;
    lastKey = keyOf(event.target);
  });

  new MutationObserver(() => {
    // Cheap for every other mutation (log lines): only a focused control that left the page.
    if (!lastFocused || lastFocused.isConnected) return;
    const active = document.activeElement;
    if (active && active !== document.body) return; // the focus is elsewhere already
    const again = findAgain(lastKey);
    lastFocused = null;
    if (again) again.focus({ preventScroll: true });
  }).observe(document.documentElement, { childList: true, subtree: true });

  document.addEventListener("DOMContentLoaded", () => {
    lastState = headerState();
    focusErrorSummary();
  });
})();
