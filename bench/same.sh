#!/usr/bin/env bash
# No verdict changes for speed: sends the same fixed-clock requests to `serve` (the mock) and
# to the tap of two oa-hook binaries, OLD and NEW, and diffs what each said: the answers
# (status, Content-Type, body), the event lines (--output json) and the records. Timings
# (latency_ms, waited, and the like) are the only fields masked; they differ between any two
# runs. The tap's backend answers by the `mode` in the query: ok, refuse, a 500, a 102, a 700,
# broken HTTP, a cut-short body, Connection: close, an answer over 1 MiB, too slow, no backend.
# Usage: OLD=path/to/old/oa-hook [NEW=target/release/oa-hook] bash bench/same.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${OLD:?OLD=path/to/the/oa-hook to compare with}
NEW=${NEW:-target/release/oa-hook}
. bench/lib.sh
export OA_HOOK_NOW=1700000000

cat > "$work/backend.py" <<'PY'
import socket, sys, threading, urllib.parse
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(64)
print("listening on http://127.0.0.1:%d" % s.getsockname()[1], flush=True)
OK = b'{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}'
REFUSE = b'{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0,"RefusedSubscribers":["jared"]}'
def answer(status, body, extra=b""):
    return b"HTTP/1.1 %s\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n" % (status, extra, len(body)) + body
def serve(c):
    buf = b""
    while True:
        d = c.recv(65536)
        if not d: return
        buf += d
        while b"\r\n\r\n" in buf:
            head, rest = buf.split(b"\r\n\r\n", 1)
            n = 0
            for l in head.split(b"\r\n"):
                if l.lower().startswith(b"content-length:"): n = int(l.split(b":")[1])
            if len(rest) < n: break
            buf = rest[n:]
            target = head.split(b" ")[1].decode()
            mode = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query).get("mode", ["ok"])[0]
            if mode == "slow":
                threading.Event().wait(1.5); c.sendall(answer(b"200 OK", OK)); continue
            out = {
                "ok": answer(b"200 OK", OK),
                "refuse": answer(b"200 OK", REFUSE),
                "500": answer(b"500 Internal Server Error", b"oops"),
                "102": b"HTTP/1.1 102 Processing\r\n\r\n" + answer(b"200 OK", OK),
                "700": answer(b"700 Odd", OK),
                "broken": b"NOT HTTP AT ALL\r\n\r\n",
                "short": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}",
                "close": answer(b"200 OK", OK, b"Connection: close\r\n"),
                "big": answer(b"200 OK", b" " * (1024 * 1024 + 10) + OK),
            }[mode]
            c.sendall(out)
            if mode in ("broken", "short", "close"):
                c.close(); return
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
start backend python3 "$work/backend.py"
BACKEND=$URL
NOWHERE=http://127.0.0.1:$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# requests SIDE URL: sends the fixed requests to URL, writing each answer to SIDE's file.
requests() {
    local side=$1 base=$2 out="$work/$1.answers"
    : > "$out"
    send() { # send NAME CURL-ARGS...
        local name=$1; shift
        echo "== $name" >> "$out"
        curl -s --max-time 5 -o "$work/body" -w '%{http_code} %{content_type}\n' "$@" >> "$out" || echo "curl failed $?" >> "$out"
        head -c 2000 "$work/body" >> "$out"; echo >> "$out"
    }
    for command in before-subscribe after-unsubscribe before-create before-send after-send; do
        "$OLD" sample "$command" --format body > "$work/$command.json"
        for mode in ok refuse 500 102 700 broken short close big slow; do
            url=$("$OLD" sample "$command" --url "$base/im?mode=$mode" --token t --sdkappid 1 --format url)
            send "$command $mode" -X POST -H 'Content-Type: application/json' --data-binary @"$work/$command.json" "$url"
        done
    done
    body=$work/before-subscribe.json
    signed=$("$OLD" sample before-subscribe --url "$base/im?mode=ok" --token t --sdkappid 1 --format url)
    send "forged sign" -X POST --data-binary @"$body" "${signed/Sign=/Sign=0}"
    send "wrong appid" -X POST --data-binary @"$body" "${signed/SdkAppid=1/SdkAppid=2}"
    send "unsigned" -X POST --data-binary @"$body" "$base/im?mode=ok"
    send "not json" -X POST --data-binary 'not json' "$signed"
    send "empty body" -X POST "$signed"
    send "get" "$signed"
    send "odd query" -X POST --data-binary @"$body" "$signed&x=%22a%22&y='b'&z={c}"
    send "other command" -X POST --data-binary '{"CallbackCommand":"Other.Thing"}' "${signed/OfficialAccount.CallbackBeforeAddSubscriber/Other.Thing}"
}

# run SIDE BIN ARGS...: serve on its own, the requests, then its events and record.
run() {
    local side=$1 bin=$2; shift 2
    : > "$work/$side.err"
    "$bin" serve --listen 127.0.0.1:0 --token t --sdkappid 1 --output json \
        --record "$work/$side.record" --timeout 1s "$@" >"$work/$side.out" 2>"$work/$side.err" &
    PID=$!
    pids+=("$PID")
    # With --output json every stdout line is an event; the banner is on stderr.
    URL=$(listening "$work/$side.err" "$PID")
    [ -n "$URL" ] || { echo "bench: $side did not start" >&2; cat "$work/$side.err" >&2; exit 1; }
    requests "$side" "$URL"
    kill -TERM "$PID"; wait "$PID" || true
}

mask() {
    python3 -c '
import json, re, sys
TIMED = re.compile(r"(latency|waited|_ms$|elapsed|duration)")
def walk(v):
    if isinstance(v, dict):
        return {k: (0 if TIMED.search(k) and isinstance(v[k], (int, float)) else walk(v[k])) for k in v}
    if isinstance(v, list):
        return [walk(x) for x in v]
    if isinstance(v, str):
        return re.sub(r"\b\d+(\.\d+)? ?(ms|µs|s)\b", "T", v)
    return v
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    try:
        value = json.loads(line)
        # Where each server listened: a port of its own.
        if isinstance(value, dict) and "listening" in value:
            continue
        print(json.dumps(walk(value), ensure_ascii=False))
    except ValueError:
        print(re.sub(r"\b\d+(\.\d+)? ?(ms|µs|s)\b", "T", line))' "$1"
}

status=0
for what in mock tap nowhere; do
    case $what in
        mock) args=(--refuse jared) ;;
        tap) args=(--forward-to "$BACKEND") ;;
        nowhere) args=(--forward-to "$NOWHERE") ;;
    esac
    run "old-$what" "$OLD" "${args[@]}"
    run "new-$what" "$NEW" "${args[@]}"
    for part in answers out record; do
        mask "$work/old-$what.$part" > "$work/old"
        mask "$work/new-$what.$part" > "$work/new"
        if diff -u "$work/old" "$work/new" > "$work/diff"; then
            echo "$what $part: identical ($(wc -l < "$work/new") lines)"
            [ -z "${KEEP:-}" ] || cp "$work/new" "$KEEP/$what.$part"
        else
            echo "$what $part: DIFFERENT"; head -40 "$work/diff"; status=1
        fi
    done
done
exit $status
