// Feedback while the engine works. A lifecycle form (form[data-busy]: Stop, Restart, Remove…)
// still posts as without JavaScript (POST, then the redirect's page); at the click its button
// says what is happening ("Stopping…"), the group is aria-busy, the other buttons are disabled
// and the status line says what the engine waits for. It stays so, also across re-renders of
// the container's header, until the container's own event (live.js → "container-changed")
// says the action is done; a request that fails brings its page with the error and fresh
// buttons. A page restored from the back/forward cache comes back without the marks.
(() => {
  "use strict";
  const body = document.body;
  const RUNNING = ["running", "restarting"];
  // Per action: is it done, given the container's change (state after it, engine event)?
  // A change without an event is the portal's own re-read after the engine answered.
  const DONE = {
    start: (m) => RUNNING.includes(m.state) || m.event === "die",
    stop: (m) => !RUNNING.includes(m.state) && m.state !== "paused",
    kill: (m) => !RUNNING.includes(m.state) && m.state !== "paused",
    restart: (m) => ["start", "restart"].includes(m.event) || (!m.event && RUNNING.includes(m.state)),
    pause: (m) => m.state === "paused",
    unpause: (m) => m.state === "running",
  };
  // Parts of the page fetched again on the container's change (its header).
  const REFETCHED = "#container-header-slot";
  const REFETCH_GRACE_MS = 5000;
  // Container id → the action it waits for: { action, label, status }.
  const pending = new Map();

  const containerOf = (form) => {
    const holder = form.closest("[data-container-id]") || document.querySelector("[data-current-container]");
    return holder ? holder.dataset.containerId || holder.dataset.currentContainer || "" : "";
  };
  const groupOf = (form) => form.closest("[data-action-group]") || form;
  const statusOf = (group) =>
    group.querySelector("[data-action-status]") ||
    (group.parentElement && group.parentElement.querySelector("[data-action-status]"));

  function labelsFor(form) {
    const withField = form.dataset.busyWith && form.elements[form.dataset.busyWith];
    const label = withField && withField.checked ? form.dataset.busyWithLabel : form.dataset.busy;
    return { label, status: form.dataset.wait ? `${label} (${form.dataset.wait})` : label };
  }

  function markBusy(form, { label, status }) {
    const group = groupOf(form);
    const button = form.querySelector("button[type=submit], button:not([type])");
    if (!button) return;
    if (!button.dataset.idleLabel) button.dataset.idleLabel = button.textContent;
    button.textContent = label;
    button.setAttribute("aria-disabled", "true"); // not `disabled`: the form is being sent
    button.classList.add("is-busy");
    form.dataset.sending = "1";
    group.setAttribute("aria-busy", "true");
    group.querySelectorAll("button").forEach((other) => {
      if (other !== button) other.disabled = true;
    });
    group.querySelectorAll("a[href]").forEach((link) => {
      link.setAttribute("aria-disabled", "true");
      link.setAttribute("tabindex", "-1");
    });
    const line = statusOf(group);
    if (line) line.textContent = status;
  }

  function unmark(group) {
    group.removeAttribute("aria-busy");
    group.querySelectorAll("button").forEach((button) => {
      if (button.dataset.idleLabel) button.textContent = button.dataset.idleLabel;
      button.removeAttribute("aria-disabled");
      button.classList.remove("is-busy");
      button.disabled = false;
    });
    group.querySelectorAll("form[data-sending]").forEach((form) => delete form.dataset.sending);
    if (group.dataset.sending) delete group.dataset.sending;
    group.querySelectorAll("a[aria-disabled]").forEach((link) => {
      link.removeAttribute("aria-disabled");
      link.removeAttribute("tabindex");
    });
    const line = statusOf(group);
    if (line) line.textContent = "";
  }

  // Registered on window: it runs after the document's own handlers (live.js asks before a
  // Kill), so a cancelled confirmation marks nothing.
  window.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-busy]");
    if (!form || event.defaultPrevented) return;
    if (form.dataset.sending) {
      event.preventDefault(); // a second click while the first is on its way
      return;
    }
    const labels = labelsFor(form);
    markBusy(form, labels);
    const id = containerOf(form);
    if (id && form.dataset.action in DONE) pending.set(id, { action: form.dataset.action, ...labels });
  });

  // Links of a busy group stay put (Remove while Stopping…).
  document.addEventListener("click", (event) => {
    const link = event.target.closest("[aria-busy] a[aria-disabled='true']");
    if (link) event.preventDefault();
  });

  body.addEventListener("container-changed", (event) => {
    const msg = event.detail;
    const waiting = msg && pending.get(msg.id);
    if (!waiting || !(msg.removed || DONE[waiting.action](msg))) return;
    pending.delete(msg.id);
    document.querySelectorAll("[aria-busy='true']").forEach((group) => {
      const form = group.matches("form") ? group : group.querySelector("form[data-sending]");
      if (!form || containerOf(form) !== msg.id) return;
      // The header is fetched again for this very change: until it comes, its busy buttons
      // are truer than idle ones beside the old state badge. Unmarked only if it never comes.
      if (group.closest(REFETCHED)) setTimeout(() => group.isConnected && unmark(group), REFETCH_GRACE_MS);
      else unmark(group);
    });
  });

  // The header re-rendered while the engine still works: the new buttons say so too. If the
  // action's button is gone (the state moved on), there is nothing left to wait for.
  document.addEventListener("htmx:afterSwap", () => {
    pending.forEach((waiting, id) => {
      const form = document.querySelector(
        `[data-action-group][data-container-id="${CSS.escape(id)}"] form[data-action="${waiting.action}"]`,
      );
      if (form) markBusy(form, waiting);
      else if (document.querySelector(`[data-action-group][data-container-id="${CSS.escape(id)}"]`)) pending.delete(id);
    });
  });

  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    pending.clear();
    document.querySelectorAll("[aria-busy='true']").forEach(unmark);
  });
})();
