// The live log viewer: tail then follow over a websocket, without freezing the tab.
//
// The server forwards the engine's bytes (binary frames) and says in text frames when a
// stream (re)starts, what state the container is in, and when it skipped bytes this page
// fell behind on. Here the bytes are split into stdout/stderr (Docker's 8-byte frame
// headers) and cut into lines, which wait as the bytes they came in; a line is decoded only
// when it is painted. Painting happens once per animation frame, a bounded amount each
// time, keeping only the newest `maxLines` lines: what the page would not keep is dropped
// before it is decoded, and old lines leave the page a few blocks at a time.
(() => {
  "use strict";
  const STDOUT = 1;
  const STDERR = 2;
  const MAX_PARTIAL = 64 * 1024; // a "line" without a newline this long is shown anyway
  const TOO_MANY_STREAMS = 4429; // close code: the user (or the portal) is at the stream cap
  const MARKER = 0; // not a stream: a line the page adds (bytes the server skipped)
  const PAINT_BUDGET_MS = 8; // DOM work per animation frame; layout comes on top
  const CHUNK_LINES = 200; // lines per block of the output (see the .chunk rule in the CSS)
  const OVERLOAD_PAINT_MS = 250; // in a flood of lines, how often the page is replaced

  const formatBytes = (n) =>
    n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${Math.round(n / 1e3)} kB` : `${n} bytes`;

  const NO_BYTES = new Uint8Array(0);

  function concat(a, b) {
    const joined = new Uint8Array(a.length + b.length);
    joined.set(a);
    joined.set(b, a.length);
    return joined;
  }

  const frameSize = (data, pos) =>
    ((data[pos + 4] << 24) >>> 0) + (data[pos + 5] << 16) + (data[pos + 6] << 8) + data[pos + 7];

  // The socket's binary frames → lines, left as bytes where they arrived: `onLines(segment)`
  // gets lines of one stream, `segment.bounds` the start and end of each (newline excluded)
  // in `segment.data`; lines first..first+count-1 are still to show. A line is decoded only
  // when it is shown (lineText), and nothing is copied but lines that came in pieces.
  //
  // Multiplexed, Docker's frames are [stream, 0, 0, 0, size (4 bytes, big-endian)] + payload,
  // one per log line (a line over 16 KB in several). A tab keeps at most `keep` lines, so
  // of each piece only its last `keep` lines are looked at: the ones before are counted
  // (`onDrop`) and skipped. A piece of a million lines costs one walk over frame headers.
  class LogReader {
    constructor(multiplexed, onLines, { keep = Infinity, onDrop = () => {} } = {}) {
      this.multiplexed = multiplexed;
      this.onLines = onLines;
      this.keep = keep;
      this.onDrop = onDrop;
      this.pending = NO_BYTES; // the start of a frame the next piece completes
      this.segment = null;
      this.reset();
    }

    push(bytes) {
      if (this.multiplexed) this.pushFrames(bytes);
      else this.pushRaw(bytes);
      this.close();
    }

    pushFrames(bytes) {
      let pos = 0;
      if (this.pending.length) {
        // Complete the frame the last piece ended in: that frame alone is copied.
        const head = this.pending;
        const header = head.length >= 8 ? head : concat(head, bytes.subarray(0, 8 - head.length));
        const missing = header.length >= 8 ? 8 + frameSize(header, 0) - head.length : Infinity;
        if (missing > bytes.length) {
          this.pending = concat(head, bytes);
          return;
        }
        const frame = concat(head, bytes.subarray(0, missing));
        this.pending = NO_BYTES;
        this.frames(frame, [0, frame.length], 0);
        pos = missing;
      }
      // Where the frames start: headers only, no payload is read yet.
      const starts = [];
      while (bytes.length - pos >= 8) {
        const size = frameSize(bytes, pos);
        if (bytes.length - pos - 8 < size) break;
        starts.push(pos);
        pos += 8 + size;
      }
      this.pending = pos < bytes.length ? bytes.slice(pos) : NO_BYTES;
      starts.push(pos); // the end of the last whole frame
      this.frames(bytes, starts, this.firstKept(bytes, starts));
    }

    // The first frame worth reading: the last `keep` lines need no more (frames that end no
    // line are pieces of the line a later frame ends).
    firstKept(data, starts) {
      let lines = 0;
      let first = starts.length - 1;
      while (first > 0) {
        if (data[starts[first] - 1] === 10) {
          if (lines === this.keep) break; // frame first-1 ends the line before the kept ones
          lines += 1;
        }
        first -= 1;
      }
      if (first > 0) {
        let dropped = 0;
        for (let i = 1; i <= first; i++) if (data[starts[i] - 1] === 10) dropped += 1;
        this.reset();
        this.onDrop(dropped);
      }
      return first;
    }

    frames(data, starts, first) {
      for (let i = first; i < starts.length - 1; i++) {
        const from = starts[i] + 8;
        const to = starts[i + 1];
        if (to === from) continue;
        const stream = data[starts[i]] === STDERR ? STDERR : STDOUT;
        const ends = data[to - 1] === 10;
        this.piece(stream, data, from, ends ? to - 1 : to, ends);
      }
    }

    // A TTY's raw stream: lines end at newlines; only the last `keep` lines are looked at.
    pushRaw(bytes) {
      const data = this.dropRaw(bytes);
      let start = 0;
      for (let newline = data.indexOf(10); newline >= 0; newline = data.indexOf(10, start)) {
        this.piece(STDOUT, data, start, newline, true);
        start = newline + 1;
      }
      if (start < data.length) this.piece(STDOUT, data, start, data.length, false);
    }

    dropRaw(bytes) {
      let cut = bytes.length;
      for (let lines = 0; lines <= this.keep; lines++) {
        cut = cut > 0 ? bytes.lastIndexOf(10, cut - 1) : -1;
        if (cut < 0) return bytes;
      }
      // `cut` ends the line before the kept ones: it and everything before it go unread.
      let dropped = 0;
      for (let at = bytes.indexOf(10); at >= 0 && at <= cut; at = bytes.indexOf(10, at + 1)) dropped += 1;
      this.reset();
      this.onDrop(dropped);
      return bytes.subarray(cut + 1);
    }

    // data[from, to) belongs to a line of `stream`, which it ends if `ends`.
    piece(stream, data, from, to, ends) {
      const partial = this.partial[stream];
      if (ends && !partial.length) {
        this.line(stream, data, from, to);
        return;
      }
      const joined = concat(partial, data.subarray(from, to));
      if (ends || joined.length > MAX_PARTIAL) {
        this.partial[stream] = NO_BYTES;
        this.line(stream, joined, 0, joined.length);
      } else {
        this.partial[stream] = joined; // an unfinished line waits for the rest
      }
    }

    line(stream, data, start, end) {
      let segment = this.segment;
      if (!segment || segment.stream !== stream || segment.data !== data) {
        this.close();
        segment = this.segment = { stream, data, bounds: [], first: 0, count: 0 };
      }
      segment.bounds.push(start, end);
      segment.count += 1;
    }

    close() {
      if (this.segment) this.onLines(this.segment);
      this.segment = null;
    }

    // Lines were dropped unread: an unfinished one belongs to them.
    reset() {
      this.partial = { [STDOUT]: NO_BYTES, [STDERR]: NO_BYTES };
    }

    // The stream ended: a last line without a newline (a prompt, `printf` before exit) is
    // still a line, and must not be glued to the first line of the next run.
    flush() {
      for (const stream of [STDOUT, STDERR]) {
        const rest = this.partial[stream];
        this.partial[stream] = NO_BYTES;
        if (rest.length) this.line(stream, rest, 0, rest.length);
      }
      this.close();
    }
  }

  const utf8 = new TextDecoder();

  // Line `index` of a segment (0 = its first line), decoded now.
  function lineText(segment, index) {
    if (segment.texts) return segment.texts[index];
    return utf8.decode(segment.data.subarray(segment.bounds[2 * index], segment.bounds[2 * index + 1]));
  }

  // Drop the first `count` lines of a list of segments (the oldest first).
  function dropFront(segments, count) {
    while (count > 0 && segments.length) {
      const segment = segments[0];
      if (segment.count <= count) {
        count -= segment.count;
        segments.shift();
      } else {
        segment.first += count;
        segment.count -= count;
        count = 0;
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
      this.resetQueues();
      this.lineCount = 0;
      this.replacedAt = -Infinity;
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
      if (!this.download) return; // a viewer without a Download link (a swarm service's logs)
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
      this.reader = this.makeReader(true);
      socket.onmessage = (event) => {
        if (typeof event.data === "string") this.control(JSON.parse(event.data));
        else {
          this.stats.frames += 1;
          this.reader.push(new Uint8Array(event.data));
        }
      };
      socket.onclose = (event) => {
        // Past the stream cap: the reason stays on screen; retrying would only be refused.
        if (event.code === TOO_MANY_STREAMS) return;
        this.setStatus("Disconnected — reconnecting…", "warn");
        setTimeout(() => this.socket === socket && this.connect(), 2000);
      };
    }

    makeReader(multiplexed) {
      return new LogReader(multiplexed, (segment) => this.enqueue(segment), {
        keep: this.maxLines,
        onDrop: (count) => {
          this.stats.lines += count;
        },
      });
    }

    control(msg) {
      this.reader.flush();
      if (msg.type === "skipped") {
        const text = `… ${formatBytes(msg.bytes)} of log not shown here: this page fell behind …`;
        this.enqueue({ stream: MARKER, texts: [text], first: 0, count: 1 });
      } else if (msg.type === "stream") {
        this.reader = this.makeReader(msg.multiplexed);
        this.setStatus("Following", "ok");
        // The server sends at most the lines a tab keeps; say so when more were asked for.
        this.note.hidden = !msg.capped;
        if (msg.capped) {
          this.note.textContent = `Showing at most the last ${msg.tail} lines, the most this page keeps. Download has the whole log.`;
        }
      } else if (msg.type === "state") {
        const text = {
          stopped: "Container stopped — waiting for it to start again",
          // A viewer of something else than a container (a swarm service) names it in `data-removed-text`.
          removed: this.root.dataset.removedText || "Container removed",
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

    // Lines wait in `queue` (newer than the page's last line, appended in order) or in
    // `backlog` (older than the page's first line, put in front newest first), as segments
    // (see LogReader). Together with the page they never hold more than maxLines: what would
    // be trimmed unseen is dropped, undecoded.
    enqueue(segment) {
      this.stats.lines += segment.count;
      this.queue.push(segment);
      this.queued += segment.count;
      if (this.queued > this.maxLines) {
        // More new lines than the page keeps: everything older goes at the next paint.
        dropFront(this.queue, this.queued - this.maxLines);
        this.queued = this.maxLines;
        this.backlog = [];
        this.backlogged = 0;
        this.replaceAll = true;
      } else if (this.backlogged) {
        const shown = this.replaceAll ? 0 : this.lineCount;
        const over = Math.min(this.backlogged + this.queued + shown - this.maxLines, this.backlogged);
        if (over > 0) {
          dropFront(this.backlog, over);
          this.backlogged -= over;
        }
      }
      this.schedulePaint();
    }

    resetQueues() {
      this.queue = [];
      this.queued = 0;
      this.backlog = [];
      this.backlogged = 0;
    }

    schedulePaint() {
      if (!this.painting) {
        this.painting = true;
        requestAnimationFrame(() => this.paint());
      }
    }

    renderLine(stream, text) {
      const div = document.createElement("div");
      if (stream === MARKER) {
        div.className = "line marker";
        div.textContent = text;
        return div;
      }
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

    // One batch of DOM writes per animation frame, at most PAINT_BUDGET_MS of it: what is
    // left waits for the next frame, so however fast lines come the tab stays responsive.
    // Lines live in chunks of CHUNK_LINES (the stylesheet lets the browser skip laying out
    // and painting chunks out of view): adding and trimming touch a few chunks, not every
    // line on the page.
    paint() {
      this.painting = false;
      const now = performance.now();
      // Lines to put in front of the page's first one this time.
      let olderLimit = Infinity;
      if (this.replaceAll) {
        // More lines came than the page keeps (a flood): whatever is painted now is replaced
        // by the next wave, so the page is replaced at most every OVERLOAD_PAINT_MS, painted
        // from the newest line backwards, a screenful at first.
        const wait = this.replacedAt + OVERLOAD_PAINT_MS - now;
        if (wait > 0) {
          this.paintLater(wait);
          return;
        }
        this.replacedAt = now;
        this.replaceAll = false;
        this.output.replaceChildren();
        this.lineCount = 0;
        this.backlog = this.queue;
        this.backlogged = this.queued;
        this.queue = [];
        this.queued = 0;
        olderLimit = CHUNK_LINES;
      } else if (now - this.replacedAt < OVERLOAD_PAINT_MS) {
        olderLimit = 0; // the older lines come once no new flood replaces them at once
      }
      if (!this.queued && !this.backlogged) return;
      let made = 0;
      const spent = () => ++made % 256 === 0 && performance.now() - now > PAINT_BUDGET_MS;
      const needle = this.findInput.value.toLowerCase();
      const newer = [];
      while (this.queued && !spent()) {
        const segment = this.queue[0];
        newer.push(this.renderQueued(segment, segment.first, needle));
        segment.first += 1;
        this.queued -= 1;
        if (--segment.count === 0) this.queue.shift();
      }
      const older = [];
      while (this.backlogged && older.length < olderLimit && !spent()) {
        const segment = this.backlog[this.backlog.length - 1];
        segment.count -= 1;
        this.backlogged -= 1;
        older.push(this.renderQueued(segment, segment.first + segment.count, needle));
        if (segment.count === 0) this.backlog.pop();
      }
      this.append(newer);
      this.prepend(older.reverse());
      this.trim();
      if (this.following) this.output.scrollTop = this.output.scrollHeight;
      else {
        this.unseen += newer.length + older.length;
        this.newCount.textContent = this.unseen;
      }
      if (needle) this.updateFindCount();
      this.root.dataset.lines = this.lineCount;
      if (this.queued || (this.backlogged && olderLimit === Infinity)) this.schedulePaint();
      else if (this.backlogged) this.paintLater(this.replacedAt + OVERLOAD_PAINT_MS - performance.now());
    }

    paintLater(wait) {
      this.painting = true;
      setTimeout(() => requestAnimationFrame(() => this.paint()), Math.max(0, wait));
    }

    renderQueued(segment, index, needle) {
      const line = this.renderLine(segment.stream, lineText(segment, index));
      if (needle && line.textContent.toLowerCase().includes(needle)) line.classList.add("match");
      return line;
    }

    chunk(lines) {
      const chunk = document.createElement("div");
      chunk.className = "chunk";
      chunk.append(...lines);
      return chunk;
    }

    append(lines) {
      let at = 0;
      const last = this.output.lastElementChild;
      if (last && last.childElementCount < CHUNK_LINES) {
        at = Math.min(CHUNK_LINES - last.childElementCount, lines.length);
        last.append(...lines.slice(0, at));
      }
      const fragment = document.createDocumentFragment();
      for (; at < lines.length; at += CHUNK_LINES) fragment.append(this.chunk(lines.slice(at, at + CHUNK_LINES)));
      this.output.append(fragment);
      this.lineCount += lines.length;
    }

    // `lines` (in log order) are older than the page's first line.
    prepend(lines) {
      let end = lines.length;
      const first = this.output.firstElementChild;
      if (first && first.childElementCount < CHUNK_LINES) {
        const take = Math.min(CHUNK_LINES - first.childElementCount, end);
        first.prepend(...lines.slice(end - take, end));
        end -= take;
      }
      const fragment = document.createDocumentFragment();
      let at = end % CHUNK_LINES;
      if (at) fragment.append(this.chunk(lines.slice(0, at)));
      for (; at < end; at += CHUNK_LINES) fragment.append(this.chunk(lines.slice(at, at + CHUNK_LINES)));
      this.output.prepend(fragment);
      this.lineCount += lines.length;
    }

    // The oldest lines past maxLines go in at most two DOM operations: the whole chunks
    // they fill, then the first lines of the next chunk.
    trim() {
      let extra = this.lineCount - this.maxLines;
      if (extra <= 0) return;
      this.lineCount -= extra;
      const first = this.output.firstElementChild;
      let keep = first;
      while (keep && keep.childElementCount <= extra) {
        extra -= keep.childElementCount;
        keep = keep.nextElementSibling;
      }
      const range = document.createRange();
      if (keep !== first) {
        range.setStartBefore(first);
        if (keep) range.setEndBefore(keep);
        else range.setEndAfter(this.output.lastElementChild);
        range.deleteContents();
      }
      if (keep && extra > 0) {
        range.setStartBefore(keep.firstElementChild);
        range.setEndBefore(keep.children[extra]);
        range.deleteContents();
      }
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
      this.resetQueues();
      this.replaceAll = false;
      this.output.replaceChildren();
      this.lineCount = 0;
      this.findIndex = -1;
      this.updateFindCount();
    }

    find() {
      const needle = this.findInput.value.toLowerCase();
      for (const line of this.output.querySelectorAll(".line")) {
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

  window.DockerwebLogs = { LogReader, LogViewer, appendAnsi, lineText };
  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-log-viewer]").forEach((root) => new LogViewer(root));
  });
})();
