#!/usr/bin/env bash
# Instructions per callback, counted by valgrind's callgrind: the same for the same binary and
# input whatever else the machine does, so a change to the request path can be measured on a
# busy host where req/s move by ±15% (see BENCHMARKS.md). Counts user-space work only: the
# kernel's share (loopback TCP) is the same for every server and is not in it.
# Each server answers N and then 2N callbacks from `send` load mode; the difference over N is
# the cost of one callback, startup and shutdown taken out.
# Needs valgrind (Debian: apt-get install valgrind). Knob: N (default 2000).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-2000}
TOKEN=bench-token
APPID=1400000000
command -v valgrind >/dev/null || { echo "bench: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
cargo build --release --quiet --bin oa-hook --example bare
BIN=target/release/oa-hook
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# total NAME COUNT CMD...: the instructions CMD runs while answering COUNT callbacks.
total() {
    local name=$1 count=$2; shift 2
    valgrind --tool=callgrind --callgrind-out-file="$work/$name.$count" "$@" >"$work/out" 2>"$work/err" &
    local pid=$! url=""
    for _ in $(seq 1 400); do
        url=$(sed -n 's/^listening on \(http[^ ]*\).*/\1/p' "$work/out" | head -n 1)
        [ -n "$url" ] && break
        sleep 0.05
    done
    [ -n "$url" ] || { echo "bench: $name did not start" >&2; cat "$work/err" >&2; exit 1; }
    "$BIN" send before-subscribe --url "$url" --token "$TOKEN" --sdkappid "$APPID" \
        --count "$count" --concurrency 4 -q --output json >/dev/null || true
    # SIGTERM: serve stops gracefully on it, and the bare handler has no handler for it.
    kill -TERM "$pid"
    wait "$pid" || true
    awk '/^summary:/ {print $2}' "$work/$name.$count"
}

per_callback() {
    local name=$1; shift
    local one two
    one=$(total "$name" "$N" "$@")
    two=$(total "$name" $((2 * N)) "$@")
    echo $(((two - one) / N))
}

bare=$(per_callback bare target/release/examples/bare 127.0.0.1:0)
serve=$(per_callback serve "$BIN" serve --listen 127.0.0.1:0 --token "$TOKEN" --sdkappid "$APPID" --refuse jared)
record=$(per_callback record "$BIN" serve --listen 127.0.0.1:0 --token "$TOKEN" --sdkappid "$APPID" --refuse jared --record "$work/record.ndjson")
cat <<TABLE
| server | instructions per callback (callgrind) | vs bare |
| --- | --- | --- |
| bare axum handler | $bare | 1.00 |
| serve --token --sdkappid --refuse | $serve | $(python3 -c "print(f'{$serve / $bare:.2f}')") |
| serve ... --record | $record | $(python3 -c "print(f'{$record / $bare:.2f}')") |
TABLE
