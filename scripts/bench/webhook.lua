-- wrk script: Stripe's payment_intent.succeeded webhooks, one per pending
-- payment, each signed (bench.py signs them just before the run, so they
-- are inside Stripe's 300 s tolerance).
--
-- Environment (set by bench.py):
--   BENCH_EVENTS  file of "signature<TAB>body" lines, one event each
--   BENCH_OUT     where done() writes its JSON summary
--
-- Thread n of N sends lines n, n+N, n+2N, ...; no event is sent twice
-- unless the file runs out (counted as "wrapped": the figures are then
-- partly duplicates, and bench.py says so).

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local events = {}
local pos = 0
processed, duplicate, other, wrapped = 0, 0, 0, 0

function init(args)
  local n = tonumber(os.getenv("BENCH_THREADS"))
  local i = 0
  for line in io.lines(os.getenv("BENCH_EVENTS")) do
    if i % n == tid then
      local sig, body = line:match("^([^\t]+)\t(.*)$")
      table.insert(events, wrk.format("POST", "/api/payments/webhooks/stripe/", {
        ["Stripe-Signature"] = sig,
        ["Content-Type"] = "application/json",
      }, body))
    end
    i = i + 1
  end
end

function request()
  pos = pos + 1
  if pos > #events then
    pos = 1
    wrapped = wrapped + 1
  end
  return events[pos]
end

function response(status, headers, body)
  if status ~= 200 then
    other = other + 1
  elseif body:find('"processed"', 1, true) then
    processed = processed + 1
  else
    duplicate = duplicate + 1
  end
end

function done(summary, latency, requests)
  local p, d, o, w = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    p = p + t:get("processed")
    d = d + t:get("duplicate")
    o = o + t:get("other")
    w = w + t:get("wrapped")
  end
  local e = summary.errors
  local f = io.open(os.getenv("BENCH_OUT"), "w")
  f:write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"processed":%d,"duplicate":%d,"non_200":%d,"wrapped":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout, p, d, o, w))
  f:close()
end
