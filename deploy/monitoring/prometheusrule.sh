#!/usr/bin/env bash
# Prints a Prometheus Operator PrometheusRule named vigil that holds every rule group of grafana/*.yml (the
# alert rules and the recording rules, unchanged), for a cluster with the Prometheus Operator:
#   deploy/monitoring/prometheusrule.sh | kubectl apply -f -
set -euo pipefail
cd "$(dirname "$0")/../.."
cat <<'HEADER'
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: vigil
  labels:
    app.kubernetes.io/name: vigil
spec:
  groups:
HEADER
for f in grafana/*.yml; do
  # A rule file is a top-level "groups:" list: its items, indented under spec.groups.
  if grep -q '^groups:' "$f"; then
    sed -e '1,/^groups:/d' -e 's/^\(.\)/  \1/' "$f"
  fi
done
