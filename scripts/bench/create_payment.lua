-- wrk script: POST /api/payments/ as many students buying random courses.
--
-- Environment (set by bench.py):
--   BENCH_TOKENS   file of "user_id token" lines (students)
--   BENCH_COURSES  item ids are 1..BENCH_COURSES
--   BENCH_ITEM     "course" (default) or "event": what is bought
--   BENCH_COUPON   coupon code to send, empty for none
--   BENCH_REPLAY   percentage of requests that replay an earlier request
--                  (same key, same user, same body): they must get the
--                  stored answer, not a second payment
--   BENCH_LAG      a replay repeats a request at least this many requests
--                  old (bench.py: 4 x connections), so that its first answer
--                  is stored: a replay of a request still running is a 409
--   BENCH_RUN      a tag that makes this run's idempotency keys unique
--   BENCH_OUT      where done() writes its JSON summary

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local tokens = {}
local courses, coupon, replay_pct, run_tag, item_field
local history, history_size, sent = {}, 4096, 0
local replay_lag
created, replayed, other = 0, 0, 0

function init(args)
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    local user, token = line:match("^(%d+) (%S+)$")
    if user then table.insert(tokens, token) end
  end
  courses = tonumber(os.getenv("BENCH_COURSES"))
  coupon = os.getenv("BENCH_COUPON") or ""
  item_field = (os.getenv("BENCH_ITEM") == "event") and "event_id" or "course_id"
  replay_pct = tonumber(os.getenv("BENCH_REPLAY") or "10")
  replay_lag = tonumber(os.getenv("BENCH_LAG") or "128")
  run_tag = os.getenv("BENCH_RUN") or tostring(os.time())
  math.randomseed(os.time() * 100 + tid)
end

local function build(token, body, key)
  return wrk.format("POST", "/api/payments/", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = key,
  }, body)
end

function request()
  sent = sent + 1
  if sent > replay_lag and math.random(100) <= replay_pct then
    local oldest = math.max(1, sent - history_size + replay_lag)
    local h = history[math.random(oldest, sent - replay_lag) % history_size]
    if h then return build(h[1], h[2], h[3]) end
  end
  local token = tokens[math.random(#tokens)]
  local body
  if coupon ~= "" then
    body = string.format('{"%s":%d,"coupon_code":"%s","payment_method":"sandbox"}', item_field, math.random(courses), coupon)
  else
    body = string.format('{"%s":%d,"payment_method":"sandbox"}', item_field, math.random(courses))
  end
  local key = string.format("%s-%d-%d", run_tag, tid, sent)
  history[sent % history_size] = { token, body, key }
  return build(token, body, key)
end

function response(status, headers, body)
  -- actix writes header names in lower case; wrk keeps them as sent.
  local replay = headers["idempotent-replayed"] or headers["Idempotent-Replayed"]
  if status == 201 and replay then
    replayed = replayed + 1
  elseif status == 201 then
    created = created + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local c, r, o = 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created")
    r = r + t:get("replayed")
    o = o + t:get("other")
  end
  local e = summary.errors
  local f = io.open(os.getenv("BENCH_OUT"), "w")
  f:write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"created":%d,"replayed":%d,"non_201":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout, c, r, o))
  f:close()
end
