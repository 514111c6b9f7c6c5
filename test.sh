#!/usr/bin/env bash
# Runs every test: unit, end-to-end against a started server, and the Prometheus/promtool checks.
set -euo pipefail
cd "$(dirname "$0")"
export DJL_OFFLINE=true OPT_OUT_TRACKING=true
mvn -B -ntp verify
if [ -x grafana/check.sh ]; then
  grafana/check.sh
fi
