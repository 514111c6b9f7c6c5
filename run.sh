#!/usr/bin/env bash
# Builds Vigil and starts it on the bundled models (models/). Server flags pass through, e.g.
#   ./run.sh --port 8080
#   ./run.sh --demo-traffic        # also drives steady, varied traffic at every bundled model
set -euo pipefail
cd "$(dirname "$0")"
export DJL_OFFLINE=true OPT_OUT_TRACKING=true

demo=false
args=()
for a in "$@"; do
  if [ "$a" = "--demo-traffic" ]; then demo=true; else args+=("$a"); fi
done
# models/ and port 8080 unless the flags given name their own.
port=8080
has_port=false
has_models=false
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --port=*) port="${args[$i]#--port=}"; has_port=true ;;
    --port) port="${args[$((i + 1))]:-}"; has_port=true ;;
    --models|--models=*) has_models=true ;;
  esac
done
defaults=()
$has_models || defaults+=(--models models)
$has_port || defaults+=(--port "$port")

# The build: one line per module as it starts; the whole Maven log is kept in target/run-build.log.
mkdir -p target
build_log=target/run-build.log
echo "run.sh: building Vigil (mvn package; the first build downloads dependencies and takes minutes)"
strip_ansi() { sed -u $'s/\x1b\\[[0-9;]*m//g'; }
if ! mvn -B -ntp -DskipTests package -pl server -am 2>&1 | strip_ansi | tee "$build_log" \
    | sed -un 's/^\[INFO\] Building \(Vigil [^ ].*[^ ]\) *\[\([0-9]*\/[0-9]*\)\]$/  building \1 (\2)/p; s/^\[INFO\] \(BUILD SUCCESS\|Total time:.*\)/  \1/p'; then
  echo "run.sh: the build failed; the end of $build_log:" >&2
  tail -n 40 "$build_log" >&2
  exit 1
fi

server_log=target/run-server.log
# Heap and direct memory capped above the default budgets (docs/LIMITS.md): direct >= probe buffers + bodies + 256m.
# The vector module lets the attention statistics run in SIMD lanes (docs/PROBES.md, "Cost"). The JVM announces
# every incubator module on stderr; the module is asked for on purpose here, so exactly that one line is left out.
# Every other line of stdout and stderr reaches the terminal and the log.
incubator_notice='WARNING: Using incubator modules: jdk.incubator.vector'
# Emptied before the start: the wait below must not read the address line of a previous run's log.
: > "$server_log"
java -Xmx1g -XX:MaxDirectMemorySize=1792m --add-modules jdk.incubator.vector -jar server/target/vigil.jar "${defaults[@]}" "${args[@]}" \
  > >(grep --line-buffered -vxF "$incubator_notice" | tee "$server_log") 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT INT TERM

# Wait for the server's address line (the port is the chosen one with --port 0), then say where to look.
url=""
for ((s = 0; s < 600; s++)); do
  url=$(grep -o 'Vigil listening on http://[^ ]*' "$server_log" 2>/dev/null | awk '{print $4}' || true)
  [ -n "$url" ] && break
  kill -0 $server 2>/dev/null || { wait $server; exit $?; }
  sleep 0.5
done
if [ -n "$url" ]; then
  local_url="http://127.0.0.1:${url##*:}"
  scrapes="scrapes localhost:8080 and loads the alert rules"
  [ "${url##*:}" = 8080 ] || scrapes="$scrapes; for :${url##*:} edit the target in grafana/prometheus.yml"
  cat <<EOF

Vigil is serving at $url
  health page    $local_url/   (what needs attention, heatmaps per model, the attention picture of one request)
  metrics        $local_url/metrics   (Prometheus text format)
  models         curl -s -X POST $local_url/v2/repository/index
  Prometheus     prometheus --config.file=grafana/prometheus.yml --storage.tsdb.path=/tmp/vigil-prom \\
                   --web.listen-address=127.0.0.1:9090 --enable-feature=native-histograms
                 ($scrapes; docs/DASHBOARDS.md)
  probes         attention statistics in SIMD lanes (jdk.incubator.vector; the JVM's notice about it is left out)
  docs           README.md, docs/API.md, docs/METRICS.md, docs/ALERTS.md, docs/DASHBOARDS.md, docs/HEALTH_PAGE.md
EOF
  if $demo; then
    cat <<EOF
  demo traffic   for an hour (DEMO_SECONDS), round after round: two sentences for MiniLM (float and int8),
                 random token ids for the exporter models, batches for planted-outliers (its planted massive
                 activation fires the VigilMassiveActivationAppeared alert within a minute), a malformed request
                 every 10th round
EOF
  else
    echo "  demo traffic   ./run.sh --demo-traffic keeps every bundled model busy, so every panel has data"
  fi
  echo "Stop with Ctrl-C. Server log: $server_log"
  echo
  if $demo; then
    scripts/demo-traffic.sh "$local_url" &
  fi
fi
wait $server
