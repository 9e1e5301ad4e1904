"""Front-end packages come from npm (package.json + package-lock.json, `npm ci` in the
Makefile) and are served through static files: never committed, never from a CDN."""

import json
import subprocess
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders

ROOT = Path(settings.BASE_DIR)
SERVED = (
    "vendor/xterm/lib/xterm.js",
    "vendor/xterm/css/xterm.css",
    "vendor/xterm-addon-fit/addon-fit.js",
    "vendor/uplot/uPlot.iife.min.js",
    "vendor/uplot/uPlot.min.css",
)


def test_each_package_is_declared_pinned_and_locked():
    declared = json.loads((ROOT / "package.json").read_text())["dependencies"]
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    for name in ("@xterm/xterm", "@xterm/addon-fit", "uplot", "axe-core"):
        assert declared[name][0].isdigit(), f"{name} is pinned to one version"
        assert locked[f"node_modules/{name}"]["version"] == declared[name]
        assert locked[f"node_modules/{name}"]["integrity"].startswith("sha512-")


def test_the_installed_packages_are_served_as_static_files():
    for path in SERVED:
        found = finders.find(path)
        assert found and Path(found).is_relative_to(ROOT / "node_modules"), path


def test_nothing_from_node_modules_is_committed():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert not [p for p in tracked if p.startswith("node_modules/") or "/vendor/" in p]
    # Without the slash: a worktree's node_modules may be a link to another's, not a folder.
    assert "node_modules" in (ROOT / ".gitignore").read_text().splitlines()
