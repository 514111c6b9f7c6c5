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
port=8080
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --port=*) port="${args[$i]#--port=}" ;;
    --port) port="${args[$((i + 1))]}" ;;
  esac
done

mvn -B -q -ntp -DskipTests package -pl server -am

java -jar server/target/vigil.jar --models models --port "$port" "${args[@]}" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT INT TERM

if $demo; then
  scripts/demo-traffic.sh "http://127.0.0.1:$port" &
fi
wait $server
