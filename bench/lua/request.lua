-- wrk script: method, body and headers come from the environment, so one script
-- serves every scenario (GET documents, form POSTs with Basic or Bearer auth).
wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = os.getenv("BENCH_CONTENT_TYPE") or "application/x-www-form-urlencoded"
end
local auth = os.getenv("BENCH_AUTHORIZATION")
if auth and auth ~= "" then
  wrk.headers["Authorization"] = auth
end

-- Count non-2xx answers so a benchmark of errors cannot pass for a fast one. Each wrk
-- thread has its own Lua state: the counters live there, and done() (run in the main
-- state) adds them up through the thread objects kept by setup().
local threads = {}
setup = function(thread)
  table.insert(threads, thread)
end

bad = 0
response = function(status, headers, body)
  if status < 200 or status > 299 then
    bad = bad + 1
  end
end

done = function(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + (thread:get("bad") or 0)
  end
  io.write(string.format("BENCH_NON_2XX %d\n", total))
end
