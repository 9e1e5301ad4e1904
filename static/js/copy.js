// Copy buttons beside truncated values (templates/_copy.html): <button data-copy="full value">.
// navigator.clipboard needs a secure context (https or localhost); a portal served over
// plain http on the LAN gets the older execCommand("copy") on a hidden textarea instead.
(() => {
  "use strict";
  const SHOWN_MS = 1500;

  async function writeClipboard(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch {
        // Refused (no permission, document not focused): try the fallback.
      }
    }
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "copy-buffer";
    document.body.append(area);
    area.select();
    let copied = false;
    try {
      copied = document.execCommand("copy");
    } catch {
      copied = false;
    }
    area.remove();
    return copied;
  }

  // One polite live region for the page, made on first use: screen readers hear the result.
  function announce(text) {
    let region = document.getElementById("copy-announcer");
    if (!region) {
      region = document.createElement("div");
      region.id = "copy-announcer";
      region.className = "visually-hidden";
      region.setAttribute("role", "status");
      document.body.append(region);
    }
    region.textContent = text;
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-copy]");
    if (!button) return;
    const copied = await writeClipboard(button.dataset.copy);
    button.textContent = copied ? "Copied" : "Copy failed";
    button.dataset.copied = copied ? "yes" : "no";
    announce(copied ? "Copied" : "Copy failed: select the text and copy it instead");
    clearTimeout(button.copyTimer);
    button.copyTimer = setTimeout(() => {
      button.textContent = "Copy";
      delete button.dataset.copied;
    }, SHOWN_MS);
  });
})();
