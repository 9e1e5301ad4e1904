// Live state for every page: one websocket to /ws/live/ relays engine events.
// The sidebar and the container table patch themselves; the banner follows the engine.
(() => {
  "use strict";
  const body = document.body;
  const banner = document.getElementById("engine-banner");
  let retryDelay = 500;
  let connectedBefore = false;

  function fromHTML(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  // Ports published on every interface link to the host this page came from.
  function fixPortLinks(root) {
    root.querySelectorAll("a[data-same-host='1']").forEach((a) => {
      const url = new URL(a.href);
      url.hostname = location.hostname;
      a.href = url.toString();
    });
  }

  function textFilterFor(list) {
    return list.id ? document.querySelector(`input[data-filter-target="#${list.id}"]`) : null;
  }

  function matchesFilter(el, needle) {
    return !needle || el.dataset.search.includes(needle);
  }

  function applyTextFilter(input) {
    const list = document.querySelector(input.dataset.filterTarget);
    if (!list) return;
    const needle = input.value.trim().toLowerCase();
    list.querySelectorAll("[data-search]").forEach((el) => {
      el.hidden = !matchesFilter(el, needle);
    });
    updateCounts(list);
  }

  function updateCounts(list) {
    const empty = list.querySelector("[data-empty]");
    if (empty) empty.hidden = list.querySelector("[data-container-id]") !== null;
    const counter = document.querySelector("[data-row-count]");
    if (counter && list.id === "container-rows") {
      counter.textContent = list.querySelectorAll("[data-container-id]:not([hidden])").length;
    }
  }

  function currentContainerId() {
    const current = document.querySelector("[data-current-container]");
    return current ? current.dataset.currentContainer : null;
  }

  function refilter() {
    document.querySelectorAll("input[data-filter-target]").forEach(applyTextFilter);
    document.querySelectorAll("[data-live-list]").forEach(updateCounts);
    const id = currentContainerId();
    const item = id && document.querySelector(`#sidebar-list [data-container-id="${CSS.escape(id)}"]`);
    if (item) item.setAttribute("aria-current", "page");
  }

  // One container's sidebar item and table row, replaced or inserted; only the touched
  // element is filtered, so a page with a thousand containers patches in constant time.
  function patchContainer(msg) {
    const currentId = currentContainerId();
    document.querySelectorAll("[data-live-list]").forEach((list) => {
      const existing = list.querySelector(`[data-container-id="${CSS.escape(msg.id)}"]`);
      const runningOnly = list.dataset.filterState === "running";
      if (msg.removed || (runningOnly && !["running", "restarting"].includes(msg.state))) {
        if (existing) existing.remove();
      } else {
        const el = fromHTML(list.dataset.liveList === "sidebar" ? msg.sidebar : msg.row);
        fixPortLinks(el);
        const filter = textFilterFor(list);
        el.hidden = !matchesFilter(el, filter ? filter.value.trim().toLowerCase() : "");
        if (msg.id === currentId && list.dataset.liveList === "sidebar") el.setAttribute("aria-current", "page");
        if (existing) existing.replaceWith(el);
        else list.prepend(el);
      }
      updateCounts(list);
    });
    if (currentId === msg.id) body.dispatchEvent(new CustomEvent("container-changed", { detail: msg }));
  }

  // Messages are applied once per animation frame, the last one per container winning,
  // so a burst of events (a compose project starting) costs one layout, not hundreds.
  const pending = new Map();
  let framePending = false;

  function queuePatch(msg) {
    pending.delete(msg.id); // keep arrival order for the new message
    pending.set(msg.id, msg);
    if (framePending) return;
    framePending = true;
    requestAnimationFrame(() => {
      framePending = false;
      const batch = [...pending.values()];
      pending.clear();
      batch.forEach(patchContainer);
    });
  }

  function showEngine(msg) {
    if (msg.up) {
      if (body.hasAttribute("data-engine-down-at-render")) {
        location.reload(); // the page was rendered without data: render it again
        return;
      }
      if (!banner.hidden) {
        banner.hidden = true;
        resync();
      }
      return;
    }
    banner.querySelector("[data-engine-reason]").textContent =
      `The engine at ${msg.address} is unavailable: ${msg.reason}`;
    banner.hidden = false;
  }

  // After a gap (socket or engine down) events may have been missed: fetch the lists again.
  // Events that arrive while the lists are in flight are applied again on top of them,
  // so a fresh patch is never overwritten by an older listing.
  let replay = null;

  function resync() {
    if (!window.htmx) return;
    const fetches = [];
    const sidebar = document.getElementById("sidebar-list");
    if (sidebar) fetches.push(htmx.ajax("GET", body.dataset.sidebarUrl, { target: sidebar, swap: "outerHTML" }));
    const rows = document.getElementById("container-rows");
    if (rows) fetches.push(htmx.ajax("GET", location.pathname + location.search, { target: rows, swap: "outerHTML" }));
    body.dispatchEvent(new CustomEvent("container-changed"));
    body.dispatchEvent(new CustomEvent("images-changed"));
    body.dispatchEvent(new CustomEvent("networks-changed"));
    body.dispatchEvent(new CustomEvent("volumes-changed"));
    if (!fetches.length) return;
    const mine = (replay = []);
    Promise.allSettled(fetches).then(() => {
      if (replay !== mine) return; // a newer resync owns the replay
      replay = null;
      mine.forEach(patchContainer);
    });
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    // The first connection asks what changed since the page was rendered; later ones resync.
    const since = connectedBefore ? "" : `?since=${body.dataset.renderedAt}`;
    const socket = new WebSocket(`${scheme}://${location.host}${body.dataset.liveUrl}${since}`);
    socket.onopen = () => {
      retryDelay = 500;
      if (connectedBefore) resync();
      connectedBefore = true;
      body.dataset.live = "connected";
    };
    socket.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.type === "engine") showEngine(msg);
      else if (msg.type === "container") {
        queuePatch(msg);
        if (replay) replay.push(msg);
      }
      else if (msg.type === "image") body.dispatchEvent(new CustomEvent("images-changed", { detail: msg }));
      else if (msg.type === "network") body.dispatchEvent(new CustomEvent("networks-changed", { detail: msg }));
      else if (msg.type === "volume") body.dispatchEvent(new CustomEvent("volumes-changed", { detail: msg }));
      else if (msg.type === "resync") resync();
    };
    socket.onclose = () => {
      body.dataset.live = "disconnected";
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 10000);
    };
  }

  document.addEventListener("input", (event) => {
    if (event.target.matches("input[data-filter-target]")) applyTextFilter(event.target);
  });
  document.addEventListener("click", (event) => {
    const toggle = event.target.closest("[data-reveal-toggle]");
    if (!toggle) return;
    const table = toggle.parentElement.querySelector("[data-secret-values]");
    const revealed = table.classList.toggle("revealed");
    toggle.textContent = revealed ? "Hide values" : "Show values";
    toggle.setAttribute("aria-pressed", String(revealed));
  });
  // Forms that lose something without a page of their own (Kill) ask in a dialog first.
  // Filter-only forms (the text filter works as you type) are never sent.
  document.addEventListener("submit", (event) => {
    if (event.target.matches("form[data-filter-only]")) {
      event.preventDefault();
      return;
    }
    const form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });
  // Choices that apply at once (the containers list's All / Running) submit their form.
  document.addEventListener("change", (event) => {
    if (event.target.matches("[data-submit-on-change]") && event.target.form) event.target.form.requestSubmit();
  });
  document.addEventListener("htmx:afterSwap", () => {
    fixPortLinks(document);
    refilter();
  });
  document.addEventListener("DOMContentLoaded", () => {
    fixPortLinks(document);
    refilter();
    if (body.dataset.liveUrl) connect();
  });
})();
