// The Stats tab: live charts (uPlot) of what a container costs, fed by its stats socket.
//
// The server sends the last five minutes first ({"type": "history"}), then one sample a
// second, and says when the container stops, starts again or goes away ({"type": "state"}).
// The page keeps the last `window` seconds and redraws the four charts on each sample; the
// current values are also written as text (a definition list, not a live region: one change
// a second would be read out without end), and "Read values" says them once on demand.
(() => {
  "use strict";
  const TOO_MANY_STREAMS = 4429; // close code: the user (or the portal) is at the stream cap
  const CHART_HEIGHT = 170;

  // The server's units (static/js/sizes.js, loaded first): a size reads the same here as on
  // any rendered page.
  const humanSize = (size) =>
    size === null || size === undefined || Number.isNaN(size) ? "—" : window.dockerwebSizes.human(size);
  const perSecond = (rate) => (rate === null || rate === undefined ? "—" : `${humanSize(rate)}/s`);
  const percent = (value) =>
    value === null || value === undefined ? "—" : `${value.toFixed(value < 10 ? 2 : 1)} %`;

  // One chart's look: its series (label, colour, how a value reads) and its axis' units. The
  // colours are dockerweb.css's custom properties, read when a chart is drawn (theme.js), so
  // the charts follow the light or dark theme.
  const CHARTS = {
    cpu: { series: [["CPU", "--chart-1"]], format: percent, fields: ["cpu"], floor: 1 },
    mem: { series: [["Used", "--chart-2"]], format: humanSize, fields: ["mem"], floor: 1000 },
    net: {
      series: [
        ["Received", "--chart-1"],
        ["Sent", "--chart-3"],
      ],
      format: perSecond,
      fields: ["net_rx", "net_tx"],
      floor: 1000, // an idle container's axis reads 0 to 1 kB/s, not fractions of a byte
    },
    blk: {
      series: [
        ["Read", "--chart-1"],
        ["Written", "--chart-4"],
      ],
      format: perSecond,
      fields: ["blk_read", "blk_write"],
      floor: 1000,
    },
  };

  class StatsView {
    constructor(root) {
      this.root = root;
      this.url = root.dataset.wsUrl;
      this.window = Number(root.dataset.window) || 300;
      this.status = root.querySelector("[data-stats-status]");
      this.stopped = root.querySelector("[data-stats-stopped]");
      this.stoppedReason = root.querySelector("[data-stats-stopped-reason]");
      this.summary = root.querySelector("[data-stats-summary]");
      this.values = {};
      for (const dd of root.querySelectorAll("[data-value]")) this.values[dd.dataset.value] = dd;
      this.samples = []; // the messages kept, oldest first
      this.latest = null;
      this.charts = {};
      this.retry = 1000;
      this.state = root.dataset.state;
      for (const [name, look] of Object.entries(CHARTS)) {
        const el = root.querySelector(`[data-chart="${name}"]`);
        if (el) this.charts[name] = this.makeChart(el, look);
      }
      root.querySelector("[data-stats-read]").addEventListener("click", () => this.readOut());
      // Another theme: the charts are drawn again in its colours, with the samples they have.
      document.addEventListener("dockerweb:theme", () => this.repaint());
      this.observer = new ResizeObserver(() => this.resize());
      for (const chart of Object.values(this.charts)) this.observer.observe(chart.el);
      this.connect();
    }

    makeChart(el, look) {
      const format = look.format;
      const color = window.dockerwebTheme.color;
      const axis = {
        stroke: color("--chart-axis"),
        grid: { stroke: color("--chart-grid") },
        ticks: { stroke: color("--chart-grid") },
      };
      const options = {
        width: Math.max(el.clientWidth, 200),
        height: CHART_HEIGHT,
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(max, look.floor)] } },
        series: [
          { label: "Time" },
          ...look.series.map(([label, colour]) => ({
            label,
            stroke: color(colour),
            width: 2,
            fill: color(colour, 0.13),
            value: (u, v) => format(v),
          })),
        ],
        axes: [{ ...axis }, { ...axis, size: 76, values: (u, ticks) => ticks.map((v) => format(v)) }],
      };
      const data = [[], ...look.fields.map(() => [])];
      return { el, look, plot: new window.uPlot(options, data, el) };
    }

    repaint() {
      for (const [name, chart] of Object.entries(this.charts)) {
        const data = chart.plot.data;
        chart.plot.destroy();
        this.charts[name] = this.makeChart(chart.el, chart.look);
        this.charts[name].plot.setData(data);
      }
    }

    resize() {
      for (const chart of Object.values(this.charts)) {
        const width = chart.el.clientWidth;
        if (width > 0 && width !== chart.plot.width) {
          chart.plot.setSize({ width, height: CHART_HEIGHT });
        }
      }
    }

    connect() {
      const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
      const socket = new WebSocket(`${scheme}//${window.location.host}${this.url}`);
      this.socket = socket;
      socket.onopen = () => {
        this.retry = 1000;
      };
      socket.onmessage = (event) => this.receive(JSON.parse(event.data));
      socket.onclose = (event) => {
        if (this.state === "removed" || this.state === "too-many-streams") return;
        if (event.code === TOO_MANY_STREAMS) return;
        this.setStatus("Connection lost, reconnecting…", "warn");
        setTimeout(() => this.connect(), this.retry);
        this.retry = Math.min(this.retry * 2, 30000);
      };
    }

    receive(message) {
      if (message.type === "history") {
        this.samples = message.samples;
        this.latest = this.samples.length ? this.samples[this.samples.length - 1] : null;
        this.redraw();
      } else if (message.type === "sample") {
        this.samples.push(message);
        this.latest = message;
        this.redraw();
      } else if (message.type === "state") {
        this.setState(message.state, message.reason);
      }
    }

    setState(state, reason) {
      this.state = state;
      this.root.dataset.state = state;
      const running = state === "running";
      this.stopped.hidden = running || state === "engine-down";
      if (!running && reason) this.stoppedReason.textContent = reason;
      const texts = {
        running: ["Live", "ok"],
        stopped: ["Container stopped", "muted"],
        removed: ["Container removed", "muted"],
        "engine-down": [`Engine unavailable: ${reason}`, "warn"],
        "too-many-streams": [reason, "warn"],
      };
      const [text, kind] = texts[state] || [state, "muted"];
      this.setStatus(text, kind);
    }

    setStatus(text, kind) {
      this.status.textContent = text;
      this.status.dataset.kind = kind;
    }

    redraw() {
      // The last `window` seconds, counted from the newest sample.
      const newest = this.latest ? this.latest.t : 0;
      const since = newest - this.window;
      let drop = 0;
      while (drop < this.samples.length && this.samples[drop].t < since) drop += 1;
      if (drop) this.samples.splice(0, drop);
      const times = this.samples.map((s) => s.t);
      for (const chart of Object.values(this.charts)) {
        const columns = chart.look.fields.map((field) => this.samples.map((s) => s[field]));
        chart.plot.setData([times, ...columns]);
      }
      this.root.dataset.points = String(this.samples.length);
      this.root.dataset.empty = String(this.samples.length === 0);
      this.writeValues();
    }

    writeValues() {
      const s = this.latest;
      if (!s) return;
      const memory = s.mem_limit
        ? `${humanSize(s.mem)} of ${humanSize(s.mem_limit)} (${percent((100 * s.mem) / s.mem_limit)})`
        : humanSize(s.mem);
      const text = {
        cpu: percent(s.cpu),
        mem: memory,
        net: `${perSecond(s.net_rx)} received, ${perSecond(s.net_tx)} sent`,
        blk: `${perSecond(s.blk_read)} read, ${perSecond(s.blk_write)} written`,
        pids: String(s.pids),
      };
      for (const [name, value] of Object.entries(text)) {
        if (this.values[name] && this.values[name].textContent !== value) {
          this.values[name].textContent = value;
        }
      }
      const caption = this.root.querySelector("[data-mem-limit]");
      if (caption) caption.textContent = s.mem_limit ? `(limit ${humanSize(s.mem_limit)})` : "";
    }

    readOut() {
      // Said once by screen readers (role=status), then left alone until asked again.
      const parts = [];
      if (this.state !== "running") parts.push(this.status.textContent + ".");
      if (this.latest) {
        for (const dt of this.root.querySelectorAll("[data-stats-values] dt")) {
          const dd = dt.nextElementSibling;
          parts.push(`${dt.textContent}: ${dd.textContent}.`);
        }
      } else {
        parts.push("No values yet.");
      }
      this.summary.textContent = "";
      setTimeout(() => {
        this.summary.textContent = parts.join(" ");
      }, 50);
    }
  }

  window.DockerwebStats = { humanSize, StatsView };

  function start() {
    for (const root of document.querySelectorAll("[data-stats-view]")) {
      if (!root.statsView) root.statsView = new StatsView(root);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
