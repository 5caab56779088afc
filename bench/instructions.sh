#!/usr/bin/env bash
# Instructions per callback, counted by valgrind's callgrind: the same for the same binary and
# input whatever else the machine does, so a change to the request path can be measured on a
# busy host where req/s move by ±15% (see BENCHMARKS.md). Counts user-space work only: the
# kernel's share (loopback TCP) is the same for every server and is not in it.
# Each server answers N and then 2N callbacks from `send` load mode; the difference over N is
# the cost of one callback, startup and shutdown taken out. The tap forwards to the bare
# handler, which runs outside valgrind: its row is the tap's own work. The inspector's row is
# serve with the page open and one client on its event stream. The last row is load mode itself
# (BIN's), sending to the bare handler.
# The load always comes from the oa-hook built here, whatever BIN is counted: a server's count
# depends on how its callbacks arrive (how often its threads park and wake), so two binaries
# compare only under the same load (measured: serve's count moved by 5k a callback when the
# sender was changed and the server was not).
# Needs valgrind (Debian: apt-get install valgrind). Knobs: N (default 2000), BIN (the oa-hook
# to count, default the one built here), KEEP (a directory to keep the callgrind files in).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-2000}
command -v valgrind >/dev/null || { echo "bench: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
cargo build --release --quiet --bin oa-hook --example bare
LOADER=target/release/oa-hook
BIN=${BIN:-$LOADER}
BARE=target/release/examples/bare
. bench/lib.sh

# The tap's backend, outside valgrind.
start backend "$BARE" 127.0.0.1:0
BACKEND=$URL

# total NAME COUNT CMD...: the instructions CMD runs while answering COUNT callbacks.
total() {
    local name=$1 count=$2; shift 2
    valgrind --tool=callgrind --callgrind-out-file="$work/$name.$count" "$@" >"$work/out" 2>"$work/err" &
    local pid=$! url="" watcher=""
    url=$(listening "$work/out" "$pid")
    [ -n "$url" ] || { echo "bench: $name did not start" >&2; cat "$work/err" >&2; exit 1; }
    if [ "$name" = inspect ]; then
        # One client on the page's event stream for the whole run.
        local page
        page=$(listening "$work/out" "$pid" "inspector on")
        curl -sN "${page%/}/api/stream" >/dev/null 2>&1 &
        watcher=$!
    fi
    "$LOADER" send before-subscribe --url "$url" --token "$TOKEN" --sdkappid "$APPID" \
        --count "$count" --concurrency 4 -q --output json >/dev/null || true
    [ -z "$watcher" ] || kill "$watcher" 2>/dev/null || true
    # SIGTERM: serve stops gracefully on it, and the bare handler has no handler for it.
    kill -TERM "$pid"
    wait "$pid" || true
    [ -z "${KEEP:-}" ] || cp "$work/$name.$count" "$KEEP/"
    awk '/^summary:/ {print $2}' "$work/$name.$count"
}

per_callback() {
    local name=$1; shift
    local one two
    one=$(total "$name" "$N" "$@")
    two=$(total "$name" $((2 * N)) "$@")
    [ -n "$one" ] && [ -n "$two" ] || { echo "bench: no count for $name" >&2; exit 1; }
    echo $(((two - one) / N))
}

SERVE=("$BIN" serve --listen 127.0.0.1:0 --token "$TOKEN" --sdkappid "$APPID")
bare=$(per_callback bare "$BARE" 127.0.0.1:0)
serve=$(per_callback serve "${SERVE[@]}" --refuse jared)
record=$(per_callback record "${SERVE[@]}" --refuse jared --record "$work/record.ndjson")
tap=$(per_callback tap "${SERVE[@]}" --forward-to "$BACKEND")
inspect=$(per_callback inspect "${SERVE[@]}" --refuse jared --inspect 127.0.0.1:0)
# Load mode itself, sending to the bare handler (outside valgrind): the same difference of two
# runs, over the requests it sent.
sent() {
    valgrind --tool=callgrind --callgrind-out-file="$work/load.$1" "$BIN" send before-subscribe \
        --url "$BACKEND" --token "$TOKEN" --sdkappid "$APPID" --count "$1" --concurrency 4 \
        -q --output json >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    awk '/^summary:/ {print $2}' "$work/load.$1"
}
load=$(( ($(sent $((2 * N))) - $(sent "$N")) / N ))
vs() { python3 -c "print(f'{$1 / $bare:.2f}')"; }
cat <<TABLE
| server | instructions per callback (callgrind) | vs bare |
| --- | --- | --- |
| bare axum handler | $bare | 1.00 |
| serve --token --sdkappid --refuse | $serve | $(vs "$serve") |
| serve ... --record | $record | $(vs "$record") |
| serve ... --forward-to (the tap; its backend not counted) | $tap | $(vs "$tap") |
| serve ... --inspect, one client on the stream | $inspect | $(vs "$inspect") |
| load mode (\`send -c 4\`), a request sent and its answer judged | $load | |
TABLE
