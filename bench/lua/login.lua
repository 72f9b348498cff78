-- wrk script for scenario 4: the whole interactive login as a browser without JavaScript
-- does it, authorize -> login form -> consent -> code -> token, over and over.
--
-- Run with `-t N -c N`: every wrk thread then has exactly one connection and its own Lua
-- state, so the state machine below is per connection. Every login starts as a fresh
-- browser (empty cookie jar), so each one logs in with the password (one Argon2id hash).
--
-- Everything comes from the environment (bench/scenarios/login_flow.py sets it):
--   BENCH_AUTHORIZE_PATH, BENCH_TOKEN_PATH   endpoint paths from discovery
--   BENCH_CLIENT_ID, BENCH_REDIRECT_URI, BENCH_SCOPE, BENCH_PROMPT
--   BENCH_AUTHORIZATION                     "Basic ..." for the token endpoint
--   BENCH_USERNAME, BENCH_PASSWORD
--   BENCH_CODE_VERIFIER, BENCH_CODE_CHALLENGE  one PKCE S256 pair (LuaJIT has no SHA-256)
--
-- A completed login is a token answer 200 carrying an access_token. Redirects (302/303)
-- are expected steps; any other status, or a page without the expected form, is an error
-- (the harness voids the run). done() prints BENCH_* lines the harness reads.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("bench_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end

local function env(name)
  local value = os.getenv(name)
  if value == nil or value == "" then
    error("login.lua: " .. name .. " is not set")
  end
  return value
end

-- main state: remember the threads so done() can add up their counters ----------------

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

-- per-connection state (each thread has its own copy of everything below) -------------

local authorize_path = env("BENCH_AUTHORIZE_PATH")
local token_path = env("BENCH_TOKEN_PATH")
local client_id = env("BENCH_CLIENT_ID")
local redirect_uri = env("BENCH_REDIRECT_URI")
local scope = env("BENCH_SCOPE")
local prompt = os.getenv("BENCH_PROMPT") or ""
local authorization = env("BENCH_AUTHORIZATION")
local username = env("BENCH_USERNAME")
local password = env("BENCH_PASSWORD")
local verifier = env("BENCH_CODE_VERIFIER")
local challenge = env("BENCH_CODE_CHALLENGE")

logins = 0 -- completed logins (read by done() through thread:get)
failures = 0 -- unexpected answers
steps = 0 -- requests that were part of a login
first_failure = ""
latencies = {} -- ms per completed login

local counter = 0
local jar = {}
local pending = nil -- the next request to send: {method, path, body, form}
local expect = nil -- what the answer to the request in flight must be
local state_value = nil
local started_at = nil

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c)
    return string.format("%%%02X", c:byte())
  end))
end

local function urldecode(s)
  s = s:gsub("+", " ")
  return (s:gsub("%%(%x%x)", function(h)
    return string.char(tonumber(h, 16))
  end))
end

local entities = { amp = "&", lt = "<", gt = ">", quot = '"', apos = "'" }

local function unescape(s)
  return (s:gsub("&(#?[xX]?%w+);", function(e)
    if e:sub(1, 2) == "#x" or e:sub(1, 2) == "#X" then
      return string.char(tonumber(e:sub(3), 16))
    elseif e:sub(1, 1) == "#" then
      return string.char(tonumber(e:sub(2)))
    end
    return entities[e] or ("&" .. e .. ";")
  end))
end

-- {{name, value}, ...} -> "name=value<sep>name=value", each part passed through encode
local function join(fields, sep, encode)
  local parts = {}
  for _, pair in ipairs(fields) do
    table.insert(parts, encode(pair[1]) .. "=" .. encode(pair[2]))
  end
  return table.concat(parts, sep)
end

local function form_body(fields)
  return join(fields, "&", urlencode)
end

local function path_of(location)
  -- "http://host:port/p?q" or "/p?q" -> "/p?q"
  local path = location:match("^https?://[^/]+(/.*)$")
  return path or location
end

local function fail(why)
  failures = failures + 1
  if first_failure == "" then
    first_failure = why
  end
  pending = nil
end

local function begin_login()
  counter = counter + 1
  jar = {} -- a fresh browser: no SSO session, no CSRF cookie
  state_value = string.format("s%d-%d", id or 0, counter)
  local params = {
    { "response_type", "code" },
    { "client_id", client_id },
    { "redirect_uri", redirect_uri },
    { "scope", scope },
    { "state", state_value },
    { "nonce", string.format("n%d-%d", id or 0, counter) },
    { "code_challenge", challenge },
    { "code_challenge_method", "S256" },
  }
  if prompt ~= "" then
    table.insert(params, { "prompt", prompt })
  end
  started_at = now_ms()
  pending = { method = "GET", path = authorize_path .. "?" .. form_body(params) }
end

local function store_cookie(header)
  -- wrk hands us one value per header name (the last Set-Cookie of an answer); the
  -- answers of this flow that matter set one cookie each, or the one we need last.
  local name, value = header:match("^%s*([^=;%s]+)=([^;]*)")
  if not name then
    return
  end
  local lower = header:lower()
  if value == "" or value == '""' or lower:find("max%-age=0;") or lower:find("max%-age=0$") then
    jar[name] = nil
  else
    jar[name] = value
  end
