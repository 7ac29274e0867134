#!/usr/bin/env bash
# Installs what Tani needs on a fresh Debian machine with Node and npm: the npm packages
# (which bring Node 24 with them) and Debian's InfluxDB server. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: the InfluxDB server always; for the tests (--tests) also Mosquitto (the
# processor against an external broker) and Chromium (the service worker in a real browser).
need=()
command -v influxd >/dev/null 2>&1 || need+=(influxdb)
if [ "${1:-}" = "--tests" ]; then
  command -v mosquitto >/dev/null 2>&1 || need+=(mosquitto)
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "tani: installing ${need[*]} from Debian (apt-get install -y ${need[*]})…" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
    # Debian may start its own services on :8086 and :1883; Tani runs its own instances.
    if command -v systemctl >/dev/null 2>&1; then
      systemctl disable --now influxdb mosquitto >/dev/null 2>&1 || true
    fi
  else
    echo "tani: missing Debian packages. Install them with:  sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi

# node_modules is current when it was installed after the last change of the lock file.
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "tani: installing npm packages…" >&2
  # `npm install`, not `npm ci`: the lock leaves out the optional per-platform packages
  # of Biome whose exact version the registry mirror lacks, which `npm ci` refuses.
  npm install --no-audit --no-fund --loglevel=error
fi
