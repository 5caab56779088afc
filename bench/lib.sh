# Shared by the benchmark scripts (sourced, not run): a scratch directory, the processes
# started, and how to start a server and learn its URL.
TOKEN=bench-token
APPID=1400000000

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# listening FILE PID [WORDS]: the URL of the first "WORDS URL" line of FILE (default WORDS:
# "listening on"), once it is there; empty if PID ends first or after a minute (valgrind
# starts slowly on a busy host).
listening() {
    local url="" words=${3:-listening on}
    for _ in $(seq 1 1200); do
        url=$(sed -n "s/^$words \\(http[^ ]*\\).*/\\1/p" "$1" | head -n 1)
        [ -n "$url" ] && break
        kill -0 "$2" 2>/dev/null || break
        sleep 0.05
    done
    echo "$url"
}

# start NAME CMD...: runs CMD in the background, waits for its "listening on URL" line, and
# sets URL and PID.
start() {
    local name=$1; shift
    : >"$work/$name.out"
    "$@" >"$work/$name.out" 2>"$work/$name.err" &
    PID=$!
    pids+=("$PID")
    URL=$(listening "$work/$name.out" "$PID")
    [ -n "$URL" ] && return 0
    echo "bench: $name did not start:" >&2
    cat "$work/$name.err" >&2
    exit 1
}

BIN=${BIN:-target/release/oa-hook}

# A signed URL for the target, fresh now (RequestTime is checked against a 60 s window).
signed_url() {
    "$BIN" sample before-subscribe --url "$1" --token "$TOKEN" --sdkappid "$APPID" --format url
}

# post_lua: the seed body in $work/body.json and a wrk script that POSTs it.
post_lua() {
    "$BIN" sample before-subscribe --format body >"$work/body.json"
    cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[$(tr -d '\n' <"$work/body.json")]]
LUA
}

# non_2xx WHAT OUTPUT: fails the run, showing OUTPUT.
non_2xx() {
    echo "bench: answers that were not a 2xx from $1:" >&2
    echo "$2" >&2
    exit 1
}

# wrk_rps URL: requests per second (wrk -t$THREADS -c$CONNECTIONS -d$DURATION, the seed
# body); fails the run if any answer was not a 2xx.
wrk_rps() {
    local out
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$work/post.lua" "$1")
    grep -q "Non-2xx\|Socket errors" <<<"$out" && non_2xx "$1" "$out"
    awk '/^Requests\/sec:/ {print $2}' <<<"$out"
}
