-- wrk script of the ingest benchmark (driven by bench/run.py).
--
--   wrk ... -s bench/load.lua http://127.0.0.1:PORT -- MODE KEY HELPLINES TIMESTAMP TAG [BATCH]
--
-- MODE     ceiling | display | retry | batch
-- KEY      the partner's raw API key (sent as "Authorization: Bearer KEY")
-- HELPLINES comma-separated helpline public ids, used in turn
-- EPOCH    Unix time of the newest event: event n of a thread happened EPOCH - (n % 86400)
--          seconds, so timestamps spread over the last day as real traffic's would
-- TAG      a per-phase tag put in every session id
-- BATCH    events per batch request (batch mode)
--
-- Every body is distinct (a per-thread counter in session_id) except in retry mode, where
-- every request is the same event. Each thread counts the requests it built, the answers
-- by status, and (batch mode) the "created"/"rejected" totals of the answers; done()
-- prints them with wrk's own summary as one line "BENCH_JSON {...}".

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

local function split(text)
  local items = {}
  for item in string.gmatch(text, "[^,]+") do
    table.insert(items, item)
  end
  return items
end

function init(args)
  mode = args[1]
  helplines = split(args[3])
  epoch = tonumber(args[4])
  tag = args[5]
  batch_size = tonumber(args[6] or "500")
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. args[2]
  sent = 0
  statuses = {}
  events_created = 0
  events_duplicate = 0
  events_rejected = 0
  counter = 0
  if mode == "retry" then
    local body = display_body(tag .. "_same", helplines[1], stamp(0))
    fixed = wrk.format(nil, "/v1/events/helpline_display", nil, body)
  end
end

function stamp(n)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", epoch - (n % 86400))
end

function display_body(session, helpline, timestamp)
  return '{"helpline_id":"' .. helpline .. '","session_id":"' .. session
    .. '","timestamp":"' .. timestamp .. '"}'
end

-- The next distinct event of this thread: session id, helpline, timestamp.
local function next_event()
  counter = counter + 1
  return tag .. "_" .. id .. "_" .. counter, helplines[(counter % #helplines) + 1], stamp(counter)
end

function request()
  sent = sent + 1
  if mode == "retry" then
    return fixed
  elseif mode == "ceiling" then
    return wrk.format(nil, "/bench/ceiling", nil, display_body(next_event()))
  elseif mode == "floor" then
    return wrk.format(nil, "/bench/floor", nil, display_body(next_event()))
  elseif mode == "display" then
    return wrk.format(nil, "/v1/events/helpline_display", nil, display_body(next_event()))
  else
    local items = {}
    for i = 1, batch_size do
      local session, helpline, timestamp = next_event()
      items[i] = '{"type":"helpline_display","helpline_id":"' .. helpline .. '","session_id":"'
        .. session .. '","timestamp":"' .. timestamp .. '"}'
    end
    return wrk.format(nil, "/v1/events/batch", nil, '{"events":[' .. table.concat(items, ",") .. "]}")
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if mode == "batch" and status == 200 then
    events_created = events_created + tonumber(string.match(body, '"created":(%d+)') or "0")
    events_duplicate = events_duplicate + tonumber(string.match(body, '"duplicates":(%d+)') or "0")
    events_rejected = events_rejected + tonumber(string.match(body, '"rejected":(%d+)') or "0")
  end
end

function done(summary, latency, requests)
  local total_sent, created, duplicate, rejected = 0, 0, 0, 0
  local by_status = {}
  for _, thread in ipairs(threads) do
    total_sent = total_sent + thread:get("sent")
    created = created + thread:get("events_created")
    duplicate = duplicate + thread:get("events_duplicate")
    rejected = rejected + thread:get("events_rejected")
    for status, count in pairs(thread:get("statuses")) do
      by_status[status] = (by_status[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(by_status) do
    table.insert(parts, string.format('"%d":%d', status, count))
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"duration_us":%d,"requests":%d,"bytes":%d,"sent":%d,'
      .. '"statuses":{%s},"events_created":%d,"events_duplicate":%d,"events_rejected":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
    summary.duration, summary.requests, summary.bytes, total_sent, table.concat(parts, ","),
    created, duplicate, rejected,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
