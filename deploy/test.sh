#!/usr/bin/env bash
# The whole test suite: typecheck, lint, unit and integration tests (real influxd, broker,
# MQTT clients). The last line is the summary CI reads: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash deploy/ensure-deps.sh --tests || exit 1
export PATH="$PWD/node_modules/.bin:$PATH"
mkdir -p .tani
rm -f .tani/vitest.json .tani/checks.txt

check() {
  local name="$1"; shift
  echo "── $name: $*"
  if "$@"; then echo "$name passed" >>.tani/checks.txt; else echo "$name failed" >>.tani/checks.txt; fi
}

check typecheck npm run --silent typecheck
check lint npm run --silent lint
echo "── tests: vitest run (unit, then integration)"
vitest run --reporter=default --reporter=json --outputFile.json=.tani/vitest.json
node deploy/test-summary.ts .tani/vitest.json .tani/checks.txt
