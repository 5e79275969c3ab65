#!/bin/sh
# Dumps the app's "database" (/data/greetings.txt in the running container) into the backup
# output directory, like pg_dump through `docker exec` would, and keeps 7 days of dumps locally.
# Runs from the app's source directory (src/); the output is `sgos.backup.output` of app.json,
# relative to the app directory (the parent of src/), unless BACKUP_OUTPUT names another.
set -eu
app_dir=$(cd "$(dirname "$0")/.." && pwd)
out=${BACKUP_OUTPUT:-$app_dir/backups}
mkdir -p "$out"
dump="$out/greetings-$(date -u +%Y%m%dT%H%M%SZ).dump"
docker exec sgos-hello-app cat /data/greetings.txt > "$dump.partial"
mv "$dump.partial" "$dump"
find "$out" -name '*.dump' -mtime +7 -delete
echo "$dump"
