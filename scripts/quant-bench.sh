#!/usr/bin/env bash
# Runs QuantizationBench (tests module) from this checkout's compiled classes, without installing snapshots into
# ~/.m2: Vigil's live-calibrated static int8 exports against float and the published int8 MiniLM, and the exporter
# models' int8 accuracy. Args: evaluation sentences (default 240), latency rounds (default 3), and `minilm` to
# measure MiniLM only.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mvn -B -o -q -pl probes,server,exporter,tests test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/bench-cp.txt -Dmdep.includeScope=test
# A -cp of a few KB made ONNX Runtime's native load crash (SIGSEGV) here: a manifest-only jar carries the path.
dir="$root/tests/target/quant-bench"
mkdir -p "$dir"
urls="file://$root/tests/target/test-classes/ file://$root/tests/target/classes/"
IFS=":" read -r -a entries < "$root/tests/target/bench-cp.txt" || true  # no newline at the end
for e in "${entries[@]}"; do
  if [[ "$e" == *.jar ]]; then urls+=" file://$e"; else urls+=" file://${e%/}/"; fi
done
{ echo "Manifest-Version: 1.0"; printf 'Class-Path: %s\n' "$urls" | fold -b -w 70 | sed '1!s/^/ /'; } > "$dir/MANIFEST.MF"
jar cfm "$dir/classpath.jar" "$dir/MANIFEST.MF"
cd "$root/tests"
DJL_OFFLINE=true OPT_OUT_TRACKING=true exec java -Dai.djl.offline=true -DOPT_OUT_TRACKING=true --add-modules jdk.incubator.vector \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$dir/classpath.jar" dev.vigil.tests.quant.QuantizationBench "$@"
