#!/usr/bin/env bash
# oa-hook's benchmark: three ratios, each measured in one run on loopback (see BENCHMARKS.md).
#   1. serve (full validation, signing, policy; and with --record) vs a bare axum handler,
#      both driven by wrk; plus serve's peak RSS under that load.
#   2. send load mode vs wrk, against the same bare handler.
#   3. one-shot send wall time vs curl making the same POST (hyperfine).
# Needs wrk, hey, hyperfine and curl (Debian: apt-get install wrk hey hyperfine curl); with
# valgrind installed it also counts the instructions per callback (bench/instructions.sh).
# Each throughput is measured in ROUNDS rounds (default 2) that alternate between the measured
# and its baseline, so that other load on the host falls on both alike; the figures are means.
# Knobs: DURATION (each run, default 5s), ROUNDS, CONNECTIONS (default 64), THREADS (wrk, 2).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-2}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
TOKEN=bench-token
APPID=1400000000

for tool in wrk hey hyperfine curl python3; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is not installed (apt-get install wrk hey hyperfine curl)" >&2; exit 2; }
done

cargo build --release --quiet --bin oa-hook --example bare
BIN=target/release/oa-hook
BARE=target/release/examples/bare

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# start NAME CMD...: runs CMD in the background, waits for its "listening on URL" line,
# and sets URL and PID.
start() {
    local name=$1; shift
    "$@" >"$work/$name.out" 2>"$work/$name.err" &
    PID=$!
    pids+=("$PID")
    for _ in $(seq 1 200); do
        URL=$(sed -n 's/^listening on \(http[^ ]*\).*/\1/p' "$work/$name.out" | head -n 1)
        [ -n "$URL" ] && return 0
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "bench: $name did not start:" >&2
    cat "$work/$name.err" >&2
    exit 1
}

"$BIN" sample before-subscribe --format body > "$work/body.json"
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[$(tr -d '\n' < "$work/body.json")]]
LUA

# A signed URL for the target, fresh now (RequestTime is checked against a 60 s window).
signed_url() {
    "$BIN" sample before-subscribe --url "$1" --token "$TOKEN" --sdkappid "$APPID" --format url
}

# wrk_rps URL: requests per second; fails the run if any answer was not a 2xx.
wrk_rps() {
    local out
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$work/post.lua" "$1")
    if grep -q "Non-2xx" <<<"$out"; then
        echo "bench: non-2xx answers from $1:" >&2
        echo "$out" >&2
        exit 1
    fi
    awk '/^Requests\/sec:/ {print $2}' <<<"$out"
}

peak_rss_mib() {
    awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"
}

ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }

mean() { python3 -c "import sys; xs = [float(x) for x in sys.argv[1:]]; print(f'{sum(xs) / len(xs):.0f}')" "$@"; }

# hey_rps URL: requests per second by hey with the same body and connections.
hey_rps() {
    local out
    out=$(hey -z "$DURATION" -c "$CONNECTIONS" -m POST -T application/json -D "$work/body.json" "$1")
    awk '/Requests\/sec:/ {print $2}' <<<"$out"
}

# load_rps URL: requests per second by oa-hook's load mode.
load_rps() {
    "$BIN" send before-subscribe --url "$1" --token "$TOKEN" --sdkappid "$APPID" \
        --duration "$DURATION" --concurrency "$CONNECTIONS" --output json -q |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["throughput"])'
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)" >&2
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, seed body, signed query" >&2

start bare "$BARE" 127.0.0.1:0
BARE_URL=$URL
start serve "$BIN" serve --listen 127.0.0.1:0 --token "$TOKEN" --sdkappid "$APPID" --refuse jared
SERVE_URL=$URL
SERVE_PID=$PID
start serve-record "$BIN" serve --listen 127.0.0.1:0 --token "$TOKEN" --sdkappid "$APPID" --refuse jared --record "$work/record.ndjson"
RECORD_URL=$URL
RECORD_PID=$PID

