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
