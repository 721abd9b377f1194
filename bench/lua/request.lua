-- Request generation and the machine-readable report, shared by every bench scenario.
-- The generated header above defines METHOD, PATH, HEADERS, BODIES, IDS, RAND_N and RUN;
-- bench/wrk.py's render() is the Python twin of expand() (keep them in step).

local threads = {}
local counter = 0
local run = RUN .. "0"
local nids = #IDS
local nbodies = #BODIES

function setup(thread)
  thread:set("tid", #threads % 10)
  table.insert(threads, thread)
end

function init(args)
  run = RUN .. tostring(tid or 0)
  math.randomseed(os.time() + (tid or 0))
end

local function expand(template, n)
  return (template:gsub("%${(%w+)}", function(key)
    if key == "n" then return tostring(n)
    elseif key == "run" then return run
    elseif key == "hex" then return run .. string.format("%056d", n)
    elseif key == "id" then
      if nids == 0 then return "" end
      return IDS[(n % nids) + 1]
    elseif key == "rand" then return string.format("%014d", math.random(0, RAND_N - 1))
    end
    error("unknown placeholder ${" .. key .. "}")
  end))
end

function request()
  local n = counter
  counter = counter + 1
  local body = nil
  if nbodies > 0 then
    local passes = n
    if nids > 0 then passes = math.floor(n / nids) end
    body = expand(BODIES[(passes % nbodies) + 1], n)
  end
  return wrk.format(METHOD, expand(PATH, n), HEADERS, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
