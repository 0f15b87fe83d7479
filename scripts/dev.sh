#!/usr/bin/env bash
# The README's run command: builds the example snapshots and the worker,
# starts `wrangler dev` on 127.0.0.1:${VANE_PORT:-8787} with a fresh local KV,
# publishes every example tenant through the admin API with `vane publish`,
# and prints the URL, each example tenant's client key and a ready-to-paste
# curl. Ctrl-C stops everything it started.
#
# ADMIN_TOKEN comes from .dev.vars (git-ignored); a random one is written
# there the first time.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/wrangler-dev.sh

port=${VANE_PORT:-8787}
url="http://127.0.0.1:$port"
if curl -s -o /dev/null "$url/"; then
    echo "dev: something already listens on $url; stop it or set VANE_PORT" >&2
    exit 1
fi

scripts/install-toolchain.sh
cargo build -q -p vane-snapshot-builder --bin vane
vane=target/debug/vane
scripts/build-worker.sh
scripts/build-web.sh

if ! grep -qs '^ADMIN_TOKEN=.' .dev.vars; then
    token=$(node -e 'console.log(require("crypto").randomBytes(18).toString("hex"))')
    printf 'ADMIN_TOKEN=%s\n' "$token" >> .dev.vars
    echo "dev: wrote a new ADMIN_TOKEN to .dev.vars" >&2
fi
# The key that seals Confidence resolve tokens (docs/confidence.md).
if ! grep -qs '^RESOLVE_TOKEN_KEY=.' .dev.vars; then
    key=$(node -e 'console.log(require("crypto").randomBytes(32).toString("hex"))')
    printf 'RESOLVE_TOKEN_KEY=%s\n' "$key" >> .dev.vars
    echo "dev: wrote a new RESOLVE_TOKEN_KEY to .dev.vars" >&2
fi
export VANE_ADMIN_TOKEN
VANE_ADMIN_TOKEN=$(sed -n 's/^ADMIN_TOKEN=//p' .dev.vars | head -n 1)

# The example tenants: tenant, rules file, extra build arguments, client key.
examples=$(node -e '
    for (const e of require("./scripts/examples.json"))
        console.log([e.tenant, e.rules, e.build_args.join(" "), e.client_key ?? ""].join("|"));')

state=.wrangler/dev
rm -rf "$state"
mkdir -p "$state/snapshots"
while IFS="|" read -r tenant rules args _; do
    # shellcheck disable=SC2086 # build arguments are words
    "$vane" build "$rules" -o "$state/snapshots/$tenant.cbor" $args
done <<<"$examples"

trap stop_wrangler EXIT
trap 'exit 130' INT TERM
start_wrangler "$port" "$state/kv" "$state/wrangler.log"

while IFS="|" read -r tenant _ _ _; do
    "$vane" publish "$state/snapshots/$tenant.cbor" --url "$url" >/dev/null
    echo "dev: published $tenant" >&2
done <<<"$examples"

first_key=""
cat <<EOF_INFO

Vane worker running at $url  (admin token: .dev.vars; log: $state/wrangler.log)
Playground: $url/playground/
Exposures:  $url/exposures/  (asks for the admin token: ADMIN_TOKEN in .dev.vars)

Example tenants and client keys:
EOF_INFO
while IFS="|" read -r tenant rules _ key; do
    printf '  %-8s %-28s %s\n' "$tenant" "$rules" "${key:-(no client key: the rules name none)}"
    [ -n "$first_key" ] || first_key=$key
done <<<"$examples"
cat <<EOF_INFO

Every flag for a user (bulk OFREP):
  curl -s -X POST $url/ofrep/v1/evaluate/flags \\
    -H 'Authorization: Bearer $first_key' -H 'Content-Type: application/json' \\
    -d '{"context":{"targetingKey":"user-1","email":"ana@shop.example","country":"DE"}}'

After editing a rules file (examples/shop.yaml here), rebuild and publish it; then check:
  $vane build examples/shop.yaml -o $state/snapshots/shop.cbor && \\
    $vane publish $state/snapshots/shop.cbor --url $url --token \$(sed -n 's/^ADMIN_TOKEN=//p' .dev.vars)
  $vane status --tenant shop --url $url --token \$(sed -n 's/^ADMIN_TOKEN=//p' .dev.vars)
Ctrl-C stops the worker.
EOF_INFO

tail -n 0 -f "$state/wrangler.log" &
tail_pid=$!
trap 'kill "$tail_pid" 2>/dev/null || true; stop_wrangler' EXIT
wait "$WRANGLER_PGID"
