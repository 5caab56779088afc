#!/usr/bin/env bash
# The inspector's figures (issue 22; BENCHMARKS.md, "The inspector"), on loopback:
#   1. how long after its answer a callback's row comes on the page's stream: ROWS callbacks,
#      one at a time at random gaps of 0 to 100 ms, p50 / p95 / max;
#   2. serve --inspect, its page open and receiving, vs plain serve: wrk in ROUNDS rounds that
#      alternate between the two, the ratio of the means and the spread of each pair's; and
#      serve's CPU time per answer in the same rounds, which other load moves much less;
#   3. peak RSS (VmHWM) of serve --inspect --inspect-keep EVENTS, its page open, after EVENTS
#      callbacks, above plain serve's after the same callbacks.
# The open page is examples/inspector_page.rs: it asks what the page asks, reads the stream and
# catches up from the list after drops, as the page does, without a browser's own cost.
# Needs wrk and curl (Debian: apt-get install wrk curl); with valgrind it also counts the
# instructions per callback and per event kept.
# Knobs: ROWS (200), DURATION (each wrk round, 5s), ROUNDS (per side, 6), CONNECTIONS (64),
# THREADS (wrk, 2), EVENTS (10000), RATE (callbacks a second for figure 3, 500: well under the
# 1000 a second per core the inspector keeps, bursts after a stall of the host included, so
# that every one is kept).
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-200}
DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-6}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
EVENTS=${EVENTS:-10000}
RATE=${RATE:-500}

for tool in wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is not installed (apt-get install wrk curl)" >&2; exit 2; }
done

cargo build --release --quiet --bin oa-hook --example inspector_page
PAGE_CLIENT=target/release/examples/inspector_page
source bench/lib.sh
post_lua

# serve NAME ARGS...: serve with ARGS, started; sets URL, PID and, with --inspect, PAGE (said
# just after URL).
serve() {
    local name=$1; shift
    start "$name" "$BIN" serve --listen 127.0.0.1:0 --token "$TOKEN" --sdkappid "$APPID" \
        --refuse jared -q "$@"
    PAGE=
    [[ " $* " == *" --inspect "* ]] || return 0
    for _ in $(seq 1 200); do
        PAGE=$(sed -n 's/^inspector on \(http[^ ]*\).*/\1/p' "$work/$name.out" | head -n 1)
        [ -n "$PAGE" ] && return 0
        sleep 0.05
    done
    echo "bench: $name did not say where its inspector is" >&2
    exit 1
}

# open_page NAME PAGE: the page open on PAGE, in the background, until the run ends.
open_page() {
    "$PAGE_CLIENT" "$2" >"$work/$1.page" 2>&1 &
    pids+=("$!")
}

peak_rss_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

echo "machine: $(nproc) cores, $(uname -sr)" >&2

# 1. A row's delay after its answer.
serve latency --inspect 127.0.0.1:0
latency=$("$PAGE_CLIENT" "$PAGE" --latency "$ROWS" "$(signed_url "$URL")" "$work/body.json")
echo "1. $latency" >&2

# 2. Throughput with the page open and receiving, in alternating rounds.
serve plain
PLAIN_URL=$URL
PLAIN_PID=$PID
serve inspected --inspect 127.0.0.1:0
INSPECTED_URL=$URL
INSPECTED_PID=$PID
open_page inspected "$PAGE"
for url in "$PLAIN_URL" "$INSPECTED_URL"; do
    curl -s -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary @"$work/body.json" "$(signed_url "$url")"
done
# cpu_ticks PID: the CPU time PID has used, in clock ticks (user and system).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# round PID URL: one wrk round against URL; prints its req/s and PID's CPU ticks per 1000
# answers, a figure that other load on the host moves much less than req/s.
round() {
    local before rps after
    before=$(cpu_ticks "$1")
    rps=$(wrk_rps "$(signed_url "$2")")
    after=$(cpu_ticks "$1")
    python3 -c 'import sys; r, t, s = map(float, sys.argv[1:]); print("%.0f %.3f" % (r, t / (r * s) * 1000))' \
        "$rps" "$((after - before))" "${DURATION%s}"
}
plain=(); inspected=()
for _ in $(seq 1 "$ROUNDS"); do
    plain+=("$(round "$PLAIN_PID" "$PLAIN_URL")")
    inspected+=("$(round "$INSPECTED_PID" "$INSPECTED_URL")")
