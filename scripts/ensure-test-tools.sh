#!/usr/bin/env bash
# Tools the test suite needs besides the venv:
#   chromium        - browser tests (Playwright cannot download its own browser here)
#   busybox-static  - tests build tiny images from it (no image can be pulled)
#   docker-registry - a real registry for pull/push tests
#   openssh-server  - an sshd of the tests' own for SSH engines (tests/ssh_server.py; its
#                     Debian service is not used: the tests run `sshd -D -f <own config>`)
#   postgresql, redis-server, nginx - several portal processes on one database and channel
#                     layer behind one address (tests/services.py starts private ones; the
#                     packages' own services are not used)
#   debootstrap     - the container image test's Debian base (no base image can be pulled)
# and a running Docker engine (scripts/ensure-engine.sh).
set -euo pipefail

cd "$(dirname "$0")/.."
PKGS=(chromium busybox-static docker-registry openssh-server postgresql redis-server nginx debootstrap)

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }

if ! command -v dpkg-query >/dev/null; then
    echo "ensure-test-tools: not a Debian/Ubuntu system; make sure these are installed:" \
        "${PKGS[*]} (chromium at /usr/bin/chromium)" >&2
else
    missing=()
    for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
    if [ ${#missing[@]} -gt 0 ]; then
        if [ "$(id -u)" != 0 ]; then
            echo "ensure-test-tools: missing packages; run: sudo apt-get install ${missing[*]}" >&2
            exit 1
        fi
        echo "ensure-test-tools: installing ${missing[*]} with apt-get..."
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q >/dev/null
        apt-get install -y -q "${missing[@]}" >/dev/null
    fi
fi

scripts/ensure-engine.sh
