// The live log viewer: tail then follow over a websocket, without freezing the tab.
//
// The server forwards the engine's bytes untouched (binary frames) and says in text
// frames when a stream (re)starts and what state the container is in. Here the bytes are
// split into stdout/stderr (Docker's 8-byte frame headers), decoded, cut into lines and
// painted at most once per animation frame, keeping only the newest `maxLines` lines.
(() => {
  "use strict";
  const STDOUT = 1;
  const STDERR = 2;
  const MAX_PARTIAL = 64 * 1024; // a "line" without a newline this long is shown anyway
  const TOO_MANY_STREAMS = 4429; // close code: the user (or the portal) is at the stream cap

  // Docker's multiplexed stream: [stream, 0, 0, 0, size (4 bytes, big-endian)] + payload.
  class Demuxer {
    constructor(multiplexed, onText) {
      this.multiplexed = multiplexed;
      this.onText = onText;
      this.pending = new Uint8Array(0);
      this.decoders = { [STDOUT]: new TextDecoder(), [STDERR]: new TextDecoder() };
    }

    push(bytes) {
      if (!this.multiplexed) {
        this.onText(STDOUT, this.decoders[STDOUT].decode(bytes, { stream: true }));
        return;
      }
      let data = bytes;
      if (this.pending.length) {
        data = new Uint8Array(this.pending.length + bytes.length);
        data.set(this.pending);
        data.set(bytes, this.pending.length);
      }
      let pos = 0;
      let runStream = 0;
      let runParts = [];
      let runBytes = 0;
      // Consecutive frames of one stream are decoded together: one decode per run, not per line.
      const flush = () => {
        if (!runParts.length) return;
        let joined = runParts[0];
        if (runParts.length > 1) {
          joined = new Uint8Array(runBytes);
          let at = 0;
          for (const part of runParts) {
            joined.set(part, at);
            at += part.length;
          }
        }
        this.onText(runStream, this.decoders[runStream].decode(joined, { stream: true }));
        runParts = [];
        runBytes = 0;
      };
      while (data.length - pos >= 8) {
        const size = ((data[pos + 4] << 24) >>> 0) + (data[pos + 5] << 16) + (data[pos + 6] << 8) + data[pos + 7];
        if (data.length - pos - 8 < size) break;
        const stream = data[pos] === STDERR ? STDERR : STDOUT;
        if (stream !== runStream) {
          flush();
          runStream = stream;
        }
        runParts.push(data.subarray(pos + 8, pos + 8 + size));
        runBytes += size;
        pos += 8 + size;
      }
      flush();
      this.pending = data.slice(pos);
    }
  }

  // Text → complete lines per stream; an unfinished line waits for the rest.
  class LineSplitter {
    constructor(onLines) {
      this.onLines = onLines;
      this.partial = { [STDOUT]: "", [STDERR]: "" };
    }

    push(stream, text) {
      const parts = (this.partial[stream] + text).split("\n");
      let rest = parts.pop();
      if (rest.length > MAX_PARTIAL) {
        parts.push(rest);
        rest = "";
      }
      this.partial[stream] = rest;
      if (parts.length) this.onLines(stream, parts);
    }

    // The stream ended: a last line without a newline (a prompt, `printf` before exit) is
    // still a line, and must not be glued to the first line of the next run.
    flush() {
      for (const stream of [STDOUT, STDERR]) {
        const rest = this.partial[stream];
        this.partial[stream] = "";
        if (rest) this.onLines(stream, [rest]);
      }
    }
  }

  // ANSI SGR colours → spans. Text is only ever set with textContent: log lines can't
  // inject HTML. Other escape sequences (cursor moves, titles) are dropped.
  const CSI = /\x1b\[([0-9;?]*)([A-Za-z])|\x1b\][^\x07]*\x07|\x1b[()][A-Za-z0-9]/g;

  function appendAnsi(target, text) {
    if (!text.includes("\x1b")) {
      target.append(text);
      return;
    }
    let classes = [];
    let last = 0;
    const emit = (chunk) => {
      if (!chunk) return;
      if (!classes.length) {
        target.append(chunk);
        return;
      }
      const span = document.createElement("span");
      span.className = classes.join(" ");
      span.textContent = chunk;
      target.append(span);
    };
    for (const match of text.matchAll(CSI)) {
      emit(text.slice(last, match.index));
      last = match.index + match[0].length;
      if (match[2] !== "m") continue;
      const codes = (match[1] || "0").split(";").map((c) => parseInt(c || "0", 10));
      for (let i = 0; i < codes.length; i++) {
        const code = codes[i];
        if (code === 0) classes = [];
        else if (code === 1) classes.push("ansi-bold");
        else if (code === 3) classes.push("ansi-italic");
        else if (code === 4) classes.push("ansi-underline");
        else if (code === 22) classes = classes.filter((c) => c !== "ansi-bold");
        else if ((code >= 30 && code <= 37) || (code >= 90 && code <= 97)) {
          classes = classes.filter((c) => !c.startsWith("ansi-fg"));
          classes.push(`ansi-fg-${code}`);
        } else if ((code >= 40 && code <= 47) || (code >= 100 && code <= 107)) {
          classes = classes.filter((c) => !c.startsWith("ansi-bg"));
          classes.push(`ansi-bg-${code}`);
        } else if (code === 39) classes = classes.filter((c) => !c.startsWith("ansi-fg"));
        else if (code === 49) classes = classes.filter((c) => !c.startsWith("ansi-bg"));
        else if (code === 38 || code === 48) i += codes[i + 1] === 5 ? 2 : 4; // 256/true colour: skipped
      }
    }
    emit(text.slice(last));
  }

  class LogViewer {
    constructor(root) {
      this.root = root;
      this.output = root.querySelector("[data-log-output]");
      this.status = root.querySelector("[data-log-status]");
      this.followButton = root.querySelector("[data-log-follow]");
      this.newCount = root.querySelector("[data-log-new]");
      this.tailInput = root.querySelector("[data-log-tail]");
      this.timestampsInput = root.querySelector("[data-log-timestamps]");
      this.findInput = root.querySelector("[data-log-find]");
      this.findCount = root.querySelector("[data-log-find-count]");
      this.download = root.querySelector("[data-log-download]");
      this.note = root.querySelector("[data-log-note]");
      this.maxLines = parseInt(root.dataset.maxLines, 10) || 10000;
      this.queue = [];
      this.unseen = 0;
      this.following = true;
      this.painting = false;
      this.findIndex = -1;
      this.stats = { lines: 0, frames: 0 };
      root.logViewer = this;
      this.bind();
      this.connect();
    }

    bind() {
      this.output.addEventListener("scroll", () => {
        const atBottom = this.output.scrollHeight - this.output.scrollTop - this.output.clientHeight < 24;
        this.setFollowing(atBottom);
      });
      this.followButton.addEventListener("click", () => {
        this.setFollowing(true);
        this.output.scrollTop = this.output.scrollHeight;
      });
      this.tailInput.addEventListener("change", () => this.connect());
      this.timestampsInput.addEventListener("change", () => {
        this.updateDownloadLink();
        this.connect();
      });
      this.root.querySelector("[data-log-wrap]").addEventListener("change", (e) => {
        this.output.classList.toggle("nowrap", !e.target.checked);
      });
      this.root.querySelector("[data-log-clear]").addEventListener("click", () => this.clear());
      this.findInput.addEventListener("input", () => this.find());
      this.findInput.addEventListener("keydown", (e) => {
        if (e.key === "Enter") this.jump(e.shiftKey ? -1 : 1);
      });
      this.root.querySelector("[data-log-find-next]").addEventListener("click", () => this.jump(1));
      this.root.querySelector("[data-log-find-prev]").addEventListener("click", () => this.jump(-1));
      window.addEventListener("pagehide", () => this.socket && this.socket.close());
    }

    updateDownloadLink() {
      const url = new URL(this.download.href);
      if (this.timestampsInput.checked) url.searchParams.set("timestamps", "1");
      else url.searchParams.delete("timestamps");
      this.download.href = url.toString();
    }

    connect() {
      if (this.socket) {
        this.socket.onclose = null;
        this.socket.close();
      }
      this.clear();
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const params = new URLSearchParams({
        tail: this.tailInput.value || "0",
        timestamps: this.timestampsInput.checked ? "1" : "0",
      });
      const socket = new WebSocket(`${scheme}://${location.host}${this.root.dataset.wsUrl}?${params}`);
      socket.binaryType = "arraybuffer";
      this.socket = socket;
      this.timestamps = this.timestampsInput.checked;
      this.splitter = new LineSplitter((stream, lines) => this.enqueue(stream, lines));
      this.demuxer = new Demuxer(true, (stream, text) => this.splitter.push(stream, text));
      socket.onmessage = (event) => {
        if (typeof event.data === "string") this.control(JSON.parse(event.data));
        else {
          this.stats.frames += 1;
          this.demuxer.push(new Uint8Array(event.data));
        }
      };
      socket.onclose = (event) => {
        // Past the stream cap: the reason stays on screen; retrying would only be refused.
        if (event.code === TOO_MANY_STREAMS) return;
        this.setStatus("Disconnected — reconnecting…", "warn");
        setTimeout(() => this.socket === socket && this.connect(), 2000);
      };
    }

    control(msg) {
      this.splitter.flush();
      if (msg.type === "stream") {
        this.demuxer = new Demuxer(msg.multiplexed, (stream, text) => this.splitter.push(stream, text));
        this.setStatus("Following", "ok");
        // The server sends at most the lines a tab keeps; say so when more were asked for.
        this.note.hidden = !msg.capped;
        if (msg.capped) {
          this.note.textContent = `Showing at most the last ${msg.tail} lines, the most this page keeps. Download has the whole log.`;
        }
      } else if (msg.type === "state") {
        const text = {
          stopped: "Container stopped — waiting for it to start again",
          removed: "Container removed",
          "engine-down": `Engine unavailable — ${msg.reason}`,
          "too-many-streams": msg.reason,
        }[msg.state] || msg.state;
        this.setStatus(text, msg.state === "stopped" ? "muted" : "warn");
      }
    }

    setStatus(text, kind) {
      this.status.textContent = text;
      this.status.dataset.kind = kind;
      this.root.dataset.state = kind;
    }

    enqueue(stream, lines) {
      this.stats.lines += lines.length;
      for (const line of lines) this.queue.push(stream, line);
      // Lines that would be trimmed before anyone saw them are dropped before painting.
      const excess = this.queue.length / 2 - this.maxLines;
      if (excess > 0) this.queue.splice(0, excess * 2);
      if (!this.painting) {
        this.painting = true;
        requestAnimationFrame(() => this.paint());
      }
    }

    renderLine(stream, text) {
      const div = document.createElement("div");
      div.className = stream === STDERR ? "line stderr" : "line";
      let body = text.endsWith("\r") ? text.slice(0, -1) : text;
      if (this.timestamps) {
        const space = body.indexOf(" ");
        if (space > 0) {
          const time = document.createElement("time");
          const stamp = body.slice(0, space);
          time.dateTime = stamp;
          time.title = stamp;
          // 2026-11-27T18:52:26.123456789Z → 2026-11-27 18:52:26.123 (UTC, as the engine logs it)
          time.textContent = stamp.length > 23 ? stamp.slice(0, 23).replace("T", " ") : stamp;
          div.append(time);
          body = body.slice(space + 1);
        }
      }
      appendAnsi(div, body);
      return div;
    }

    paint() {
      this.painting = false;
      const queue = this.queue;
      this.queue = [];
      if (!queue.length) return;
      const fragment = document.createDocumentFragment();
      const needle = this.findInput.value.toLowerCase();
      for (let i = 0; i < queue.length; i += 2) {
        const line = this.renderLine(queue[i], queue[i + 1]);
        if (needle && line.textContent.toLowerCase().includes(needle)) line.classList.add("match");
        fragment.append(line);
      }
      this.output.append(fragment);
      let extra = this.output.childElementCount - this.maxLines;
      while (extra-- > 0) this.output.firstElementChild.remove();
      if (this.following) this.output.scrollTop = this.output.scrollHeight;
      else {
        this.unseen += queue.length / 2;
        this.newCount.textContent = this.unseen;
      }
      if (needle) this.updateFindCount();
      this.root.dataset.lines = this.output.childElementCount;
    }

    setFollowing(on) {
      this.following = on;
      this.followButton.hidden = on;
      if (on) {
        this.unseen = 0;
        this.newCount.textContent = "0";
      }
    }

    clear() {
      this.queue = [];
      this.output.replaceChildren();
      this.findIndex = -1;
      this.updateFindCount();
    }

    find() {
      const needle = this.findInput.value.toLowerCase();
      for (const line of this.output.children) {
        line.classList.toggle("match", !!needle && line.textContent.toLowerCase().includes(needle));
        line.classList.remove("current");
      }
      this.findIndex = -1;
      this.updateFindCount();
    }

    updateFindCount() {
      const count = this.findInput.value ? this.output.querySelectorAll(".line.match").length : 0;
      this.findCount.textContent = this.findInput.value ? `${count} match${count === 1 ? "" : "es"}` : "";
    }

    jump(step) {
      const matches = this.output.querySelectorAll(".line.match");
      if (!matches.length) return;
      matches.forEach((m) => m.classList.remove("current"));
      this.findIndex = (this.findIndex + step + matches.length) % matches.length;
      const target = matches[this.findIndex];
      target.classList.add("current");
      this.setFollowing(false);
      target.scrollIntoView({ block: "center" });
    }
  }

  window.DockerwebLogs = { Demuxer, LineSplitter, LogViewer, appendAnsi };
  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-log-viewer]").forEach((root) => new LogViewer(root));
  });
})();