done
read -r throughput spread cpu < <(python3 -c '
import sys
rounds = [tuple(map(float, r.split())) for r in sys.argv[1:]]
n = len(rounds) // 2
plain, inspected = rounds[:n], rounds[n:]
rps = lambda side: sum(r for r, _ in side) / n
cpu = lambda side: sum(c for _, c in side) / n
pairs = [i[0] / p[0] for p, i in zip(plain, inspected)]
print("%.0f/%.0f=%.3f" % (rps(inspected), rps(plain), rps(inspected) / rps(plain)),
      "%.2f-%.2f" % (min(pairs), max(pairs)),
      "%.2f/%.2f=%.3f" % (cpu(plain), cpu(inspected), cpu(plain) / cpu(inspected)))
' "${plain[@]}" "${inspected[@]}")
batches=$(grep -c '^rows' "$work/inspected.page" || true)
echo "2. plain ${plain[*]}; inspected ${inspected[*]} (req/s, CPU ticks per 1000 answers); page took $batches batches" >&2

# 3. Peak RSS with EVENTS kept, beside plain serve fed the same callbacks.
feed() {
    "$BIN" send before-subscribe --url "$1" --token "$TOKEN" --sdkappid "$APPID" \
        --count "$EVENTS" --rate "$RATE" --concurrency 4 -q --output json >/dev/null
}
serve plain-memory
feed "$URL"
plain_kib=$(peak_rss_kib "$PID")
serve kept-memory --inspect 127.0.0.1:0 --inspect-keep "$EVENTS"
open_page kept-memory "$PAGE"
feed "$URL"
kept=$(curl -s "${PAGE}api/info" | python3 -c 'import json, sys; i = json.load(sys.stdin); print(i["kept"], i["skipped"])')
kept_kib=$(peak_rss_kib "$PID")
read -r kept_events skipped <<<"$kept"
[ "$kept_events" = "$EVENTS" ] || { echo "bench: the inspector kept $kept_events of $EVENTS ($skipped skipped): lower RATE" >&2; exit 1; }
memory=$(python3 -c 'import sys; p, k, n = map(int, sys.argv[1:]); print("%.1f %.1f %.1f %.0f" % (p / 1024, k / 1024, (k - p) / 1024, (k - p) * 1024 / n))' "$plain_kib" "$kept_kib" "$EVENTS")
read -r plain_mib kept_mib above_mib per_event <<<"$memory"

# 4. With valgrind: instructions per callback, which other load does not move (as
# bench/instructions.sh counts them): plain serve, and serve --inspect keeping every callback
# (under callgrind serve answers far fewer than the 1000 a second per core it keeps), per
# callback and per event kept; a flood pays the second only for the events kept.
instructions=
if command -v valgrind >/dev/null; then
    # counted NAME COUNT ARGS...: serve's instructions answering COUNT callbacks, and with
    # --inspect the events it kept.
    counted() {
        local name=$1 count=$2; shift 2
        start "$name" valgrind --tool=callgrind --callgrind-out-file="$work/$name.cg" \
            "$BIN" serve --listen 127.0.0.1:0 --token "$TOKEN" --sdkappid "$APPID" --refuse jared -q "$@"
        local page=
        for _ in $(seq 1 100); do
            page=$(sed -n 's/^inspector on \(http[^ ]*\).*/\1/p' "$work/$name.out" | head -n 1)
            [ -n "$page" ] || [ $# -eq 0 ] && break
            sleep 0.05
        done
        "$BIN" send before-subscribe --url "$URL" --token "$TOKEN" --sdkappid "$APPID" \
            --count "$count" --concurrency 4 -q --output json >/dev/null || true
        local kept=0
        # Ids go to the events kept alone (a flood skips some), so the newest id counts them.
        [ -z "$page" ] || kept=$(curl -s "${page}api/info" | python3 -c 'import json, sys; i = json.load(sys.stdin); print(i["newest"])')
        kill -TERM "$PID"
        wait "$PID" || true
        echo "$(awk '/^summary:/ {print $2}' "$work/$name.cg") $kept"
    }
    read -r p1 _ <<<"$(counted cg-plain-1 2000)"
    read -r p2 _ <<<"$(counted cg-plain-2 4000)"
    read -r i1 k1 <<<"$(counted cg-inspect-1 2000 --inspect 127.0.0.1:0)"
    read -r i2 k2 <<<"$(counted cg-inspect-2 4000 --inspect 127.0.0.1:0)"
    instructions=$(python3 -c 'import sys; p1, p2, i1, i2, k1, k2 = map(int, sys.argv[1:]); plain, inspected = (p2 - p1) / 2000, (i2 - i1) / 2000; print("%.0f / %.0f (+%.0f a callback, %.0f an event kept; %d of 4000 kept)" % (plain, inspected, inspected - plain, (i2 - i1 - (p2 - p1)) / (k2 - k1), k2))' "$p1" "$p2" "$i1" "$i2" "$k1" "$k2")
    echo "4. instructions: $instructions" >&2
fi

read -r _ _ _ p50 _ p95 _ max _ <<<"$latency"
cat <<TABLE
| measure | figure | target |
| --- | --- | --- |
| row on the stream after its answer, ms ($ROWS callbacks at 0-100 ms gaps; p50 / p95 / max) | $p50 / $p95 / $max | p95 <= 100 |
| serve --inspect, page open, vs plain serve (wrk -t$THREADS -c$CONNECTIONS, $ROUNDS x $DURATION rounds each, alternating; req/s) | $throughput (pairs $spread) | >= 0.95 |
| the same as serve's CPU per answer: plain / inspected (clock ticks per 1000 answers) | $cpu | >= 0.95 |
| peak RSS with $EVENTS events kept vs plain serve, same callbacks (MiB) | $kept_mib vs $plain_mib: +$above_mib ($per_event bytes an event) | <= +16 |
TABLE
[ -z "$instructions" ] || echo "| instructions per callback (callgrind), plain / --inspect keeping every one | $instructions | |"
