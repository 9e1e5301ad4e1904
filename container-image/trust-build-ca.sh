#!/bin/sh
# Build stages only: trust one more CA ($1, PEM text; empty = nothing to do), for builds
# behind a proxy that inspects TLS. The final image never runs this.
set -eu
[ -n "${1:-}" ] || exit 0
printf '%s\n' "$1" > /usr/local/share/ca-certificates/build-extra-ca.crt
update-ca-certificates >/dev/null
