#!/usr/bin/env bash
# The README's test command: installs what it needs, then runs every check.
# Stages: toolchain, formatting, lints (native and wasm32), native tests
# (unit, flagd and JsonLogic conformance, properties, CLI, golden snapshot),
# then the end-to-end worker tests under wrangler dev and the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
scripts/install-toolchain.sh --test

step "the repository stands alone (no file refers to a sibling folder)"
scripts/check-standalone.sh

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p vane-worker -p vane-resolver --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p vane-snapshot-builder --lib --no-default-features --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p vane-snapshot-builder --lib --test browser --no-default-features --features wasm --target wasm32-unknown-unknown -- -D warnings

step "cargo test (native)"
cargo test --workspace

step "fuzz targets, 20 s each (docs/fuzzing.md has the long runs)"
scripts/fuzz.sh 20

step "end-to-end: the worker under wrangler dev"
scripts/e2e.sh

step "hardening: cross-tenant probe, churn and load under wrangler dev, briefly (docs/hardening.md)"
scripts/hardening.sh 5 2000

step "wrangler deploy --dry-run (the deploy configuration cannot rot)"
scripts/deploy-check.sh

step "browser: wasm-bindgen-test and Playwright in headless Chromium"
scripts/browser-tests.sh

step "benchmarks, smoke mode (every stage briefly, so the suite cannot rot)"
scripts/bench.sh --smoke
