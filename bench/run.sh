#!/usr/bin/env bash
# oa-hook's benchmark: every row of issue 25's table, each a ratio measured in one run on
# loopback against what a user would otherwise put in the same place (see BENCHMARKS.md):
#   1. the tap (serve --forward-to) vs nginx proxy_pass (keep-alive upstream, 2 workers), both
#      in front of the same bare backend, driven by wrk; and their p50 latency at 1 connection
#      over the backend's own;
#   2. serve (full validation, signing, policy), serve --record, and serve with the inspector
#      open and a client on its stream, each vs a bare axum handler, driven by wrk;
#   3. send load mode vs wrk and vs oha, against the same bare handler;
#   4. peak RSS of serve, the tap and serve --record under that load; one-shot send vs curl.
# Each throughput is measured in ROUNDS rounds (default 2) that alternate between everything
# measured, so that other load on the host falls on all alike; the figures are means. The run
# fails when any answer was not a 2xx (a tap that refused wrk's requests cannot pass for fast).
# Installs what is missing: wrk, nginx, hyperfine, curl, valgrind from Debian (apt-get), oha
# from crates.io into ~/.cache/oa-hook-bench.
# Knobs: DURATION (each run, default 5s), ROUNDS, CONNECTIONS (default 64), THREADS (wrk, 2),
# RUNS (hyperfine, 100), BASELINE=path/to/another/oa-hook: every oa-hook row is measured for
# that binary too, in the same rounds (e.g. main before a change against the branch after).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-2}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
BASELINE=${BASELINE:-}

# Installs what the benchmark needs and is missing.
missing=()
for tool in wrk nginx hyperfine curl python3 valgrind; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "bench: installing ${missing[*]} (apt-get)" >&2
    sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    # A fresh machine has no package lists yet: read them once, when an install needs them.
    "${sudo[@]}" apt-get install -y "${missing[@]}" >&2 ||
        { "${sudo[@]}" apt-get update -qq >&2 && "${sudo[@]}" apt-get install -y "${missing[@]}" >&2; }
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
OHA_ROOT=~/.cache/oa-hook-bench
OHA=$(command -v oha || echo "$OHA_ROOT/bin/oha")
if [ ! -x "$OHA" ]; then
    echo "bench: installing oha 1.x from crates.io into $OHA_ROOT (once; a few minutes)" >&2
    cargo install oha --version '^1' --locked --root "$OHA_ROOT" >&2
fi

cargo build --release --quiet --bin oa-hook --example bare
BIN=target/release/oa-hook
BARE=target/release/examples/bare
. bench/lib.sh
if [ -n "$BASELINE" ]; then
    [ -x "$BASELINE" ] || { echo "bench: BASELINE=$BASELINE is not an executable" >&2; exit 2; }
    cp "$BASELINE" "$work/baseline"
fi

post_lua

# wrk_p50_us URL: the median latency in µs at one connection.
wrk_p50_us() {
    local out
    out=$(wrk -t1 -c1 -d"$DURATION" --latency -s "$work/post.lua" "$1")
    grep -q "Non-2xx\|Socket errors" <<<"$out" && non_2xx "$1" "$out"
    awk '$1 == "50%" {print $2}' <<<"$out" | python3 -c '
import re, sys
value, unit = re.fullmatch(r"([0-9.]+)(us|ms|s)", sys.stdin.read().strip()).groups()
print(round(float(value) * dict(us=1, ms=1e3, s=1e6)[unit]))'
}

# oha_rps URL: requests per second by oha with the same body and connections.
oha_rps() {
    local out
    out=$("$OHA" -z "$DURATION" -c "$CONNECTIONS" -m POST -T application/json -D "$work/body.json" \
        --no-tui --output-format json "$1")
    python3 -c '
import json, sys
r = json.loads(sys.argv[1])
bad = {s: n for s, n in r["statusCodeDistribution"].items() if not s.startswith("2")}
# Requests still in flight when the time is up are cut off: no answer, no error.
errors = {e: n for e, n in r.get("errorDistribution", {}).items() if e != "aborted due to deadline"}
if bad or errors:
    sys.exit("bench: answers that were not a 2xx from oha: %s %s" % (bad, errors))
print(r["summary"]["requestsPerSec"])' "$out"
}

