// The theme: Light, Dark or Automatic (the browser's prefers-color-scheme).
//
// The server renders the user's choice as <html data-theme>, so the first paint is right; the
// toggle's buttons (preferences/_theme_toggle.html) are a plain form that works without this
// script. Here a choice applies at once and is saved in the background. Scripts that draw
// with colours (the Stats charts, the terminal) read them from the CSS custom properties of
// dockerweb.css with `dockerwebTheme.color(name)` and listen for "dockerweb:theme", sent
// whenever the colours may have changed: a choice here, or the system's own switch while
// on Automatic.
(() => {
  "use strict";
  const root = document.documentElement;
  const systemDark = window.matchMedia("(prefers-color-scheme: dark)");

  function announce() {
    document.dispatchEvent(new CustomEvent("dockerweb:theme", { detail: { theme: root.dataset.theme } }));
  }

  // A custom property's colour as the browser resolves it now (light-dark() included), as
  // "rgb(…)" or, with `alpha`, "rgba(…)". A probe element's computed colour does the work.
  let probe = null;
  function color(name, alpha) {
    if (probe === null) {
      probe = document.createElement("span");
      probe.hidden = true;
      document.body.append(probe);
    }
    probe.style.color = `var(${name})`;
    const resolved = getComputedStyle(probe).color;
    if (alpha === undefined) return resolved;
    const [r, g, b] = resolved.match(/[\d.]+/g);
    return `rgba(${r}, ${g}, ${b}, ${alpha})`;
  }

  function choose(form, theme) {
    const before = root.dataset.theme;
    root.dataset.theme = theme;
    for (const button of form.querySelectorAll("button[name=theme]")) {
      button.setAttribute("aria-pressed", String(button.value === theme));
    }
    announce();
    const body = new FormData(form);
    body.set("theme", theme);
    fetch(form.action, {
      method: "POST",
      body,
      headers: { "X-Requested-With": "fetch" },
      credentials: "same-origin",
    }).then((response) => {
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
    }).catch(() => {
      // Not saved (logged out, server away): the page says so by going back to what is kept.
      root.dataset.theme = before;
      for (const button of form.querySelectorAll("button[name=theme]")) {
        button.setAttribute("aria-pressed", String(button.value === before));
      }
      announce();
    });
  }

  document.addEventListener("submit", (event) => {
    const form = event.target.closest("[data-theme-toggle]");
    if (!form || !event.submitter || event.submitter.name !== "theme") return;
    event.preventDefault();
    choose(form, event.submitter.value);
  });

  systemDark.addEventListener("change", () => {
    if (root.dataset.theme !== "light" && root.dataset.theme !== "dark") announce();
  });

  window.dockerwebTheme = { color };
})();
