#!/usr/bin/env bash
# Runs the documented commands that are cheap enough to run anywhere: every ```bash checked``` block of
# README.md and docs/*.md, against a Vigil started here on the bundled models (on a free port, substituted
# for the documented 8080). Needs the built jar (./run.sh, ./test.sh or mvn package) and curl, python3, jq.
# Prints one line per block and "N passed, N failed"; exits non-zero when a block fails.
# A block fails on a non-zero exit status, and so on an HTTP error: curl runs with --fail-with-body (by itself it
# exits 0 on a 4xx) unless the command prints the status itself (-w '...%{http_code}...'), as the blocks that show
# an error reply do.
set -uo pipefail
cd "$(dirname "$0")/.."
export DJL_OFFLINE=true OPT_OUT_TRACKING=true
jar=server/target/vigil.jar
[ -f "$jar" ] || { echo "check-doc-commands: $jar is missing: build first (./run.sh or mvn -B -DskipTests package)" >&2; exit 2; }

work=$(mktemp -d)
log="$work/server.log"
java -jar "$jar" --models models --port 0 --device cpu > "$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
port=""
for _ in $(seq 1 240); do
  port=$(grep -o 'Vigil listening on http://127.0.0.1:[0-9]*' "$log" | sed 's/.*://' || true)
  [ -n "$port" ] && break
  kill -0 $server 2>/dev/null || { echo "check-doc-commands: the server did not start:" >&2; cat "$log" >&2; exit 1; }
  sleep 0.5
done
[ -n "$port" ] || { echo "check-doc-commands: no listening line after 120 s" >&2; exit 1; }

# curl that fails on an HTTP error status unless its command shows the status or already asks to fail.
export REAL_CURL
REAL_CURL=$(command -v curl) || { echo "check-doc-commands: curl is missing" >&2; exit 2; }
command -v jq >/dev/null || { echo "check-doc-commands: jq is missing" >&2; exit 2; }
mkdir -p "$work/bin"
cat > "$work/bin/curl" <<'EOF'
#!/usr/bin/env bash
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  a=${args[$i]}
  case "$a" in
    --fail|--fail-with-body) exec "$REAL_CURL" "$@" ;;
    -w|--write-out) [[ "${args[$((i + 1))]:-}" == *http_code* ]] && exec "$REAL_CURL" "$@" ;;
    -w*) [[ "$a" == *http_code* ]] && exec "$REAL_CURL" "$@" ;;
    --*) ;;
    -*f*) exec "$REAL_CURL" "$@" ;;
  esac
done
exec "$REAL_CURL" --fail-with-body "$@"
EOF
chmod +x "$work/bin/curl"
export PATH="$work/bin:$PATH"
if curl -s -o /dev/null "http://127.0.0.1:$port/v2/models/no-such-model"; then
  echo "check-doc-commands: curl does not fail on an HTTP 404 here (--fail-with-body needs curl 7.76 or later)" >&2
  exit 2
fi

# Extract the blocks: file, first line number, text.
python3 - "$work" README.md docs/*.md <<'EOF'
import sys, pathlib
out = pathlib.Path(sys.argv[1])
n = 0
for name in sys.argv[2:]:
    lines = pathlib.Path(name).read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```bash checked":
            start, body = i + 1, []
            i += 1
            while lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            n += 1
            (out / f"block-{n:03d}.sh").write_text(f"# {name}:{start + 1}\n" + "\n".join(body) + "\n", encoding="utf-8")
        i += 1
EOF

passed=0
failed=0
for block in "$work"/block-*.sh; do
  [ -e "$block" ] || continue
  where=$(head -1 "$block" | cut -c3-)
  sed -i "s/localhost:8080/127.0.0.1:$port/g; s/127\.0\.0\.1:8080/127.0.0.1:$port/g" "$block"
  if timeout 300 bash -euo pipefail "$block" > "$work/out.txt" 2>&1; then
    passed=$((passed + 1))
    echo "ok      $where"
  else
    failed=$((failed + 1))
    echo "FAILED  $where"
    tail -n 20 "$work/out.txt" | awk '{print "        " $0}'
  fi
done
echo "docs: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
