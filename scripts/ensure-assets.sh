#!/usr/bin/env bash
# Front-end packages (xterm.js, uPlot, ...): declared in package.json, pinned by
# package-lock.json, installed into node_modules/ with `npm ci` and served from there by
# Django's static files (settings.VENDOR_ASSETS). Nothing of them is committed.
# Installs Debian's nodejs and npm when they are missing (as root), and runs `npm ci` only
# when the lock file changed since the last install, so `make run` stays quick.
set -euo pipefail

cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        echo "ensure-assets: npm is missing; install Node.js and npm (Debian: apt-get install nodejs npm)" >&2
        exit 1
    fi
    echo "ensure-assets: installing nodejs and npm with apt-get..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q nodejs npm >/dev/null
fi

# npm ci writes node_modules/.package-lock.json: newer than the lock file = up to date.
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
    echo "ensure-assets: npm ci..."
    npm ci --no-audit --no-fund --loglevel=error
    touch "$stamp"
fi
