#!/usr/bin/env bash
# Runs every fuzz target of the module for the given time each (default 30s):
#   ./scripts/fuzz.sh 5m
# New crashers land in the package's testdata/fuzz/ corpus: commit them.
set -euo pipefail
cd "$(dirname "$0")/.."
t="${1:-30s}"
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "fuzz $pkg $f ($t)"
    if ! go test -run='^$' -fuzz="^${f}\$" -fuzztime="$t" "$pkg" >/tmp/fuzz.$$.log 2>&1; then
      # The Go fuzzer can report "context deadline exceeded" when -fuzztime
      # ends while it is shrinking a new interesting input: no failing input,
      # nothing written to testdata. That is not a finding.
      if grep -q "context deadline exceeded" /tmp/fuzz.$$.log && ! grep -q "Failing input" /tmp/fuzz.$$.log; then
        echo "  (fuzzer stopped while minimizing at the deadline: not a failure)"
        continue
      fi
      cat /tmp/fuzz.$$.log
      exit 1
    fi
  done
done
rm -f /tmp/fuzz.$$.log
