-- wrk script for the apkd benchmarks (Debian's wrk 4.x, LuaJIT).
--
-- wrk <opts> -s apkd.lua URL -- MODE FILE RATE THREADS ONCE SAMPLES
--   MODE     "save": PUT /api/v1/attempts/{id}/responses/{pos} with the candidate's token and a
--            rising seq per item; "put-bare": the same body to the bare UPSERT baseline
--            (/save/{id}/{pos}); "get" / "post": GET or POST (empty body) the file's paths with
--            their tokens (roster, registry; start, submit).
--   FILE     one line per target: "<attempt id or path> <token or ->".
--   RATE     requests per second for the whole run (0: as fast as answers come back).
--   THREADS  wrk's -t (each thread takes its share of FILE).
--   ONCE     "once": each line is requested once, then its thread idles (needs -t = -c);
--            "loop": the lines are cycled over until the run ends.
--   SAMPLES  a file to write "<scheduled us from start> <latency us>" per request to, or "-".
--   SEQBASE  where this run's seqs start (above every earlier run's: the clock in microseconds).
--
-- Each wrk thread takes its own share of the file's lines (line k goes to thread k mod T), so
-- a candidate's saves only ever come from one thread, in order: its seq rises, never races.
-- wrk gives a script no connection identity, so a thread cycles over its candidates one
-- request each (a candidate's next save follows only after every other of that thread's).
--
-- With RATE, wrk must run one connection per thread (-t N -c N): each connection then sends
-- on a fixed schedule (RATE / N per second, staggered), and latency is counted from the
-- scheduled time, not from when the request could be sent (as wrk2 does, no coordinated
-- omission): a server that falls behind is charged for the queue it causes. The schedule
-- needs a wall clock, which stock Lua lacks: LuaJIT's ffi calls clock_gettime.
--
-- done() prints one line "APKD-WRK {json}" that bench/common.py parses.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } apkd_timespec;
  int clock_gettime(int clk_id, apkd_timespec *tp);
]]
local ts = ffi.new("apkd_timespec")
local function now()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC: the same clock in every thread
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

-- main state: number the threads ----------------------------------------------------------
local threads = {}
local counter = 0

function setup(thread)
  thread:set("thread_index", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

-- thread state ----------------------------------------------------------------------------
local mode, targets, n, k
local positions = 40
local seqs = {}
local interval, next_slot, sent_slot, once, seq_base
lat = {}        -- latencies in microseconds (rate mode), read by done()
sent = {}       -- their scheduled times (CLOCK_MONOTONIC, microseconds)
status = {}     -- answers per status code, read by done()

function init(args)
  mode = args[1]
  local file = args[2]
  local rate = tonumber(args[3] or "0") or 0
  local nthreads = tonumber(args[4] or "1") or 1
  once = args[5] == "once"
  sample_path = args[6] or "-"
  seq_base = tonumber(args[7] or "0") or 0
  targets = {}
  local line_no = 0
  for line in io.lines(file) do
    if line ~= "" then
      if line_no % nthreads == thread_index then
        local id, token = line:match("^(%S+)%s+(%S+)$")
        local headers = {}
        if token ~= "-" then headers["Authorization"] = "Bearer " .. token end
        if mode ~= "get" then headers["Content-Type"] = "application/json" end
        headers["Accept"] = "application/json"
        table.insert(targets, {id = id, headers = headers, pos = 0})
      end
      line_no = line_no + 1
    end
  end
  n = #targets
  if n == 0 then error("thread " .. thread_index .. " got no targets from " .. file) end
  k = 0
  if rate > 0 then
    interval = nthreads / rate  -- each thread is one connection
    next_slot = now() + 0.05 + interval * thread_index / nthreads  -- staggered start
  end
end

function delay()
  if once and k >= n then
    wrk.thread:stop()
    return 3600000
  end
  if interval == nil then return 0 end
  next_slot = next_slot + interval
  local wait = next_slot - now()
  if wait <= 0 then return 0 end
  return math.floor(wait * 1000)
end

function request()
  k = k % n + 1
  local t = targets[k]
  if interval ~= nil then
    if sent_slot == nil then
      -- the first request of the connection waits for its slot inside delay(); wrk does not
      -- call delay() before it, so this one is counted from when it is sent
      sent_slot = now()
      next_slot = math.max(next_slot, sent_slot)
    else
      -- counted from the scheduled time, or from the send when the timer (1 ms steps) fired early
      sent_slot = math.max(next_slot, now())
    end
  end
  if mode == "get" or mode == "post" then
    return wrk.format(string.upper(mode), t.id, t.headers, nil)
  end
  t.pos = t.pos % positions + 1
  local key = t.id .. ":" .. t.pos
  local seq = (seqs[key] or seq_base) + 1
  seqs[key] = seq
  local body = string.format('{"response":%d,"seq":%d,"current_position":%d}', seq % 1000000, seq, t.pos)
  local path
  if mode == "save" then
    path = "/api/v1/attempts/" .. t.id .. "/responses/" .. t.pos
  else
    path = "/save/" .. t.id .. "/" .. t.pos
  end
  return wrk.format("PUT", path, t.headers, body)
end

function response(code, headers, body)
  status[code] = (status[code] or 0) + 1
  if interval ~= nil and sent_slot ~= nil then
    lat[#lat + 1] = math.floor((now() - sent_slot) * 1e6)
    sent[#sent + 1] = math.floor(sent_slot * 1e6)
  end
end

-- main state: one line of results ------------------------------------------------------------
function done(summary, latency, requests)
  local all, codes, times = {}, {}, {}
  local sample_file = nil
  for _, thread in ipairs(threads) do
    local tl, ts = thread:get("lat") or {}, thread:get("sent") or {}
    for i, v in ipairs(tl) do
      all[#all + 1] = v
      times[#times + 1] = ts[i]
    end
    for code, c in pairs(thread:get("status") or {}) do codes[code] = (codes[code] or 0) + c end
    sample_file = thread:get("sample_path")
  end
  if sample_file ~= nil and sample_file ~= "-" and #all > 0 then
    local t0 = math.huge
    for _, t in ipairs(times) do t0 = math.min(t0, t) end
    local f = assert(io.open(sample_file, "w"))
    for i, v in ipairs(all) do f:write(times[i] - t0, " ", v, "\n") end
    f:close()
  end
  table.sort(all)
  local function q(p)
    if #all == 0 then return -1 end
    return all[math.min(#all, math.floor(p * #all) + 1)]
  end
  local parts = {}
  for code, c in pairs(codes) do parts[#parts + 1] = '"' .. code .. '":' .. c end
  local errors = summary.errors
  io.write(string.format(
    'APKD-WRK {"requests":%d,"duration_us":%d,"status":{%s},"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"timeouts":%d,"wrk_p50_us":%d,"wrk_p99_us":%d,"wrk_max_us":%d,' ..
    '"sched_n":%d,"sched_p50_us":%d,"sched_p90_us":%d,"sched_p99_us":%d,"sched_max_us":%d}\n',
    summary.requests, summary.duration, table.concat(parts, ","), errors.connect, errors.read,
    errors.write, errors.timeout, latency:percentile(50), latency:percentile(99), latency.max,
    #all, q(0.5), q(0.9), q(0.99), #all > 0 and all[#all] or -1))
end
