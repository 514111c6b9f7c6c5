#!/usr/bin/env bash
# Runs a bench from this checkout's compiled classes, without installing snapshots into ~/.m2.
# Args go to ProbeBench: requests per variant (default 60), concurrency (default 2), warm-up rounds (default 1).
# "scripts/probe-bench.sh profile [model batch tokens rounds [padded]]" runs ProbeCostProfile instead: ORT time with
# and without taps, and each statistic's CPU time per request on the real taps ("padded": right-padded sequences).
# "scripts/probe-bench.sh quantcost [model batch tokens rounds]" runs QuantCostBench: the quantization-range statistic
# alone on real taps next to the memory-bandwidth floor (one SIMD read of the same bytes).
# "scripts/probe-bench.sh ingraph [model batch tokens rounds]" runs InGraphBench: bytes leaving the run and time per
# request with the statistics on the host vs reduced in the graph (CPU).
# "scripts/probe-bench.sh serving [requests-at-batch-1 requests-at-batch-8 jit-warm-up]" runs ServingBench: bare
# ONNX Runtime vs Vigil over HTTP on MiniLM (a keep-alive client in the same JVM; at batch 1 also wrk when installed,
# and the JDK's HTTP client), after short requests that let the JIT compile the serving path.
# "scripts/probe-bench.sh soak [seconds concurrency interval [probe-warmup-ms]]" runs Soak: Vigil in its own JVM on the bundled models
# under steady load, one row per interval (throughput, p50/p99, RSS, heap, direct memory, threads, dropped probes).
# "scripts/probe-bench.sh batching [...]" runs BatchingBench: dynamic batching off vs on (docs/BENCHMARKS.md).
# "scripts/probe-bench.sh shadow [requests concurrency]" runs ShadowBench: shadow int8 off, at 0.05 and at 1.0.
# "scripts/probe-bench.sh quant [...]" runs QuantizationBench (scripts/quant-bench.sh).
# BENCH_JAVA_OPTS adds JVM options, e.g. BENCH_JAVA_OPTS=-XX:StartFlightRecording=filename=bench.jfr,settings=profile
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mvn -B -q -ntp -pl probes,server,exporter,tests test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/bench-cp.txt -Dmdep.includeScope=test
# A -cp of a few KB made ONNX Runtime's native load crash (SIGSEGV) here: a manifest-only jar carries the path.
dir="$root/tests/target/bench"
mkdir -p "$dir"
urls="file://$root/tests/target/test-classes/ file://$root/tests/target/classes/"
urls+=" file://$root/probes/target/test-classes/ file://$root/server/target/test-classes/"
IFS=":" read -r -a entries < "$root/tests/target/bench-cp.txt" || true  # no newline at the end
for e in "${entries[@]}"; do
  if [[ "$e" == *.jar ]]; then urls+=" file://$e"; else urls+=" file://${e%/}/"; fi
done
{ echo "Manifest-Version: 1.0"; printf 'Class-Path: %s\n' "$urls" | fold -b -w 70 | sed '1!s/^/ /'; } > "$dir/MANIFEST.MF"
jar cfm "$dir/classpath.jar" "$dir/MANIFEST.MF"
main=dev.vigil.tests.probes.ProbeBench
log_level=info
case "${1:-}" in
  profile) main=dev.vigil.probes.stats.ProbeCostProfile; shift ;;
  ingraph) main=dev.vigil.probes.stats.InGraphBench; shift ;;
  quantcost) main=dev.vigil.probes.stats.QuantCostBench; shift ;;
  serving) main=dev.vigil.tests.ServingBench; shift ;;
  soak) main=dev.vigil.tests.soak.Soak; shift ;;
  batching) main=dev.vigil.tests.BatchingBench; shift ;;
  shadow) main=dev.vigil.tests.probes.ShadowBench; shift ;;
  json) main=dev.vigil.server.JsonOutputBench; shift ;;
  quant) main=dev.vigil.tests.quant.QuantizationBench; log_level=warn; shift ;;
esac
cd "$root/tests"
DJL_OFFLINE=true OPT_OUT_TRACKING=true exec java -Dai.djl.offline=true -DOPT_OUT_TRACKING=true --add-modules jdk.incubator.vector \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=$log_level ${BENCH_JAVA_OPTS:-} -cp "$dir/classpath.jar" "$main" "$@"
