#!/usr/bin/env bash
# What `oa-hook export` writes, checked with the real tools (run by .ci/run, after cargo test):
#   openapi  the OpenAPI document passes `redocly lint` (npm's @redocly/cli), YAML and JSON;
#   decisions  the Locust file reads a range of answers (conforming, odd, refused, not JSON, not
#            200) to every callback as `oa-hook send` does: the same decision and verdict;
#   k6       the k6 script's own code under Node with a shim of k6/: Tencent's signing vector,
#            requests that `oa-hook serve --token` accepts, and the same readings of those answers;
#   locust   the Locust file run headless, one master and two workers, against `serve --token`:
#            no failure and no refusal, and the decision counts `send` load mode gives for the
#            same callbacks and as many requests.
# Tools missing here are installed into a cache ($OA_HOOK_CI_CACHE, default
# ~/.cache/oa-hook-ci) and reused. Needs the debug binary (cargo build), node and python3.
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=${OA_HOOK_BIN:-$PWD/target/debug/oa-hook}
CACHE=${OA_HOOK_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/oa-hook-ci}
REDOCLY_VERSION=2.77.0
LOCUST_VERSION=2.47.0
TOKEN=export-check-token
CALLBACKS=(before-subscribe before-send after-unsubscribe)
# What `serve --reject` makes Chat decide for each of them, and for each of the eleven.
DECISIONS="before-subscribe rejects-all,before-send refuses-message,after-unsubscribe ignored"
ALL_DECISIONS="before-subscribe rejects-all,before-create denies-creation,before-send refuses-message"
for after in after-unsubscribe after-create after-info-change after-destroy after-subscribe \
    after-full after-send after-withdraw; do
    ALL_DECISIONS+=",$after ignored"
done

work=$(mktemp -d)
serve_pid=
cleanup() {
    [[ -n $serve_pid ]] && kill "$serve_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0
# step NAME COMMAND...: runs a check quietly; its log is shown when it fails.
step() {
    local name=$1
    shift
    if "$@" >"$work/$name.log" 2>&1; then
        passed=$((passed + 1))
        echo "ok    export/$name"
    else
        failed=$((failed + 1))
        echo "FAIL  export/$name"
        sed 's/^/    /' "$work/$name.log"
    fi
}

REDOCLY=$CACHE/redocly/node_modules/.bin/redocly
LOCUST=$CACHE/venv/bin/locust

install_tools() {
    if [[ ! -x $REDOCLY ]]; then
        mkdir -p "$CACHE/redocly"
        npm install --prefix "$CACHE/redocly" --no-save --no-audit --no-fund --loglevel=error \
            "@redocly/cli@$REDOCLY_VERSION"
    fi
    if [[ ! -x $LOCUST ]]; then
        python3 -m venv "$CACHE/venv"
        "$CACHE/venv/bin/pip" install --quiet "locust==$LOCUST_VERSION"
    fi
    "$REDOCLY" --version
    "$LOCUST" --version
}

openapi() (
    cd "$work"
    "$BIN" export openapi >openapi.yaml
    "$BIN" export openapi --format json >openapi.json
    "$REDOCLY" lint --format stylish openapi.yaml openapi.json
)

decisions() {
    "$BIN" export locust --url "$URL/im" all >"$work/locustfile-all.py"
    "$CACHE/venv/bin/python" tests/export/decisions.py "$BIN" "$work/locustfile-all.py" "$work/cases.json"
}

k6() {
    "$BIN" export k6 --url "$URL/im" all >"$work/load.mjs"
    K6_SCRIPT="$work/load.mjs" OA_HOOK_URL="$URL/im" OA_HOOK_TOKEN=$TOKEN \
        K6_DECISIONS=$ALL_DECISIONS K6_CASES="$work/cases.json" \
        node --import ./tests/export/k6/register.mjs --test tests/export/k6.test.mjs
}

locust() (
    "$BIN" export locust --url "$URL/im" "${CALLBACKS[@]}" >"$work/locustfile.py"
    cd "$work"
    for worker in 1 2; do
        OA_HOOK_TOKEN=$TOKEN timeout 120 "$LOCUST" -f locustfile.py --worker \
            >"worker$worker.log" 2>&1 &
    done
    OA_HOOK_TOKEN=$TOKEN timeout 120 "$LOCUST" -f locustfile.py --master \
        --headless --expect-workers 2 --expect-workers-max-wait 60 -u 4 -r 4 -t 4s \
        --only-summary --oa-hook-decisions decisions.json
    wait
    python3 - "$BIN" "$URL/im" "$TOKEN" "$DECISIONS" <<'EOF'
import json, subprocess, sys

binary, url, token, expected = sys.argv[1:]
locust = json.load(open("decisions.json"))
expected = dict(pair.split(" ") for pair in expected.split(","))
assert sorted(locust) == sorted(expected), locust
for name, counts in sorted(locust.items()):
    requests = sum(counts["statuses"].values())
    assert counts["statuses"] == {"200": requests}, f"{name}: refused: {counts}"
    assert counts["decisions"] == {expected[name]: requests}, f"{name}: {counts}"
    sent = subprocess.run(
        [binary, "send", name, "--url", url, "--count", str(requests), "--concurrency", "4", "--output", "json"],
        env={"OA_HOOK_TOKEN": token, "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True,
    )
    load = json.loads(sent.stdout)
    assert load["decisions"] == counts["decisions"], f"{name}: send {load['decisions']}, locust {counts['decisions']}"
    assert load["statuses"] == counts["statuses"], f"{name}: send {load['statuses']}, locust {counts['statuses']}"
    print(f"{name}: {requests} requests, locust and send load mode: {counts['decisions']}")
EOF
)

# The tools first, so that their installation is no check's time or log.
step tools install_tools

"$BIN" serve --listen 127.0.0.1:0 --token "$TOKEN" --reject -q >"$work/serve.out" 2>"$work/serve.err" &
serve_pid=$!
for _ in $(seq 100); do
    [[ -s $work/serve.out ]] && break
    sleep 0.1
done
URL=$(head -1 "$work/serve.out" | sed 's/^listening on //')

step openapi openapi
step decisions decisions
step k6 k6
step locust locust
# The numbers, for the log: the answers read, the k6 tests, Locust's run per callback and its
# comparison with send.
tail -1 "$work/decisions.log"
grep -E '^# (tests|pass|fail) ' "$work/k6.log" || true
grep -E '^(POST|before|after)|Aggregated' "$work/locust.log" || true

echo "export: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
