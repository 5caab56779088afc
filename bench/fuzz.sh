#!/usr/bin/env bash
# Fuzzes oa-hook's protocol: the property tests of src/protocol/fuzz.rs (every parser and judge:
# signing, the query, the event readers, the duplicate-key scan, answer judging, the receiver),
# each with CASES generated inputs instead of `cargo test`'s 256, in an optimized build that
# keeps overflow checks ([profile.fuzz] in Cargo.toml). A failing input is shrunk to a minimal
# one, printed, and saved under proptest-regressions/ (commit it: it is run first from then on).
# Knobs: CASES (per property, default 1000000: about 25 min on one core), THREADS (properties
# at once, default 1).
set -euo pipefail
cd "$(dirname "$0")/.."

CASES=${CASES:-1000000}
THREADS=${THREADS:-1}

# The test binary is run directly, so that editing the sources during a long run changes nothing.
binary=$(cargo test --profile fuzz --lib --no-run --message-format=json |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[ -x "$binary" ] || { echo "fuzz: no test binary was built" >&2; exit 2; }
tests=(protocol::fuzz)
properties=$("$binary" "${tests[@]}" --list | grep -c ': test$' || true)
echo "fuzz: $properties properties x $CASES cases, $THREADS at a time ($binary)" >&2
start=$(date +%s)
status=0
PROPTEST_CASES=$CASES "$binary" "${tests[@]}" --test-threads "$THREADS" || status=$?
elapsed=$(($(date +%s) - start))
verdict=$([ "$status" = 0 ] && echo 'no failure' || echo 'FAILED: the minimal inputs are above')
echo "fuzz: $((properties * CASES)) inputs in ${elapsed} s; $verdict" >&2
exit "$status"
