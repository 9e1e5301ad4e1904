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

  function applyTextFilter(input) {
    const list = document.querySelector(input.dataset.filterTarget);
    if (!list) return;
    const needle = input.value.trim().toLowerCase();
    let shown = 0;
    list.querySelectorAll("[data-search]").forEach((el) => {
      const match = !needle || el.dataset.search.includes(needle);
      el.hidden = !match;
      if (match) shown += 1;
    });
    const counter = document.querySelector("[data-row-count]");
    if (counter && list.id === "container-rows") counter.textContent = shown;
  }

  function refilter() {
    document.querySelectorAll("input[data-filter-target]").forEach(applyTextFilter);
    document.querySelectorAll("[data-live-list]").forEach((list) => {
      const empty = list.querySelector("[data-empty]");
      if (empty) empty.hidden = list.querySelector("[data-container-id]") !== null;
    });
    markCurrent();
  }

  function markCurrent() {
    const current = document.querySelector("[data-current-container]");
    const id = current ? current.dataset.currentContainer : null;
    document.querySelectorAll("#sidebar-list [data-container-id]").forEach((el) => {
      if (el.dataset.containerId === id) el.setAttribute("aria-current", "page");
      else el.removeAttribute("aria-current");
    });
  }

  function patchContainer(msg) {
    document.querySelectorAll("[data-live-list]").forEach((list) => {
      const existing = list.querySelector(`[data-container-id="${CSS.escape(msg.id)}"]`);
      const runningOnly = list.dataset.filterState === "running";
      if (msg.removed || (runningOnly && !["running", "restarting"].includes(msg.state))) {
        if (existing) existing.remove();
        return;
      }
      const el = fromHTML(list.dataset.liveList === "sidebar" ? msg.sidebar : msg.row);
      fixPortLinks(el);
      if (existing) existing.replaceWith(el);
      else list.prepend(el);
    });
    refilter();
    const current = document.querySelector("[data-current-container]");
    if (current && current.dataset.currentContainer === msg.id) {
      body.dispatchEvent(new CustomEvent("container-changed", { detail: msg }));
    }
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
  function resync() {
    if (!window.htmx) return;
    const sidebar = document.getElementById("sidebar-list");
    if (sidebar) htmx.ajax("GET", body.dataset.sidebarUrl, { target: sidebar, swap: "outerHTML" });
    const rows = document.getElementById("container-rows");
    if (rows) htmx.ajax("GET", location.pathname + location.search, { target: rows, swap: "outerHTML" });
    body.dispatchEvent(new CustomEvent("container-changed"));
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}${body.dataset.liveUrl}`);
    socket.onopen = () => {
      retryDelay = 500;
      if (connectedBefore) resync();
      connectedBefore = true;
      body.dataset.live = "connected";
    };
    socket.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.type === "engine") showEngine(msg);
      else if (msg.type === "container") patchContainer(msg);
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
