-- Polls a URL until it answers with the expected status, backing off between attempts.
-- Runs curl where the step runs: `on: hornbill` probes from the app server itself.
return {
  name = "http_probe",
  description = "GET a URL until it answers with the expected status, or fail at the timeout",
  params = {
    url      = { type = "string", required = true, doc = "URL to probe" },
    headers  = { type = "map", default = {}, doc = "Request headers, e.g. { Host = \"phone.sgl.as\" } to probe one site through a proxy" },
    status   = { type = "int", default = 200, doc = "Expected HTTP status" },
    contains = { type = "string", doc = "Text the body must contain" },
    timeout  = { type = "number", default = 60, doc = "Seconds to keep trying" },
    interval = { type = "number", default = 1, doc = "Seconds before the second attempt; doubles each time, at most 10" },
  },
  outputs = {
    status = "The last HTTP status (0 when no answer)",
    attempts = "How many requests were made",
    elapsed = "Seconds until the expected answer",
  },
  run = function(with, ctx)
    local started = os.time()
    local wait, attempts, last = with.interval, 0, "no answer"
    while true do
      attempts = attempts + 1
      local ok, response = pcall(runner.http.request, { url = with.url, headers = with.headers, timeout = math.min(10, with.timeout) })
      if ok then
        local body_ok = with.contains == nil or response.body:find(with.contains, 1, true) ~= nil
        if response.status == with.status and body_ok then
          return { status = response.status, attempts = attempts, elapsed = os.time() - started }
        end
        last = "status " .. response.status .. (body_ok and "" or ", body without '" .. with.contains .. "'")
      else
        last = tostring(response)
      end
      if os.time() - started + wait > with.timeout then
        local via = with.headers.Host and (" (Host: " .. with.headers.Host .. ")") or ""
        runner.fail(with.url .. via .. " did not answer " .. with.status .. " within " .. with.timeout
          .. "s (" .. attempts .. " attempts; last: " .. last .. ")")
      end
      runner.log("attempt " .. attempts .. ": " .. last .. "; next in " .. wait .. "s")
      runner.sleep(wait)
      wait = math.min(wait * 2, 10)
    end
  end,
}
