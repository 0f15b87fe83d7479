#!/usr/bin/env bash
# The README's test command: installs what it needs, then runs every check.
# Stages: formatting, lints, native tests (unit, conformance, properties, CLI).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test (native)"
cargo test --workspace
