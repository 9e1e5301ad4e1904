#!/usr/bin/env bash
# Create the virtualenv and install requirements.txt into it.
# Quick no-op when requirements.txt has not changed since the last successful install
# (its sha256 is kept in $VENV_DIR/.requirements.sha256).
# VENV_DIR overrides the location (default: .venv in the repo root), e.g. for testing.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV_DIR=${VENV_DIR:-.venv}
REQS=requirements.txt
STAMP="$VENV_DIR/.requirements.sha256"

say() { echo "bootstrap-venv: $*"; }
die() { echo "bootstrap-venv: ERROR: $*" >&2; exit 1; }

# True if interpreter $1 runs and is Python >= 3.11.
py_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }

# Hash with Python rather than sha256sum so it also works where coreutils differ (macOS).
req_hash() { "$VENV_DIR/bin/python" -c \
    'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$REQS"; }

[ -f "$REQS" ] || die "$REQS not found in $(pwd)"

# A venv whose interpreter no longer runs (Python upgraded or removed) or is too old is useless.
if [ -d "$VENV_DIR" ] && ! py_ok "$VENV_DIR/bin/python"; then
    say "$VENV_DIR is broken or older than Python 3.11; recreating it"
    rm -rf "$VENV_DIR"
fi

if [ ! -d "$VENV_DIR" ]; then
    PY=$(command -v python3.11 || command -v python3 || true)
    [ -n "$PY" ] || die "no python3 found; install Python 3.11 or newer"
    py_ok "$PY" || die "$PY is $("$PY" -V 2>&1); Python 3.11 or newer is required"

    say "creating $VENV_DIR with $PY ($("$PY" -V 2>&1))"
    if ! "$PY" -m venv "$VENV_DIR"; then
        # Debian/Ubuntu ship venv/ensurepip separately (python3-venv).
        rm -rf "$VENV_DIR"  # a failed attempt leaves a half-made venv without pip
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            say "venv module unusable; installing python3-venv python3-pip with apt-get"
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -q >/dev/null
            apt-get install -y -qq python3-venv python3-pip >/dev/null
            "$PY" -m venv "$VENV_DIR" || { rm -rf "$VENV_DIR"; die "'$PY -m venv' still fails"; }
        else
            die "'$PY -m venv' failed; on Debian/Ubuntu run: sudo apt-get install python3-venv python3-pip"
        fi
    fi
fi

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(req_hash)" ]; then
    say "$VENV_DIR is up to date"
    exit 0
fi

say "installing $REQS into $VENV_DIR"
# Remove the stamp first so an interrupted install is retried next time.
rm -f "$STAMP"
PIP_NO_INPUT=1 "$VENV_DIR/bin/python" -m pip install --disable-pip-version-check -q -r "$REQS"
req_hash > "$STAMP"
say "done"
