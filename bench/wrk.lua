-- wrk script for bench/bench.py: optional POST body and cookie (from the environment), and a
-- machine-readable summary line. Everything is set at the top level (no request()
-- function), so wrk keeps its fast path: one pre-formatted request reused for every call.
local post = tonumber(os.getenv("BENCH_POST_BYTES") or "0") or 0
if post > 0 then
  wrk.method = "POST"
  wrk.body = string.rep("b", post)
  wrk.headers["Content-Type"] = "application/octet-stream"
end
local cookie = os.getenv("BENCH_COOKIE") or ""
if cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCHJSON {\"requests\":%d,\"duration_us\":%d,\"bytes\":%d,\"connect\":%d,\"read\":%d," ..
    "\"write\":%d,\"status\":%d,\"timeout\":%d,\"p50_us\":%d,\"p90_us\":%d,\"p99_us\":%d," ..
    "\"max_us\":%d,\"mean_us\":%.1f}\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
