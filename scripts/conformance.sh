#!/usr/bin/env bash
# Runs the official Engine.IO v4 and Socket.IO v5 protocol suites against
# examples/conformance (see ../shared/conformance/README.md).
#
#   MIRROR_DIR=/work/.mirror ./scripts/conformance.sh [PORT]
#
# The suites are not ours: they are copied out of a snapshot of
# socketio/socket.io at run time. Without that snapshot this script says so
# and exits 0 unless CONFORMANCE_REQUIRED=1.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${1:-3000}"
shared="${SHARED_DIR:-$(cd .. && pwd)/shared}"
[ -d "$shared/conformance" ] || shared="$(cd ../.. && pwd)/shared"
mirror="${MIRROR_DIR:-}"
if [ -z "$mirror" ]; then
  for d in /work/.mirror "$(cd .. && pwd)/.mirror"; do
    [ -d "$d/socketio+socket.io" ] && mirror="$d" && break
  done
fi
if [ ! -d "$shared/conformance" ] || [ -z "$mirror" ] || [ ! -d "$mirror/socketio+socket.io" ]; then
  echo "conformance: SKIPPED — no snapshot of socketio/socket.io (MIRROR_DIR) or no shared/conformance here"
  [ "${CONFORMANCE_REQUIRED:-0}" = 1 ] && exit 1
  exit 0
fi
work=$(mktemp -d)
trap 'kill $srv 2>/dev/null || true; rm -rf "$work"' EXIT
cp -r "$shared/conformance/." "$work/"
chmod -R u+w "$work"
(cd "$work" && npm ci --no-audit --no-fund >/dev/null)
go build -o "$work/riptide-conformance" ./examples/conformance
"$work/riptide-conformance" -addr "127.0.0.1:$port" &
srv=$!
for _ in $(seq 50); do
  (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
cd "$work"
# The suites hinge on 200 ms pong deadlines: on a loaded machine the Node
# reference loses a test now and then too (conformance README, "Timing").
# A run counts when both suites pass; five tries at most.
for try in 1 2 3 4 5; do
  if MIRROR_DIR="$mirror" ./run.sh all "$port" >"$work/run.log" 2>&1; then
    grep RESULT "$work/run.log"
    echo "conformance: both suites pass (try $try)"
    exit 0
  fi
  grep RESULT "$work/run.log" || tail -20 "$work/run.log"
done
echo "conformance: FAILED five times"
grep -B2 -A12 "  1) " "$work/run.log" | tail -40
exit 1
