#!/usr/bin/env bash
# The whole system on one machine: InfluxDB, broker, processor and a small simulated farm.
# Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/ensure-deps.sh
exec node_modules/.bin/node --max-semi-space-size=8 deploy/demo.ts "$@"
