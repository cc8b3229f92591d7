-- wrk script: POST complianceStatuses with a random US number, account and
-- customer per request, drawn from spaces wide enough (7.9 billion numbers,
-- a billion accounts and customers) that nearly every check is allowed and
-- reserves an active record (SPEC §8): the path a dialer takes before a call.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("SCRUB_TOKEN") or "secret-a")
local zones = {"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"}
-- wrk does not seed Lua's generator: without this every thread and every run
-- would send the same sequence, and repeats are blocked by the first run's
-- active records.
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end
function init(args)
  math.randomseed(os.time() * 1000 + (id or 0) * 7919 + math.floor((os.clock() * 1e6) % 7919))
end
request = function()
  local body = string.format(
    '{"contactChannel":"Voice","contactAddress":"%d%07d","accountNumber":"AC-%d","customer":"CU-%d","timeZone":"%s","product":"Gold"}',
    math.random(201, 989), math.random(0, 9999999), math.random(1, 1000000000), math.random(1, 1000000000),
    zones[math.random(1, #zones)])
  return wrk.format(nil, nil, nil, body)
end
