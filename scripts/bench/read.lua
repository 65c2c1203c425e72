-- wrk script: GET one path as several users in turn (read endpoints need no
-- Idempotency-Key, only each request's Authorization).
--
-- Environment (set by bench.py):
--   BENCH_TOKENS   file of "user_id token" lines; requests rotate through
--                  them (thread n starts at line n + 1)
--   BENCH_PATH     the path and query to GET
--   BENCH_OUT      where done() writes its JSON summary

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local reqs = {}
local pos = 0
ok, other = 0, 0

function init(args)
  local path = os.getenv("BENCH_PATH")
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    local user, token = line:match("^(%d+) (%S+)$")
    if user then
      table.insert(reqs, wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token }))
    end
  end
  pos = tid % #reqs
end

function request()
  pos = pos % #reqs + 1
  return reqs[pos]
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local k, o = 0, 0
  for _, t in ipairs(threads) do
    k = k + t:get("ok")
    o = o + t:get("other")
  end
  local e = summary.errors
  local f = io.open(os.getenv("BENCH_OUT"), "w")
  f:write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"ok":%d,"non_200":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout, k, o))
  f:close()
end
