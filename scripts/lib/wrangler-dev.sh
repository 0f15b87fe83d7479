# Sourced by scripts/dev.sh, scripts/e2e.sh and scripts/bench.sh: start and stop `wrangler dev`
# offline on a loopback port. wrangler runs in its own process group, so
# stopping it also stops the workerd processes it spawned.

export WRANGLER_SEND_METRICS=false
export WRANGLER_SEND_ERROR_REPORTS=false
export CLOUDFLARE_CF_FETCH_ENABLED=false

WRANGLER_PGID=""

# A free TCP port on 127.0.0.1 (the kernel picks it; released right away).
free_port() {
    node -e 'const s = require("net").createServer();
             s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# start_wrangler PORT STATE_DIR LOG [wrangler dev args...]
# Starts wrangler dev in the background and waits until it answers (60 s).
start_wrangler() {
    local port=$1 state=$2 log=$3
    shift 3
    setsid ./node_modules/.bin/wrangler dev --local --ip 127.0.0.1 --port "$port" \
        --persist-to "$state" --show-interactive-dev-session=false "$@" \
        </dev/null >"$log" 2>&1 &
    WRANGLER_PGID=$!
    wait_until_up "wrangler dev" "$WRANGLER_PGID" "http://127.0.0.1:$port/" "$log"
}

# wait_until_up NAME PID URL LOG: waits (60 s) until URL answers; fails with
# the end of LOG when process PID exits first or the time runs out.
wait_until_up() {
    local name=$1 pid=$2 url=$3 log=$4
    local deadline=$((SECONDS + 60))
    until curl -s -o /dev/null "$url"; do
        if ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
            echo "$name did not start; its log ($log):" >&2
            tail -n 40 "$log" >&2
            return 1
        fi
        sleep 0.2
    done
}

# Stops the wrangler dev started above and everything in its process group.
stop_wrangler() {
    [ -n "$WRANGLER_PGID" ] || return 0
    kill -TERM -- "-$WRANGLER_PGID" 2>/dev/null || true
    local deadline=$((SECONDS + 10))
    while kill -0 -- "-$WRANGLER_PGID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
        sleep 0.2
    done
    kill -KILL -- "-$WRANGLER_PGID" 2>/dev/null || true
    WRANGLER_PGID=""
}