# load_rps BIN URL: requests per second by oa-hook's load mode.
load_rps() {
    "$1" send before-subscribe --url "$2" --token "$TOKEN" --sdkappid "$APPID" \
        --duration "$DURATION" --concurrency "$CONNECTIONS" --output json -q |
        python3 -c '
import json, sys
r = json.load(sys.stdin)
bad = {s: n for s, n in r["statuses"].items() if not s.startswith("2")}
if bad or not r["statuses"]:
    sys.exit("bench: answers that were not a 2xx from load mode: %s" % r["statuses"])
print(r["throughput"])' || exit 1
}

peak_rss_mib() {
    awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"
}

ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }

mean() { python3 -c "import sys; xs = [float(x) for x in sys.argv[1:]]; print(f'{sum(xs) / len(xs):.0f}')" "$@"; }

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)" >&2
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS rounds, seed body, signed query; $("$NGINX" -v 2>&1); $("$OHA" --version)" >&2

start bare "$BARE" 127.0.0.1:0
BARE_URL=$URL

# nginx in front of the same backend, as the issue measured it: 2 workers, HTTP/1.1 to a
# keep-alive upstream.
NGINX_PORT=$(free_port)
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    upstream backend { server ${BARE_URL#http://}; keepalive 64; }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
CONF
"$NGINX" -p "$work/nginx" -c "$work/nginx/nginx.conf" >"$work/nginx.out" 2>&1 &
pids+=("$!")
NGINX_URL=http://127.0.0.1:$NGINX_PORT
for _ in $(seq 1 200); do
    curl -sf -o /dev/null -X POST --data-binary @"$work/body.json" "$NGINX_URL/" && break
    sleep 0.05
done

# The oa-hook servers, for this build ("new") and for BASELINE ("base").
sides=(new)
[ -z "$BASELINE" ] || sides+=(base)
declare -A url pid
for side in "${sides[@]}"; do
    bin=$BIN
    [ "$side" = new ] || bin=$work/baseline
    serve=("$bin" serve --listen 127.0.0.1:0 --token "$TOKEN" --sdkappid "$APPID")
    start "$side-tap" "${serve[@]}" --forward-to "$BARE_URL"
    url[$side-tap]=$URL; pid[$side-tap]=$PID
    start "$side-serve" "${serve[@]}" --refuse jared
    url[$side-serve]=$URL; pid[$side-serve]=$PID
    start "$side-record" "${serve[@]}" --refuse jared --record "$work/$side-record.ndjson"
    url[$side-record]=$URL; pid[$side-record]=$PID
    start "$side-inspect" "${serve[@]}" --refuse jared --inspect 127.0.0.1:0
    url[$side-inspect]=$URL; pid[$side-inspect]=$PID
    page=$(listening "$work/$side-inspect.out" "$PID" "inspector on")
    # A client on the page's event stream for the whole run.
    curl -sN "${page%/}/api/stream" >/dev/null 2>&1 &
    pids+=("$!")
done
targets=(bare nginx)
for side in "${sides[@]}"; do targets+=("$side-tap" "$side-serve" "$side-record" "$side-inspect"); done
url[bare]=$BARE_URL
url[nginx]=$NGINX_URL

# Warm up every target once so connection set-up is not measured.
for target in "${targets[@]}"; do
    curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary @"$work/body.json" \
        "$(signed_url "${url[$target]}")" || { echo "bench: $target did not answer 2xx" >&2; exit 1; }
done

declare -A rps
for round in $(seq 1 "$ROUNDS"); do
    for target in "${targets[@]}"; do
        rps[$target]+=" $(wrk_rps "$(signed_url "${url[$target]}")")"
    done
    for side in "${sides[@]}"; do
        bin=$BIN
        [ "$side" = new ] || bin=$work/baseline
        rps[$side-load]+=" $(load_rps "$bin" "$BARE_URL")"
    done
    rps[wrk]+=" $(wrk_rps "$(signed_url "$BARE_URL")")"
    rps[oha]+=" $(oha_rps "$(signed_url "$BARE_URL")")"
    echo "round $round: $(for k in "${!rps[@]}"; do printf '%s=%s ' "$k" "${rps[$k]##* }"; done)" >&2
done
declare -A m
for k in "${!rps[@]}"; do
    # shellcheck disable=SC2086
    m[$k]=$(mean ${rps[$k]})
done

# Latency at one connection, the tap's and nginx's over the backend's own.
declare -A p50
for target in bare nginx "${sides[@]/%/-tap}"; do
    p50[$target]=$(wrk_p50_us "$(signed_url "${url[$target]}")")
done

declare -A rss
for side in "${sides[@]}"; do
    for what in serve tap record; do rss[$side-$what]=$(peak_rss_mib "${pid[$side-$what]}"); done
done

curl_cmd="curl -s -o /dev/null -X POST -H Content-Type:application/json --data-binary @$work/body.json $(signed_url "$BARE_URL")"
shots=(-n curl "$curl_cmd")
for side in "${sides[@]}"; do
    bin=$BIN
    [ "$side" = new ] || bin=$work/baseline
    shots+=(-n "$side" "$bin send before-subscribe --url $BARE_URL --token $TOKEN --sdkappid $APPID -q")
done
hyperfine -N --warmup 20 --runs "${RUNS:-100}" --export-json "$work/hyperfine.json" "${shots[@]}" >/dev/null 2>&1
declare -A shot
while read -r name ms; do shot[$name]=$ms; done < <(python3 -c '
import json, sys
for x in json.load(open(sys.argv[1]))["results"]:
    print(x["command"], "%.2f" % (x["mean"] * 1000))' "$work/hyperfine.json")

# cell SIDE MEASURE: one side's figure for one row.
cell() {
    local side=$1
    case $2 in
        tap) echo "**$(ratio "${m[$side-tap]}" "${m[nginx]}")** (${m[$side-tap]} / ${m[nginx]})" ;;
        p50) echo "+$((p50[$side-tap] - p50[bare])) µs (nginx +$((p50[nginx] - p50[bare])) µs)" ;;
        serve | record | inspect) echo "**$(ratio "${m[$side-$2]}" "${m[bare]}")** (${m[$side-$2]} / ${m[bare]})" ;;
        load) echo "**$(ratio "${m[$side-load]}" "${m[wrk]}")** / **$(ratio "${m[$side-load]}" "${m[oha]}")** (${m[$side-load]} / ${m[wrk]} / ${m[oha]})" ;;
        rss) echo "${rss[$side-serve]}, ${rss[$side-tap]}, ${rss[$side-record]} MiB" ;;
        shot) echo "$(ratio "${shot[$side]}" "${shot[curl]}")x (${shot[$side]} / ${shot[curl]} ms)" ;;
    esac
}
header="| measure | this build |"
[ -z "$BASELINE" ] || header+=" BASELINE |"
echo "$header goal |"
printf '|'; for _ in measure "${sides[@]}" goal; do printf ' --- |'; done; echo
while IFS='|' read -r measure key goal; do
    printf '| %s |' "$measure"
    for side in "${sides[@]}"; do printf ' %s |' "$(cell "$side" "$key")"; done
    echo " $goal |"
done <<ROWS
tap \`serve --forward-to\` / nginx \`proxy_pass\` (keep-alive upstream, 2 workers), same backend|tap|>= 0.9
tap p50 latency at 1 connection, over the backend direct|p50|<= nginx + 20 µs
serve \`--token --sdkappid --refuse\` / bare axum handler|serve|>= 0.9
serve \`--record\` / bare axum ($(cat "$work"/*-record.ndjson | wc -l) lines recorded)|record|>= 0.85
serve with the inspector open and a client on its stream / bare|inspect|>= 0.85
load mode / wrk, and / oha (same target)|load|>= 1.05 both
peak RSS: serve, tap, with \`--record\`|rss|<= 10, 12, 12 MiB
one-shot \`send\` / curl, same POST (hyperfine, mean)|shot|<= 1.05x
ROWS

# The request path's own work, counted rather than timed (steady on a busy host).
if command -v valgrind >/dev/null; then
    echo
    bash bench/instructions.sh
else
    echo "bench: valgrind is not installed: instructions per callback not counted (apt-get install valgrind)" >&2
fi
