// Swarm pages: the engine's service, node and task events arrive on the swarm socket as
// {"type": "changed"}; the live part of the page (#swarm-live, an htmx element listening for
// "swarm-changed") fetches itself again. The socket reconnects after the engine or the
// network went away, and a reconnect re-renders too (what changed meanwhile).
(() => {
  "use strict";
  const TOO_MANY_STREAMS = 4429;

  function follow(root) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}${root.dataset.swarmEventsUrl}`);
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "changed") {
        document.body.dispatchEvent(new CustomEvent("swarm-changed"));
      }
      root.dataset.swarmSocket = message.type === "state" ? message.state : "following";
    };
    socket.onclose = (event) => {
      root.dataset.swarmSocket = "closed";
      if (event.code === TOO_MANY_STREAMS) return;
      setTimeout(() => follow(root), 3000);
    };
    window.addEventListener("pagehide", () => socket.close(), { once: true });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const root = document.querySelector("[data-swarm-events-url]");
    if (root) follow(root);
  });
})();
