#!/usr/bin/env bash
# Installs what building and running the worker needs, from the registries
# only (see docs/toolchain.md): the wasm32 target, worker-build,
# wasm-bindgen-cli of exactly the version Cargo.lock pins (with
# wasm-bindgen-test-runner) and the npm packages of package-lock.json
# (wrangler, esbuild, the e2e test's validator, the OpenFeature web SDK and
# playwright-core). With --test, also what only the tests need: cargo-fuzz,
# Chromium and chromedriver (apt), the Confidence web client's own npm
# folder and DuckDB (pip) for the exposure log's end-to-end test.
# Idempotent: each step checks first and costs nothing when its piece is
# already there.
#
# Usage: scripts/install-toolchain.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."

tests=false
[ "${1:-}" != "--test" ] || tests=true

WORKER_BUILD_VERSION=0.8.7
say() { printf 'install-toolchain: %s\n' "$*" >&2; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi

if [ "$(worker-build --version 2>/dev/null || true)" != "$WORKER_BUILD_VERSION" ]; then
    say "installing worker-build $WORKER_BUILD_VERSION (takes ~5 min on 2 cores)"
    cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
fi

# wasm-bindgen-cli must equal the wasm-bindgen crate in Cargo.lock exactly.
# Without --locked: its own lock file names a crate version the registry lacks.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
if [ -z "$WASM_BINDGEN_VERSION" ]; then
    say "Cargo.lock has no wasm-bindgen entry; run a cargo build of the worker first"
    exit 1
fi
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (~2 min)"
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# npm ci reinstalls from scratch; skip it while node_modules matches the lock.
# The Confidence web client has its own folder and lock file (its peer
# dependency is an old @openfeature/web-sdk).
npm_dirs=(.)
if $tests; then npm_dirs+=(web/confidence-client); fi
for dir in "${npm_dirs[@]}"; do
    if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.vane-installed-lock" 2>/dev/null; then
        say "npm ci ($dir)"
        (cd "$dir" && npm ci --no-audit --no-fund)
        cp "$dir/package-lock.json" "$dir/node_modules/.vane-installed-lock"
    fi
done

$tests || exit 0

# cargo-fuzz for the fuzz targets (scripts/fuzz.sh, docs/fuzzing.md).
CARGO_FUZZ_VERSION=0.13.2
if [ "$(cargo fuzz --version 2>/dev/null || true)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
    say "installing cargo-fuzz $CARGO_FUZZ_VERSION (~2 min)"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

# Headless Chromium and its WebDriver for the browser tests
# (scripts/browser-tests.sh: Playwright and wasm-bindgen-test-runner).
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    say "installing chromium and chromium-driver (apt)"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update
    $sudo apt-get install -y chromium chromium-driver
fi

# DuckDB (PyPI) reads the exposure log's R2 files in the end-to-end test
# (scripts/exposures-duckdb.py): an engine no one here wrote.
DUCKDB_VERSION=2.0.1
if [ "$(python3 -c 'import duckdb; print(duckdb.__version__)' 2>/dev/null || true)" != "$DUCKDB_VERSION" ]; then
    say "installing duckdb $DUCKDB_VERSION (pip)"
    python3 -m pip install --quiet "duckdb==$DUCKDB_VERSION"
fi
