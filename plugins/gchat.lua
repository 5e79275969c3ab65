-- Posts a message to a Google Chat space through an incoming-webhook URL.
-- The URL carries the space's key: keep it in a secret (secrets: - env: GCHAT_WEBHOOK).
return {
  name = "gchat",
  description = "Post a message to a Google Chat space (incoming webhook)",
  params = {
    webhook = { type = "string", required = true, secret = true, doc = "Webhook URL of the space (a secret)" },
    text    = { type = "string", required = true, doc = "Message text (Google Chat formatting: *bold*, _italic_)" },
    thread  = { type = "string", doc = "Thread key: messages with the same key form one thread" },
    timeout = { type = "duration", default = "10s", doc = "Give up after this long" },
  },
  outputs = {
    status = "HTTP status of the webhook call",
    name = "Resource name of the created message",
  },
  run = function(with, ctx)
    local url = with.webhook
    if with.thread then
      local sep = url:find("?", 1, true) and "&" or "?"
      url = url .. sep .. "threadKey=" .. with.thread .. "&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"
    end
    local response = runner.http.request {
      method = "POST", url = url, json = { text = with.text }, timeout = with.timeout,
    }
    if not response.ok then
      runner.fail("Google Chat answered " .. response.status .. ": " .. response.body:sub(1, 200))
    end
    return { status = response.status, name = response.json and response.json.name or "" }
  end,
}
