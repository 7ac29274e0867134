#!/usr/bin/env bash
# The whole system on one machine: InfluxDB, broker, processor and a small simulated farm.
# Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/ensure-deps.sh
# Two malloc arenas, as `npm start` and the image (README, "Running the services yourself").
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
exec node_modules/.bin/node --max-semi-space-size=8 deploy/demo.ts "$@"
