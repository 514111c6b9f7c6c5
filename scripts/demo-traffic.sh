#!/usr/bin/env bash
# Drives steady, varied traffic at a local Vigil so every dashboard panel and the health page have data.
# Loopback only; stops by itself after DEMO_SECONDS (default 3600) or when the server goes away.
set -uo pipefail
base=${1:-http://127.0.0.1:8080}
deadline=$(( $(date +%s) + ${DEMO_SECONDS:-3600} ))

until curl -sf "$base/v2/health/ready" >/dev/null; do
  [ "$(date +%s)" -ge "$deadline" ] && exit 0
  sleep 1
done

sentences=(
  "The quick brown fox jumps over the lazy dog."
  "Vigil watches the inside of the models it serves."
  "Massive activations often sit on the first token or a delimiter."
  "Attention sinks dump probability mass on the first token."
  "Int8 quantization clips outlier channels."
  "A short one."
  "Dead neurons never fire on any token of the window, whatever the input looks like."
  "Le modèle répond en français aussi."
)

ids_json() { # random token ids for the exporter's retrieval models: vocab 33, seq_len 256
  local n=$1 out="" i
  for ((i = 0; i < n; i++)); do out+="$(( (RANDOM % 32) + 1 )),"; done
  printf '%s' "${out%,}"
}

i=0
while [ "$(date +%s)" -lt "$deadline" ]; do
  curl -sf "$base/v2/health/live" >/dev/null || exit 0
  a=${sentences[$((i % ${#sentences[@]}))]}
  b=${sentences[$(((i * 3 + 1) % ${#sentences[@]}))]}
  curl -s -o /dev/null -X POST "$base/v2/models/all-minilm-l6-v2/infer" -H 'Content-Type: application/json' \
    -d "{\"inputs\":[{\"name\":\"text\",\"shape\":[2],\"datatype\":\"BYTES\",\"data\":[\"$a\",\"$b\"]}],\"outputs\":[{\"name\":\"output_0\"}]}"
  for m in prenorm-256 postnorm-256 eft-256; do
    curl -s -o /dev/null -X POST "$base/v2/models/$m/infer" -H 'Content-Type: application/json' \
      -d "{\"inputs\":[{\"name\":\"input_ids\",\"shape\":[1,256],\"datatype\":\"INT64\",\"data\":[$(ids_json 256)]}]}"
  done
  # A few client errors too, so the outcome panels show more than one series.
  if (( i % 10 == 0 )); then
    curl -s -o /dev/null -X POST "$base/v2/models/all-minilm-l6-v2/infer" -d '{"inputs": ['
  fi
  i=$((i + 1))
  sleep 0.2
done
