-- Reads an SGOS app's app.json (on the step's host) and returns its fields, so a pipeline can
-- decide e.g. whether a rollback needs a database restore (migration = "breaking").
return {
  name = "app_json",
  description = "Read an app's app.json and return its fields (name, version, migration, ...)",
  params = {
    path = { type = "string", required = true, doc = "Path of app.json, e.g. /srv/apps/sgos-phone/app.json" },
  },
  outputs = {
    name = "App name (sgos-<name>)",
    version = "Semantic version",
    migration = "none, safe or breaking",
    needs_db_restore = "true when migration is breaking",
    fields = "Every field of the file",
  },
  run = function(with, ctx)
    local ok, text = pcall(runner.read_file, with.path)
    if not ok then runner.fail("cannot read " .. with.path .. ": " .. tostring(text)) end
    local decoded, app = pcall(runner.json.decode, text)
    if not decoded then runner.fail(with.path .. " is not valid JSON: " .. tostring(app)) end
    local migration = app.migration or "none"
    if migration ~= "none" and migration ~= "safe" and migration ~= "breaking" then
      runner.fail(with.path .. ": migration must be none, safe or breaking, not '" .. tostring(migration) .. "'")
    end
    return {
      name = app.name or "", version = app.version or "", migration = migration,
      needs_db_restore = migration == "breaking", fields = app,
    }
  end,
}
