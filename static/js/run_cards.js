// "New container" cards: a refused Create shows why on its card, the Advanced link follows
// the chosen tag, and a pull-and-run job shows its progress on the card, then opens the new
// container's logs.
(() => {
  "use strict";
  const wsBase = () => `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}`;
  const TOO_MANY_STREAMS = 4429; // close code: the user (or the portal) is at the stream cap

  function followJob(root) {
    if (root.dataset.following) return;
    root.dataset.following = "1";
    const bar = root.querySelector("[data-card-job-progress]");
    const status = root.querySelector("[data-card-job-status]");
    const error = root.querySelector("[data-card-job-error]");
    let opened = false;
    let finished = false;

    const connect = () => {
      const socket = new WebSocket(wsBase() + root.dataset.wsUrl);
      socket.onopen = () => { opened = true; };
      socket.onmessage = (event) => {
        const msg = JSON.parse(event.data);
        if (msg.type === "state") { status.textContent = msg.reason; return; }
        const progress = msg.progress || {};
        const percent = progress.overall ? progress.overall.percent : undefined;
        if (percent !== undefined && percent !== null) {
          bar.value = percent;
          root.dataset.percent = percent;
        }
        if (progress.status) status.textContent = progress.status;
        root.dataset.status = msg.status;
        if (msg.status === "succeeded" && msg.result && msg.result.container) {
          finished = true;
          root.dataset.done = "1";
          bar.value = 100;
          status.textContent = "Running: opening its logs…";
          socket.close();
          location.assign(root.dataset.logsUrl.replace("CONTAINER", encodeURIComponent(msg.result.container)));
        } else if (msg.finished) {
          finished = true;
          root.dataset.done = "1";
          bar.hidden = true;
          status.textContent = "";
          error.textContent = msg.error || "The job ended without starting a container.";
          error.hidden = false;
          socket.close();
        }
      };
      socket.onclose = (event) => {
        // Refused (no permission to watch jobs, or the stream cap): the job page link stays.
        if (finished || !opened || event.code === TOO_MANY_STREAMS) {
          if (!finished && !opened) status.textContent = "Pulling… (follow it on the job page)";
          return;
        }
        setTimeout(connect, 2000);
      };
    };
    connect();
  }

  function followTag(select) {
    const card = select.closest("[data-card]");
    const advanced = card && card.querySelector("[data-card-advanced]");
    if (!advanced || select.dataset.following) return;
    select.dataset.following = "1";
    select.addEventListener("change", () => {
      const url = new URL(advanced.href, location.href);
      url.searchParams.set("image", select.value);
      advanced.href = url.pathname + url.search;
    });
  }

  const within = (element, selector) =>
    [...(element.matches && element.matches(selector) ? [element] : []), ...element.querySelectorAll(selector)];

  htmx.onLoad((element) => {
    within(element, "[data-card-job]").forEach(followJob);
    within(element, "[data-card-tag]").forEach(followTag);
  });

  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const form = event.detail.elt;
    // A refused Create answers 400 with the reason: show it on the card (htmx swaps only 2xx).
    if (event.detail.xhr.status === 400 && form.closest && form.closest("[data-card]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
    // New search results would wipe a card whose pull is under way, and with it the progress
    // and the jump to the new container: while one runs, the results stay (the page is about
    // to open the container's logs anyway).
    const target = event.detail.target;
    if (target && target.id === "cards" && target.querySelector("[data-card-job]:not([data-done])")) {
      event.detail.shouldSwap = false;
    }
  });
})();
