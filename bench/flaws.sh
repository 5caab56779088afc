#!/usr/bin/env bash
# The figures of BENCHMARKS.md for check's delivery and fuzz cases, in an optimized build:
#   1. how many generated callbacks, and how many seconds, check --fuzz (at the default N)
#      takes to find and shrink each flaw planted in a backend, over ten seeds; and the
#      delivery cases' time against their flaws (tests/it/figures.rs, which cargo test ignores);
#   2. false failures against oa-hook serve over PER_COMMAND generated callbacks for each of
#      the eleven commands (default 9091: 100,001 in all), signed, with --refuse.
# Knobs: PER_COMMAND, SEED (default 1), SKIP_FLAWS=1 (the second figure alone).
set -euo pipefail
cd "$(dirname "$0")/.."

PER_COMMAND=${PER_COMMAND:-9091}
SEED=${SEED:-1}
TOKEN=bench-token

if [ "${SKIP_FLAWS:-0}" != 1 ]; then
    echo "flaws: check against backends with a planted flaw (tests/it/figures.rs)" >&2
    cargo test --release --quiet --test it -- --ignored --nocapture --test-threads 1 \
        figures:: 2>&1 | grep '^|'
fi

cargo build --release --quiet --bin oa-hook
BIN=target/release/oa-hook
work=$(mktemp -d)
"$BIN" serve --listen 127.0.0.1:0 --token "$TOKEN" --refuse jared -q \
    >"$work/serve.out" 2>"$work/serve.err" &
serve=$!
trap 'kill $serve 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
url=
for _ in $(seq 1 200); do
    url=$(sed -n 's/^listening on \(http[^ ]*\).*/\1/p' "$work/serve.out" | head -n 1)
    [ -n "$url" ] && break
    sleep 0.05
done
[ -n "$url" ] || { echo "flaws: serve did not start" >&2; cat "$work/serve.err" >&2; exit 1; }

echo "false failures: check --fuzz $PER_COMMAND --command all --seed $SEED against serve" >&2
start=$(date +%s.%N)
status=0
(cd "$work" && OA_HOOK_TOKEN=$TOKEN "$OLDPWD/$BIN" check --url "$url/im" --only fuzz \
    --command all --fuzz "$PER_COMMAND" --seed "$SEED" --output json) >"$work/report.json" ||
    status=$?
end=$(date +%s.%N)
jq -r '.cases[] | "\(.id)  \(.status)  checked \(.fuzz.checked), undecided \(.fuzz.undecided)"' \
    "$work/report.json"
failed=$(jq '[.cases[] | select(.status != "pass")] | length' "$work/report.json")
callbacks=$(jq '[.cases[] | select(.id == "fuzz/conforming-in-time") | .fuzz.checked] | add' \
    "$work/report.json")
requests=$(jq '.went_ahead.before_callbacks' "$work/report.json")
printf 'false failures: %s of 4 properties over %s generated callbacks (%s before callbacks sent, variants included) in %.1f s; exit %s\n' \
    "$failed" "$callbacks" "$requests" "$(echo "$end - $start" | bc)" "$status"
exit "$status"
