#!/usr/bin/env bash
# Runs QuantizationBench (tests module) from this checkout's compiled classes, without installing snapshots into
# ~/.m2: Vigil's live-calibrated static int8 exports against float and the published int8 MiniLM, and the exporter
# models' int8 accuracy. Args: evaluation sentences (default 240), latency rounds (default 3), and `minilm` to
# measure MiniLM only. The build and classpath are probe-bench.sh's.
exec "$(dirname "$0")/probe-bench.sh" quant "$@"
