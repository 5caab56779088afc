# Helpers for the bench scripts (source it after `cd` to the repository's root): a work
# directory removed at exit with every server started, servers started and waited for, wrk.
# bench/inspect.sh uses it; bench/run.sh, instructions.sh and flaws.sh repeat parts of it.

TOKEN=${TOKEN:-bench-token}
APPID=${APPID:-1400000000}
BIN=target/release/oa-hook

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# start NAME CMD...: runs CMD in the background, waits for its "listening on URL" line, and
# sets URL and PID; its stdout is in $work/NAME.out.
start() {
    local name=$1; shift
    # Made here, not by the child's redirection, which may come after the first look.
    : >"$work/$name.out"
    "$@" >>"$work/$name.out" 2>"$work/$name.err" &
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

# A signed URL for the target, fresh now (RequestTime is checked against a 60 s window).
signed_url() {
    "$BIN" sample before-subscribe --url "$1" --token "$TOKEN" --sdkappid "$APPID" --format url
}

# post_lua: the seed body in $work/body.json (one line) and a wrk script that POSTs it.
post_lua() {
    "$BIN" sample before-subscribe --format body | tr -d '\n' >"$work/body.json"
    cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[$(cat "$work/body.json")]]
LUA
}

# wrk_rps URL: requests per second (wrk -t$THREADS -c$CONNECTIONS -d$DURATION, the seed
# body); fails the run if any answer was not a 2xx.
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
