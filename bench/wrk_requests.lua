-- wrk script for bench/ingest.py: replays pre-signed webhooks, each sent at most once.
--
--   wrk -t1 -c64 -d10s --latency -s bench/wrk_requests.lua http://127.0.0.1:PORT \
--       -- POOL_FILE FIRST COUNT THREADS once|wrap
--
-- POOL_FILE has one request per line: path TAB header-name TAB header-value TAB body
-- (the body is compact JSON, so it holds no raw tab or newline). Lines FIRST .. FIRST+COUNT-1
-- are split into THREADS disjoint slices; wrk thread i (numbered in setup) replays slice i in
-- order. With "once" a thread that runs out wraps around but reports exhausted=true, so the
-- caller can refuse the run (a repeated webhook is a duplicate, not a new message); "wrap" is
-- for the bare handler, which stores nothing. No response() function: defining one makes wrk
-- parse every response in Lua, which would slow the load generator on a shared machine.

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("tid", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

function init(args)
   local file = args[1]
   local first, count, nthreads = tonumber(args[2]), tonumber(args[3]), tonumber(args[4])
   local per = math.floor(count / nthreads)
   local lo = first + tid * per
   local hi = lo + per
   reqs = {}
   local i = 0
   for line in io.lines(file) do
      if i >= hi then
         break
      end
      if i >= lo then
         local path, name, value, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
         local headers = { [name] = value, ["Content-Type"] = "application/json" }
         reqs[#reqs + 1] = wrk.format("POST", path, headers, body)
      end
      i = i + 1
   end
   n = #reqs
   idx = 0
   sent = 0
   exhausted = false
   first_line = lo
   -- wrk calls request() once on its first thread right after init, to check the request
   -- parses (script_verify_request); that call must not use up a webhook.
   verifying = (tid == 0)
end

function request()
   if verifying then
      verifying = false
      return reqs[1]
   end
   idx = idx + 1
   if idx > n then
      idx = 1
      exhausted = true
   end
   sent = sent + 1
   return reqs[idx]
end

function done(summary, latency, requests)
   local parts = {}
   local total_sent = 0
   local exhausted_any = false
   for _, thread in ipairs(threads) do
      local s = thread:get("sent") or 0
      total_sent = total_sent + s
      if thread:get("exhausted") then
         exhausted_any = true
      end
      parts[#parts + 1] = string.format('{"first":%.0f,"sent":%.0f}', thread:get("first_line"), s)
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,"status_errors":%.0f,'
         .. '"connect_errors":%.0f,"read_errors":%.0f,"write_errors":%.0f,"timeouts":%.0f,'
         .. '"sent":%.0f,"exhausted":%s,"threads":[%s],'
         .. '"lat_mean_us":%.1f,"lat_max_us":%.0f,"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,'
         .. '"p999_us":%.0f}\n',
      summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write,
      e.timeout, total_sent, tostring(exhausted_any), table.concat(parts, ","),
      latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9)))
end
