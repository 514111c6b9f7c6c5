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
    --port) port="${args[$((i + 1))]}"; has_port=true ;;
    --models|--models=*) has_models=true ;;
  esac
done
defaults=()
$has_models || defaults+=(--models models)
$has_port || defaults+=(--port "$port")

mvn -B -q -ntp -DskipTests package -pl server -am

java -jar server/target/vigil.jar "${defaults[@]}" "${args[@]}" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT INT TERM

if $demo; then
  scripts/demo-traffic.sh "http://127.0.0.1:$port" &
fi
wait $server
