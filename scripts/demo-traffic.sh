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

ids_json() { # random token ids for the exporter's models: vocab 33 (ids 1-32)
  local n=$1 out="" i
  for ((i = 0; i < n; i++)); do out+="$(( (RANDOM % 32) + 1 )),"; done
  printf '%s' "${out%,}"
}

planted_json() { # models/planted-outliers: BOS (1) then body tokens 2..31, 12-32 of them, right-padded to 32
  local batch=$1 ids="" mask="" b t n
  for ((b = 0; b < batch; b++)); do
    n=$(( 12 + RANDOM % 21 ))
    for ((t = 0; t < 32; t++)); do
      if ((t == 0)); then ids+="1,"; mask+="1,"
      elif ((t < n)); then ids+="$(( 2 + RANDOM % 30 )),"; mask+="1,"
      else ids+="0,"; mask+="0,"; fi
    done
  done
  printf '{"inputs":[{"name":"input_ids","shape":[%d,32],"datatype":"INT64","data":[%s]},' "$batch" "${ids%,}"
  printf '{"name":"attention_mask","shape":[%d,32],"datatype":"INT64","data":[%s]}],' "$batch" "${mask%,}"
  printf '"outputs":[{"name":"logits"}]}'
}

i=0
while [ "$(date +%s)" -lt "$deadline" ]; do
  curl -sf "$base/v2/health/live" >/dev/null || exit 0
  a=${sentences[$((i % ${#sentences[@]}))]}
  b=${sentences[$(((i * 3 + 1) % ${#sentences[@]}))]}
  # MiniLM and its int8 version (the published one) on the same sentences: their pages can be compared.
  for m in all-minilm-l6-v2:output_0 all-minilm-l6-v2-q:last_hidden_state; do
    curl -s -o /dev/null -X POST "$base/v2/models/${m%%:*}/infer" -H 'Content-Type: application/json' \
      -d "{\"inputs\":[{\"name\":\"text\",\"shape\":[2],\"datatype\":\"BYTES\",\"data\":[\"$a\",\"$b\"]}],\"outputs\":[{\"name\":\"${m#*:}\"}]}"
  done
  for m in prenorm-256 postnorm-256 eft-256; do
    curl -s -o /dev/null -X POST "$base/v2/models/$m/infer" -H 'Content-Type: application/json' \
      -d "{\"inputs\":[{\"name\":\"input_ids\",\"shape\":[1,256],\"datatype\":\"INT64\",\"data\":[$(ids_json 256)]}]}"
  done
  # The longer exporter models now and then: every bundled model gets probed.
  if (( i % 5 == 0 )); then
    for n in 512 1024; do
      for m in prenorm-$n postnorm-$n eft-$n; do
        curl -s -o /dev/null -X POST "$base/v2/models/$m/infer" -H 'Content-Type: application/json' \
          -d "{\"inputs\":[{\"name\":\"input_ids\",\"shape\":[1,$n],\"datatype\":\"INT64\",\"data\":[$(ids_json $n)]}]}"
      done
    done
  fi
  # Planted massive activations and int8 outliers: lights up the Outliers dashboard and the int8 alerts.
  curl -s -o /dev/null -X POST "$base/v2/models/planted-outliers/infer" -H 'Content-Type: application/json' \
    -d "$(planted_json $(( i % 4 + 1 )))"
  # A few client errors too, so the outcome panels show more than one series.
  if (( i % 10 == 0 )); then
    curl -s -o /dev/null -X POST "$base/v2/models/all-minilm-l6-v2/infer" -d '{"inputs": ['
  fi
  i=$((i + 1))
  sleep 0.2
done
