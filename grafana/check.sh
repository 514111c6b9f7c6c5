#!/usr/bin/env bash
# Validates the Prometheus side of grafana/: the scrape config, the alert and fleet recording rules, and the rules'
# unit tests. Needs promtool (Debian package `prometheus`). Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v promtool >/dev/null; then
  echo "check.sh: promtool not found; install it with: apt-get install prometheus" >&2
  exit 2
fi
promtool check config prometheus.yml
promtool check rules alerts.yml fleet-rules.yml
promtool test rules tests/alerts_test.yml tests/fleet_rules_test.yml
