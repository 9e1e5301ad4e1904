// The Terminal tab: xterm.js talking to a shell in the container over a websocket.
//
// Binary frames are terminal bytes both ways; text frames are JSON: the page sends
// {"open": {command, user}, "size": [cols, rows]} once per socket, then {"resize": [cols,
// rows]} whenever the terminal's size changes (the window resized, debounced); the server
// answers {"type": "state", "state": "connected" | "ended" | "refused" | "stopped", ...}.
// Connect opens a socket on load with the automatic shell; the toolbar reconnects with
// another shell or user (the old terminal, and what it ran, ends first).
(() => {
  "use strict";
  const root = document.querySelector("[data-terminal]");
  if (!root || typeof Terminal === "undefined") return;

  const RESIZE_DEBOUNCE_MS = 150;
  const form = root.querySelector("[data-terminal-form]");
  const shell = root.querySelector("[data-terminal-shell]");
  const commandField = root.querySelector("[data-terminal-command-field]");
  const command = root.querySelector("[data-terminal-command]");
  const user = root.querySelector("[data-terminal-user]");
  const button = root.querySelector("[data-terminal-connect]");
  const status = root.querySelector("[data-terminal-status]");
  const screen = root.querySelector("[data-terminal-screen]");

  // xterm.js writes its (generated) CSS into <style> elements, which the portal's CSP
  // (style-src 'self') blocks — Chromium checks the policy even for a <style> of another
  // type. So where xterm.js asks for a <style> it gets an inert <template> (never rendered,
  // never a stylesheet), whose text is mirrored into a constructed stylesheet: those the
  // policy allows.
  function mirrorStyleElements() {
    const sheets = new Map();
    const publish = () => {
      document.adoptedStyleSheets = [...sheets.values()];
    };
    const sheetOf = (element) => {
      if (!sheets.has(element)) {
        sheets.set(element, new CSSStyleSheet());
        publish();
      }
      return sheets.get(element);
    };
    const create = document.createElement.bind(document);
    document.createElement = (tag, options) => {
      if (String(tag).toLowerCase() !== "style") return create(tag, options);
      const element = create("template");
      element.dataset.mirroredStyle = "";
      Object.defineProperty(element, "sheet", { get: () => sheetOf(element) });
      new MutationObserver(() => sheetOf(element).replaceSync(element.textContent || "")).observe(
        element,
        { childList: true, characterData: true, subtree: true },
      );
      const remove = element.remove.bind(element);
      element.remove = () => {
        remove();
        sheets.delete(element);
        publish();
      };
      return element;
    };
  }

  function terminalColours() {
    const color = window.dockerwebTheme.color;
    return {
      background: color("--log-bg"),
      foreground: color("--log-text"),
      cursor: color("--log-text"),
      selectionBackground: color("--log-muted", 0.5),
    };
  }

  mirrorStyleElements();
  const term = new Terminal({
    cursorBlink: true,
    fontFamily: 'ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace',
    fontSize: 13,
    scrollback: 5000,
    theme: terminalColours(),
  });
  // Another theme: the terminal takes its colours (the log colours of dockerweb.css) again.
  document.addEventListener("dockerweb:theme", () => {
    term.options.theme = terminalColours();
  });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(screen);
  fit.fit();

  const encoder = new TextEncoder();
  let socket = null;

  function setStatus(text, kind = "") {
    status.textContent = text;
    status.className = `terminal-status ${kind || "muted"}`;
  }

  function isOpen() {
    return socket !== null && socket.readyState === WebSocket.OPEN;
  }

  function sendBytes(bytes) {
    if (isOpen()) socket.send(bytes);
  }

  term.onData((data) => sendBytes(encoder.encode(data)));
  term.onBinary((data) => sendBytes(Uint8Array.from(data, (c) => c.charCodeAt(0))));
  term.onResize(({ cols, rows }) => {
    if (isOpen()) socket.send(JSON.stringify({ resize: [cols, rows] }));
  });

  let resizeTimer = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => fit.fit(), RESIZE_DEBOUNCE_MS);
  });

  function asked() {
    const choice = shell.value;
    return {
      command: choice === "other" ? command.value.trim() : choice,
      user: user.value.trim(),
    };
  }

  function onState(message) {
    if (message.state === "connected") {
      const who = message.user ? ` as ${message.user}` : "";
      setStatus(`Connected: ${message.command}${who}`, "connected");
      button.textContent = "Reconnect";
      term.focus();
    } else if (message.state === "ended") {
      setStatus(`Ended: ${message.reason}`, "ended");
    } else {
      setStatus(`No terminal: ${message.reason}`, "refused");
    }
  }

  function connect() {
    if (socket !== null) {
      socket.onclose = null;
      socket.close();
    }
    term.reset();
    setStatus("Connecting…");
    const url = new URL(root.dataset.wsUrl, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const current = new WebSocket(url);
    let opened = false;
    socket = current;
    current.binaryType = "arraybuffer";
    current.onopen = () => {
      opened = true;
      current.send(JSON.stringify({ open: asked(), size: [term.cols, term.rows] }));
    };
    current.onmessage = (event) => {
      if (typeof event.data === "string") onState(JSON.parse(event.data));
      else term.write(new Uint8Array(event.data));
    };
    current.onclose = (event) => {
      if (socket !== current) return;
      button.textContent = "Reconnect";
      if (!status.classList.contains("ended") && !status.classList.contains("refused")) {
        if (!opened) {
          setStatus("No terminal: the portal refused the connection (reload the page).", "refused");
        } else {
          setStatus("Ended: the connection closed.", "ended");
        }
      }
    };
  }

  shell.addEventListener("change", () => {
    commandField.hidden = shell.value !== "other";
    if (!commandField.hidden) command.focus();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    connect();
  });
  // Leaving the page ends the terminal at once (the server ends its processes).
  window.addEventListener("pagehide", () => {
    if (socket !== null) socket.close();
  });
  connect();
})();
