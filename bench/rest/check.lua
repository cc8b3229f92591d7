-- wrk script: POST complianceStatuses with a random US number and account per
-- request (so most checks are allowed and create an active record).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("SCRUB_TOKEN") or "secret-a")
local zones = {"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"}
request = function()
  local phone = string.format("%d555%04d", math.random(201, 989), math.random(0, 9999))
  local body = string.format(
    '{"contactChannel":"Voice","contactAddress":"%s","accountNumber":"AC-%d","customer":"CU-%d","timeZone":"%s","product":"Gold"}',
    phone, math.random(1, 2000000), math.random(1, 2000000), zones[math.random(1, #zones)])
  return wrk.format(nil, nil, nil, body)
end
