#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for SECONDS each (default 20), one
# after the other, starting from the committed seeds (fuzz/corpus-seed/T) and
# growing the working corpus fuzz/corpus/T (not committed). Exit 1 on the
# first crash, timeout or leak: libFuzzer prints the input and writes it to
# fuzz/artifacts/T/. Long runs: `scripts/fuzz.sh 3600` (docs/fuzzing.md).
#
# cargo-fuzz passes -Z flags to rustc; on stable Rust, RUSTC_BOOTSTRAP=1
# allows them. No sanitizer: every Vane crate forbids unsafe code, and
# without ASan the targets run about twice as fast; debug assertions
# (overflow checks) stay on.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${1:-20}
shift || true
export RUSTC_BOOTSTRAP=1
flags=(--sanitizer none --debug-assertions)

cargo fuzz build "${flags[@]}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
for t in "${targets[@]}"; do
    printf 'fuzz: %s for %ss\n' "$t" "$seconds" >&2
    mkdir -p "corpus/$t"
    # -timeout: one input taking over 10 s is a finding (a hang).
    cargo fuzz run "${flags[@]}" "$t" "corpus/$t" "corpus-seed/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 \
        -max_len=65536 -print_final_stats=1 2>&1 |
        grep -E '^(#[0-9]+\s+DONE|stat::|==[0-9]+==|SUMMARY|INFO: seed)|panicked|crash-|Test unit written' || true
    [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "fuzz: $t failed" >&2; exit 1; }
done
