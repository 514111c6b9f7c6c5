#!/usr/bin/env bash
# Runs the exporter's command line (dev.vigil.exporter.ExporterCli) from this checkout: builds the exporter
# module with the reactor (nothing is installed into ~/.m2), then runs it with its runtime classpath.
#   scripts/exporter.sh train --help
#   scripts/exporter.sh train --arch prenorm --seq-len 256 --pairs 2 --epochs 5 --steps 200 --lr 0.001
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DJL_OFFLINE=true OPT_OUT_TRACKING=true
mvn -B -q -ntp -pl exporter -am -DskipTests package dependency:build-classpath \
  -Dmdep.outputFile=target/runtime-cp.txt -Dmdep.includeScope=runtime
exec java -Dai.djl.offline=true -DOPT_OUT_TRACKING=true \
  -cp "$root/exporter/target/classes:$(cat exporter/target/runtime-cp.txt)" dev.vigil.exporter.ExporterCli "$@"
