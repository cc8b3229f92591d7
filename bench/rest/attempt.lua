-- wrk script: POST contactAttempts (SaveContactNoKeyCheck), one per request.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("SCRUB_TOKEN") or "secret-a")
request = function()
  local body = string.format(
    '{"operationType":"SaveContactNoKeyCheck","contactChannel":"Voice","contactAddress":"%d555%04d","accountNumber":"AC-%d","disposition":"NoAnswer"}',
    math.random(201, 989), math.random(0, 9999), math.random(1, 2000000))
  return wrk.format(nil, nil, nil, body)
end