# Warm up every target once so connection set-up is not measured.
for url in "$BARE_URL" "$SERVE_URL" "$RECORD_URL"; do
    curl -s -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary @"$work/body.json" "$(signed_url "$url")"
done

bare=(); served=(); recorded=()
for _ in $(seq 1 "$ROUNDS"); do
    bare+=("$(wrk_rps "$(signed_url "$BARE_URL")")")
    served+=("$(wrk_rps "$(signed_url "$SERVE_URL")")")
    recorded+=("$(wrk_rps "$(signed_url "$RECORD_URL")")")
done
bare_rps=$(mean "${bare[@]}")
serve_rps=$(mean "${served[@]}")
record_rps=$(mean "${recorded[@]}")
serve_rss=$(peak_rss_mib "$SERVE_PID")
record_rss=$(peak_rss_mib "$RECORD_PID")
record_lines=$(wc -l < "$work/record.ndjson")
echo "bare ${bare[*]} req/s; serve ${served[*]} req/s (peak RSS $serve_rss MiB); serve --record ${recorded[*]} req/s ($record_rss MiB)" >&2

sent=(); wrked=(); heyed=()
for _ in $(seq 1 "$ROUNDS"); do
    sent+=("$(load_rps "$BARE_URL")")
    wrked+=("$(wrk_rps "$(signed_url "$BARE_URL")")")
    heyed+=("$(hey_rps "$(signed_url "$BARE_URL")")")
done
send_rps=$(mean "${sent[@]}")
wrk_bare_rps=$(mean "${wrked[@]}")
hey_bare_rps=$(mean "${heyed[@]}")
echo "send load mode ${sent[*]} req/s; wrk ${wrked[*]} req/s; hey ${heyed[*]} req/s" >&2

curl_cmd="curl -s -o /dev/null -X POST -H Content-Type:application/json --data-binary @$work/body.json $(signed_url "$BARE_URL")"
send_cmd="$BIN send before-subscribe --url $BARE_URL --token $TOKEN --sdkappid $APPID -q"
hyperfine -N --warmup 20 --runs "${RUNS:-300}" --export-json "$work/hyperfine.json" \
    -n curl "$curl_cmd" -n "oa-hook send" "$send_cmd" >&2
read -r curl_ms send_ms < <(python3 -c '
import json, sys
r = {x["command"]: x["mean"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
print("%.2f %.2f" % (r["curl"], r["oa-hook send"]))' "$work/hyperfine.json")

cat <<TABLE
| measure | oa-hook | baseline | ratio | target |
| --- | --- | --- | --- | --- |
| serve --token --sdkappid --refuse vs bare axum (wrk, req/s) | $serve_rps | $bare_rps | $(ratio "$serve_rps" "$bare_rps") | >= 0.90 |
| serve with --record vs bare axum (wrk, req/s; $record_lines lines recorded) | $record_rps | $bare_rps | $(ratio "$record_rps" "$bare_rps") | >= 0.85 |
| serve peak RSS under load (MiB; with --record) | $serve_rss ($record_rss) | | | <= 20 (24) |
| send load mode vs wrk against bare axum (req/s) | $send_rps | $wrk_bare_rps | $(ratio "$send_rps" "$wrk_bare_rps") | >= 0.95 |
| send load mode vs hey against bare axum (req/s) | $send_rps | $hey_bare_rps | $(ratio "$send_rps" "$hey_bare_rps") | > 1 |
| one-shot send vs curl, same POST (hyperfine, mean ms) | $send_ms | $curl_ms | $(ratio "$send_ms" "$curl_ms")x | <= 1.05x |
TABLE

# The request path's own work, counted rather than timed (steady on a busy host).
if command -v valgrind >/dev/null; then
    echo
    bash bench/instructions.sh
else
    echo "bench: valgrind is not installed: instructions per callback not counted (apt-get install valgrind)" >&2
fi
