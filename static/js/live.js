// Live state for every page: one websocket to /ws/live/ relays the live model's changes.
// Container lists (the sidebar, the containers table) are windows rendered by the server;
// the page tells the socket which containers it shows and gets their patches, and fetches
// its windows again when containers come, go, or newly match its filter.
// The banner follows the engine.
(() => {
  "use strict";
  const body = document.body;
  const banner = document.getElementById("engine-banner");
  let retryDelay = 500;
  let connectedBefore = false;
  let socket = null;

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

  // Lists filtered in the page (volumes, images, networks: short lists). When nothing is
  // left, the list's no-match state (templates/_empty.html, rendered hidden beside the rows)
  // says so with the typed text: the same words the server writes for `?q=`.
  function applyTextFilter(input) {
    const list = document.querySelector(input.dataset.filterTarget);
    if (!list) return;
    const typed = input.value.trim();
    const needle = typed.toLowerCase();
    const rows = [...list.querySelectorAll("[data-search]")];
    rows.forEach((el) => {
      el.hidden = !!needle && !el.dataset.search.includes(needle);
    });
    const empty = list.querySelector("[data-empty]");
    if (!empty || !rows.length) return; // nothing in the page to filter: the server's state stands
    const query = empty.querySelector("[data-empty-query]");
    if (query) query.textContent = typed;
    empty.hidden = !needle || rows.some((el) => !el.hidden);
  }

  // "Clear the filter" in a no-match state: empty the filter where it is typed, so the list
  // comes back without a page load (the link's own URL serves pages without JavaScript).
  function clearFilter(control) {
    const input = document.querySelector(control.dataset.clearFilter);
    if (!input) return false;
    input.value = "";
    input.dispatchEvent(new Event("input", { bubbles: true })); // in-page filter and htmx alike
    input.focus();
    return true;
  }

  function currentContainerId() {
    const current = document.querySelector("[data-current-container]");
    return current ? current.dataset.currentContainer : null;
  }

  function liveLists() {
    return [...document.querySelectorAll("[data-live-list]")];
  }

  function shownIds() {
    const ids = new Set();
    document.querySelectorAll("[data-live-list] [data-container-id]").forEach((el) => ids.add(el.dataset.containerId));
    const current = currentContainerId();
    if (current) ids.add(current);
    return [...ids];
  }

  function watchShown() {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ watch: shownIds() }));
  }

  function markCurrent() {
    const id = currentContainerId();
    const item = id && document.querySelector(`#sidebar-list [data-container-id="${CSS.escape(id)}"]`);
    if (item) item.setAttribute("aria-current", "page");
  }

  // Fetch the windows again (debounced: a burst of events costs one fetch per window).
  let refetchTimer = null;
  function refetchSoon(delay = 100) {
    if (refetchTimer) return;
    refetchTimer = setTimeout(() => {
      refetchTimer = null;
      refetchWindows();
    }, delay);
  }

  function refetchWindows() {
    if (!window.htmx) return Promise.resolve();
    const fetches = liveLists().map((list) => {
      let url = list.dataset.listUrl;
      if (list.dataset.liveList === "sidebar") {
        // With the filter as typed: a refetch racing the filter's own request must not
        // bring the unfiltered window back.
        const params = new URLSearchParams({ selected: currentContainerId() || "" });
        const filter = document.querySelector("input[data-sidebar-filter]");
        if (filter) params.set("q", filter.value);
        if (list.dataset.page) params.set("page", list.dataset.page);
        url += `?${params}`;
      }
      return htmx.ajax("GET", url, { target: list, swap: "outerHTML" });
    });
    return Promise.allSettled(fetches);
  }

  function stateMatches(list, state) {
    const wanted = list.dataset.filterState;
    if (!wanted) return true;
    const groups = { running: ["running", "restarting"], paused: ["paused"], exited: ["exited", "dead", "removing"], created: ["created"] };
    return (groups[wanted] || []).includes(state);
  }

  // One watched container changed: its sidebar item and table row are replaced in place.
  function patchContainer(msg) {
    liveLists().forEach((list) => {
      const existing = list.querySelector(`[data-container-id="${CSS.escape(msg.id)}"]`);
      if (!existing) return;
      if (msg.removed || (list.dataset.liveList === "table" && !stateMatches(list, msg.state))) {
        existing.remove();
        refetchSoon();
        return;
      }
      const el = fromHTML(list.dataset.liveList === "sidebar" ? msg.sidebar : msg.row);
      fixPortLinks(el);
      if (msg.id === currentContainerId() && list.dataset.liveList === "sidebar") el.setAttribute("aria-current", "page");
      existing.replaceWith(el);
    });
    if (currentContainerId() === msg.id) body.dispatchEvent(new CustomEvent("container-changed", { detail: msg }));
  }

  // Other containers changed: fetch the windows again only if what they show may differ.
  function containerListChanged(msg) {
    const shown = new Set(shownIds());
    const lists = liveLists();
    const affects = msg.more || msg.changes.some((change) => {
      if (change.action !== "changed") return true; // added or removed: windows shift
      if (shown.has(change.id)) return false; // patched through its own group
      return lists.some((list) => list.dataset.filterState || list.dataset.sort === "state");
    });
    if (affects) refetchSoon();
  }

  // Messages are applied once per animation frame, the last one per container winning,
  // so a burst of events costs one layout, not hundreds.
  const pending = new Map();
  let framePending = false;
  function queuePatch(msg) {
    pending.delete(msg.id);
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

  // Counts shown on the page ([data-live-count="running"], "images"…) follow every list message.
  function showCounts(counts) {
    document.querySelectorAll("[data-live-count]").forEach((el) => {
      const count = counts[el.dataset.liveCount];
      if (count !== undefined) el.textContent = Number(count).toLocaleString("en-US");
    });
  }

  // What another user just did through the portal ("alice stopped web"): a line in the page's
  // status region that goes by itself (held while the pointer rests on it), never focused.
  // The server sends a notice only to sockets allowed to list that kind of object.
  const NOTICE_MS = 8000;
  function showNotice(msg) {
    const region = document.getElementById("notices");
    if (!region || msg.user === region.dataset.self) return;
    const line = document.createElement("p");
    line.className = "notice";
    line.dataset.noticeKind = msg.kind;
    line.textContent = msg.text;
    region.append(line);
    while (region.children.length > 3) region.firstElementChild.remove();
    const dismiss = () => {
      if (region.matches(":hover")) setTimeout(dismiss, 1000);
      else line.remove();
    };
    setTimeout(dismiss, NOTICE_MS);
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

  // After a gap (socket or engine down, or a new listing) the page may be behind: fetch
  // its windows again, and tell the other lists and the container's header.
  function resync() {
    refetchWindows();
    if (currentContainerId()) body.dispatchEvent(new CustomEvent("container-changed"));
    ["images-changed", "networks-changed", "volumes-changed"].forEach((name) => body.dispatchEvent(new CustomEvent(name)));
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    // The first connection asks whether the model moved on since the page was rendered.
    const since = connectedBefore ? "" : `?v=${body.dataset.modelVersion}`;
    socket = new WebSocket(`${scheme}://${location.host}${body.dataset.liveUrl}${since}`);
    socket.onopen = () => {
      retryDelay = 500;
      watchShown();
      if (connectedBefore) resync();
      connectedBefore = true;
      body.dataset.live = "connected";
    };
    socket.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.type === "list" && msg.counts) showCounts(msg.counts);
      if (msg.type === "engine") showEngine(msg);
      else if (msg.type === "container") queuePatch(msg);
      else if (msg.type === "list" && msg.kind === "container") containerListChanged(msg);
      else if (msg.type === "list") body.dispatchEvent(new CustomEvent(`${msg.kind}s-changed`, { detail: msg }));
      else if (msg.type === "resync") resync();
      else if (msg.type === "notice") showNotice(msg);
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
    const clear = event.target.closest("[data-clear-filter]");
    if (clear && clearFilter(clear)) event.preventDefault();
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
  // Choices that apply at once submit their form (when htmx doesn't already).
  document.addEventListener("change", (event) => {
    if (event.target.matches("[data-submit-on-change]") && event.target.form) event.target.form.requestSubmit();
  });
  document.addEventListener("htmx:afterSwap", () => {
    fixPortLinks(document);
    markCurrent();
    document.querySelectorAll("input[data-filter-target]").forEach(applyTextFilter);
    watchShown();
  });
  document.addEventListener("DOMContentLoaded", () => {
    fixPortLinks(document);
    markCurrent();
    document.querySelectorAll("input[data-filter-target]").forEach(applyTextFilter);
    if (body.dataset.liveUrl) connect();
  });
})();