end

local function cookie_header()
  local cookies = {}
  for name, value in pairs(jar) do
    table.insert(cookies, { name, value })
  end
  return join(cookies, "; ", tostring)
end

-- The first <form> of a page: its action and hidden fields, and whether it is the
-- login form (has a password field) or the consent form (decision buttons).
local function parse_form(body)
  local form = body:match("<form(.-)</form>")
  if not form then
    return nil
  end
  local action = form:match('^[^>]-action="([^"]*)"')
  local fields = {}
  local login, consent = false, false
  for tag in form:gmatch("<input([^>]*)>") do
    local name = tag:match('name="([^"]*)"')
    local kind = tag:match('type="([^"]*)"')
    if kind == "hidden" and name then
      table.insert(fields, { unescape(name), unescape(tag:match('value="([^"]*)"') or "") })
    elseif kind == "password" then
      login = true
    end
  end
  for tag in form:gmatch("<button([^>]*)>") do
    if tag:match('name="decision"') then
      consent = true
    end
  end
  return { action = action and unescape(action), fields = fields, login = login, consent = consent }
end

local function on_page(body)
  local form = parse_form(body)
  if not form or not form.action then
    return fail("a 200 page without a form")
  end
  if form.login then
    table.insert(form.fields, { "username", username })
    table.insert(form.fields, { "password", password })
  elseif form.consent then
    table.insert(form.fields, { "decision", "allow" })
  else
    return fail("a form that is neither login nor consent: " .. form.action)
  end
  pending = { method = "POST", path = path_of(form.action), body = form_body(form.fields), form = true }
end

local function on_redirect(location)
  if location:sub(1, #redirect_uri) == redirect_uri then
    local query = location:match("%?(.*)$") or ""
    local code, state
    for key, value in query:gmatch("([^&=]+)=([^&]*)") do
      if key == "code" then
        code = urldecode(value)
      elseif key == "state" then
        state = urldecode(value)
      end
    end
    if not code then
      return fail("authorization answered without a code: " .. query)
    end
    if state ~= state_value then
      return fail("authorization answered another state")
    end
    pending = {
      method = "POST",
      path = token_path,
      form = true,
      token = true,
      body = form_body({
        { "grant_type", "authorization_code" },
        { "code", code },
        { "redirect_uri", redirect_uri },
        { "code_verifier", verifier },
      }),
    }
    return
  end
  pending = { method = "GET", path = path_of(location) }
end

function request()
  if pending == nil then
    begin_login()
  end
  local headers = {}
  local cookies = cookie_header()
  if cookies ~= "" then
    headers["Cookie"] = cookies
  end
  if pending.form then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
  end
  if pending.token then
    headers["Authorization"] = authorization
  end
  expect = pending.token and "token" or "step"
  return wrk.format(pending.method, pending.path, headers, pending.body)
end

function response(status, headers, body)
  steps = steps + 1
  local location, set_cookie
  for name, value in pairs(headers) do
    local lower = name:lower()
    if lower == "location" then
      location = value
    elseif lower == "set-cookie" then
      set_cookie = value
    end
  end
  if set_cookie then
    store_cookie(set_cookie)
  end
  if expect == "token" then
    if status == 200 and body:find('"access_token"', 1, true) then
      logins = logins + 1
      table.insert(latencies, now_ms() - started_at)
      pending = nil
    else
      fail(string.format("token endpoint answered %d", status))
    end
  elseif (status == 302 or status == 303) and location then
    on_redirect(location)
  elseif status == 200 then
    on_page(body)
  else
    fail(string.format("%s %s answered %d", pending.method, pending.path:sub(1, 40), status))
  end
end

-- main state: add up the threads' counters -----------------------------------------

function done(summary, latency, requests)
  local total, failed, requests_made, first = 0, 0, 0, ""
  local all = {}
  for _, thread in ipairs(threads) do
    total = total + thread:get("logins")
    failed = failed + thread:get("failures")
    requests_made = requests_made + thread:get("steps")
    if first == "" then
      first = thread:get("first_failure")
    end
    for _, ms in ipairs(thread:get("latencies")) do
      table.insert(all, ms)
    end
  end
  table.sort(all)
  local function pct(p)
    if #all == 0 then
      return 0
    end
    return all[math.max(1, math.ceil(#all * p))]
  end
  io.write(string.format("BENCH_LOGINS %d\n", total))
  io.write(string.format("BENCH_LOGIN_FAILURES %d\n", failed))
  io.write(string.format("BENCH_LOGIN_REQUESTS %d\n", requests_made))
  io.write(string.format("BENCH_DURATION_US %d\n", summary.duration))
  io.write(string.format("BENCH_LOGIN_P50_MS %.3f\n", pct(0.5)))
  io.write(string.format("BENCH_LOGIN_P99_MS %.3f\n", pct(0.99)))
  io.write(string.format("BENCH_REQUEST_P50_MS %.3f\n", latency:percentile(50) / 1000))
  io.write(string.format("BENCH_REQUEST_P99_MS %.3f\n", latency:percentile(99) / 1000))
  if first ~= "" then
    io.write("BENCH_FIRST_FAILURE " .. first .. "\n")
  end
end
