#!/usr/bin/env bash
# Installs what Tani needs on a fresh Debian machine with Node and npm: the npm packages
# (which bring Node 24 with them) and Debian's InfluxDB server. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v influxd >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    echo "tani: installing InfluxDB from Debian (apt-get install -y influxdb)…" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq influxdb >/dev/null
    # Debian starts its own influxd on :8086; Tani runs its own with its own config.
    if command -v systemctl >/dev/null 2>&1; then systemctl disable --now influxdb >/dev/null 2>&1 || true; fi
  else
    echo "tani: InfluxDB is missing. Install it with:  sudo apt-get install -y influxdb" >&2
    exit 1
  fi
fi

# node_modules is current when it was installed after the last change of the lock file.
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "tani: installing npm packages (npm ci)…" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
