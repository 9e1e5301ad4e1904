// Jobs: a job page re-attaches to the job's progress (recorded state first, then live);
// the jobs list refreshes its rows when a job starts or ends.
(() => {
  "use strict";
  const wsBase = () => `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}`;
  const LABELS = { succeeded: "Succeeded", failed: "Failed", running: "Running", interrupted: "Interrupted" };
  const TOO_MANY_STREAMS = 4429; // close code: the user (or the portal) is at the stream cap

  // The server's units (static/js/sizes.js, loaded first): a layer's bytes read here as the
  // image's size reads on its page.
  const formatBytes = (n) => window.dockerwebSizes.human(n || 0);

  // As Django's reverse() writes it: `/`, `:` and `@` stay readable in a path.
  const referenceInPath = (reference) =>
    encodeURIComponent(reference).replace(/%(2F|3A|40)/g, (escaped) => decodeURIComponent(escaped));

  class JobView {
    constructor(root) {
      this.root = root;
      this.status = root.querySelector("[data-job-status]");
      this.output = root.querySelector("[data-job-output]");
      this.error = root.querySelector("[data-job-error]");
      this.result = root.querySelector("[data-job-result]");
      this.layers = root.querySelector("[data-job-layers]");
      this.overall = root.querySelector("[data-job-overall]");
      this.overallText = root.querySelector("[data-job-overall-text]");
      this.progressPanel = root.querySelector("[data-job-progress]");
      this.notice = root.querySelector("[data-job-notice]");
      this.layerRows = new Map();
      this.connect();
    }

    connect() {
      const socket = new WebSocket(wsBase() + this.root.dataset.wsUrl);
      socket.onmessage = (event) => this.update(JSON.parse(event.data));
      socket.onclose = (event) => {
        // Past the stream cap the notice stays; retrying would only be refused.
        if (event.code === TOO_MANY_STREAMS) return;
        if (this.root.dataset.finished !== "1") setTimeout(() => this.connect(), 2000);
      };
    }

    update(msg) {
      if (msg.type === "state") {
        this.notice.textContent = msg.reason;
        this.notice.hidden = false;
        return;
      }
      if (msg.output !== undefined) {
        this.output.textContent = msg.output || "";
        // The recorded output ends without a line break; live lines each end with one.
        this.needsBreak = Boolean(msg.output) && !msg.output.endsWith("\n");
        // The recorded output ends at this line; live lines are numbered from it.
        this.linesShown = msg.lines_total ?? (msg.first_line ?? 0) + (msg.lines || []).length;
      } else if (msg.lines && msg.lines.length) this.appendLines(msg.lines, msg.first_line);
      if (msg.progress && msg.progress.layers) this.showProgress(msg.progress);
      this.status.textContent = LABELS[msg.status] || msg.status;
      this.status.className = `state-badge job-status-${msg.status}`;
      this.root.dataset.status = msg.status;
      if (msg.error) {
        this.error.textContent = msg.error;
        this.error.hidden = false;
      }
      if (msg.status === "succeeded" && msg.result) this.showResult(msg.result);
      if (msg.finished) this.root.dataset.finished = "1";
    }

    // Lines sent while this page read the recorded output may be in both: only those past
    // what it shows are added.
    appendLines(lines, first) {
      const shown = this.linesShown ?? 0;
      const fresh = first === undefined ? lines : lines.slice(Math.max(0, shown - first));
      if (first !== undefined) this.linesShown = Math.max(shown, first + lines.length);
      if (!fresh.length) return;
      const atBottom = this.output.scrollHeight - this.output.scrollTop - this.output.clientHeight < 24;
      this.output.append((this.needsBreak ? "\n" : "") + fresh.join("\n") + "\n");
      this.needsBreak = false;
      if (atBottom) this.output.scrollTop = this.output.scrollHeight;
    }

    showResult(result) {
      this.result.hidden = false;
      if (!result.image || this.result.querySelector("a")) return;
      const link = document.createElement("a");
      link.href = this.root.dataset.imageUrl.replace("REFERENCE", referenceInPath(result.image));
      link.textContent = result.reference || result.image;
      link.dataset.jobResultLink = "";
      this.result.replaceChildren("Done: ", link);
    }

    showProgress(progress) {
      if (Object.keys(progress.layers).length) this.progressPanel.hidden = false;
      for (const id of progress.order || Object.keys(progress.layers)) {
        const layer = progress.layers[id];
        let row = this.layerRows.get(id);
        if (!row) {
          row = document.createElement("li");
          row.dataset.layer = id;
          const name = document.createElement("span");
          name.className = "mono layer-id";
          name.textContent = id;
          const bar = document.createElement("progress");
          bar.max = 100;
          const text = document.createElement("span");
          text.className = "layer-status";
          row.append(name, bar, text);
          this.layers.append(row);
          this.layerRows.set(id, row);
        }
        const [, bar, text] = row.children;
        bar.value = layer.percent ?? 0;
        row.dataset.percent = layer.percent ?? 0;
        row.dataset.status = layer.status;
        text.textContent = layer.total ? `${layer.status} ${formatBytes(layer.current)} / ${formatBytes(layer.total)}` : layer.status;
      }
      const overall = progress.overall || {};
      this.overall.value = overall.percent ?? 0;
      this.root.dataset.overall = overall.percent ?? 0;
      this.overallText.textContent = `${overall.percent ?? 0} %${progress.status ? " — " + progress.status : ""}`;
    }
  }

  function watchList(table) {
    const socket = new WebSocket(`${wsBase()}${document.body.dataset.enginePrefix || ""}/ws/jobs/`);
    socket.onmessage = () => document.body.dispatchEvent(new CustomEvent("jobs-changed"));
    socket.onclose = () => setTimeout(() => watchList(table), 2000);
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-job]").forEach((root) => new JobView(root));
    document.querySelectorAll("[data-job-list]").forEach(watchList);
  });
})();
