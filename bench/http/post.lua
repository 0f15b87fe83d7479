-- wrk script for the HTTP load tests (scripts/bench.sh, stages `http` and
-- `workerd`): POSTs a fixed JSON body with a fixed Authorization header (the
-- client key: `Bearer KEY` for Vane's OFREP, the token for Unleash Edge), and
-- prints one JSON line when done with the request count, errors (socket and
-- non-2xx) and latency percentiles (µs). Configured through the environment:
-- BENCH_BODY, BENCH_AUTH, BENCH_LABEL.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"label":"%s","requests":%d,"seconds":%.3f,"rps":%.1f,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d},"bytes":%d}\n',
    os.getenv("BENCH_LABEL"), summary.requests, summary.duration / 1e6,
    summary.requests / (summary.duration / 1e6),
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    summary.bytes))
end
