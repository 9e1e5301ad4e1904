#!/usr/bin/env bash
# Make sure a Docker engine answers at $DOCKER_HOST (default: the local socket).
# If none does and we can (root, apt-based distro, default local socket), install docker.io
# when dockerd is missing and start dockerd in the background. Otherwise explain and exit 1.
# Usage: scripts/ensure-engine.sh [--quiet]
set -euo pipefail

cd "$(dirname "$0")/.."
QUIET=0
[ "${1:-}" = "--quiet" ] && QUIET=1

LOCAL_SOCK=/var/run/docker.sock
HOST=${DOCKER_HOST:-unix://$LOCAL_SOCK}
PIDFILE=/var/run/docker.pid

say() { [ "$QUIET" = 1 ] || echo "$*"; }
die() { echo "ensure-engine: ERROR: $*" >&2; exit 1; }

# Ask the engine for /_ping. Any one method that succeeds counts: a too-old or too-new
# docker client can fail where the API itself answers, and we must not start a second engine.
ping_engine() {
    if command -v docker >/dev/null &&
        DOCKER_HOST=$HOST timeout 10 docker version >/dev/null 2>&1; then
        return 0
    fi
    local url
    case "$HOST" in
        unix://*) url=(--unix-socket "${HOST#unix://}" http://localhost/_ping) ;;
        tcp://*) url=("http://${HOST#tcp://}/_ping") ;;
        *) return 1 ;;  # ssh:// etc.: only the docker client can talk to it
    esac
    if command -v curl >/dev/null; then
        [ "$(curl -sS --max-time 5 "${url[@]}" 2>/dev/null)" = OK ]
        return
    fi
    # No curl: a few lines of Python (always present here, the portal needs it).
    python3 - "$HOST" <<'EOF' 2>/dev/null
import http.client, socket, sys
host = sys.argv[1]
if host.startswith("unix://"):
    conn = http.client.HTTPConnection("localhost", timeout=5)
    conn.sock = socket.socket(socket.AF_UNIX)
    conn.sock.settimeout(5)
    conn.sock.connect(host[len("unix://"):])
else:
    conn = http.client.HTTPConnection(host[len("tcp://"):], timeout=5)
conn.request("GET", "/_ping")
sys.exit(conn.getresponse().read() != b"OK")
EOF
}

# PID from the pid file if that process is still a live dockerd (guards against PID reuse).
lingering_dockerd() {
    local pid
    pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] && echo "$pid"
}

# Poll up to 60 s for the engine; fail early if dockerd process $1 (when given) exits.
wait_for_engine() {
    for _ in $(seq 120); do
        ping_engine && return 0
        if [ -n "${1:-}" ] && ! kill -0 "$1" 2>/dev/null; then return 1; fi
        sleep 0.5
    done
    return 1
}

if ping_engine; then
    say "Docker engine: OK at $HOST"
    exit 0
fi

# --- Nothing answers. Only start one ourselves where that is safe and expected. ---
help_and_exit() {
    cat >&2 <<EOF
ensure-engine: no Docker engine answers at $HOST ($1).
Start one, or point DOCKER_HOST at an engine you can reach, e.g.:
  sudo systemctl start docker                       # local engine under systemd
  export DOCKER_HOST=unix:///run/user/\$UID/docker.sock   # rootless Docker
  export DOCKER_HOST=ssh://user@host                # remote engine over SSH
  export DOCKER_HOST=tcp://host:2375                # remote engine over TCP
EOF
    exit 1
}
case "$HOST" in
    "unix://$LOCAL_SOCK" | unix:///run/docker.sock) ;;
    *) help_and_exit "DOCKER_HOST is not the local default socket, so not starting one" ;;
esac
[ "$(id -u)" = 0 ] || help_and_exit "not root, so not starting one"
{ [ -f /etc/debian_version ] && command -v apt-get >/dev/null; } ||
    help_and_exit "not a Debian/Ubuntu system, so not starting one"

# A dockerd from an earlier start may still be coming up or shutting down: while it lives
# a new one refuses to start ("pid file found"), so wait for it to answer or to exit.
wait_lingering() {
    local pid
    pid=$(lingering_dockerd) || return 0
    say "A dockerd (pid $pid) is still running; waiting for it..."
    if wait_for_engine "$pid"; then
        say "Docker engine: OK at $HOST"
        exit 0
    fi
    # Still alive but silent after 60 s: don't fight it.
    if lingering_dockerd >/dev/null; then
        die "dockerd (pid $pid) runs but does not answer at $HOST; stop it and retry"
    fi
}

if ! command -v dockerd >/dev/null; then
    say "Installing docker.io with apt-get..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q docker.io >/dev/null
fi
# (The package's own init/systemd hooks may just have started an engine; that's caught here.)
wait_lingering

# On a systemd host use its unit (a stray dockerd would clash with docker.socket);
# in containers and CI there is no systemd, so run dockerd ourselves.
if [ -d /run/systemd/system ] && systemctl start docker.service 2>/dev/null; then
    wait_for_engine || die "docker.service started but no engine answers; see: journalctl -u docker"
    say "Started a Docker engine (systemd unit docker.service)"
    exit 0
fi

DATA_DIR=${DOCKERWEB_DATA_DIR:-./var}
mkdir -p "$DATA_DIR"
LOG="$(cd "$DATA_DIR" && pwd)/dockerd.log"
# setsid: own session, so it outlives make/CI steps and gets no terminal signals.
setsid dockerd --host "unix://$LOCAL_SOCK" >>"$LOG" 2>&1 </dev/null &
DPID=$!
if ! wait_for_engine "$DPID"; then
    # Ours exited early: maybe it lost a race to another dockerd that is now starting.
    kill -0 "$DPID" 2>/dev/null || wait_lingering
    echo "ensure-engine: ERROR: dockerd did not come up; last lines of $LOG:" >&2
    tail -n 20 "$LOG" >&2
    exit 1
fi
say "Started a Docker engine (log: $LOG)"
